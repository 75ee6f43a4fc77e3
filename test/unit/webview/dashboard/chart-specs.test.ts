// Tests of webview/dashboard/chart-specs.ts: raw values faint under a strong smoothed line, legends that show the
// hovered or the last value (never a lone "—" while there is data), theme colors made translucent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAIN_STYLE, RAW_STYLE, formats, lastIndex, legendValue, lossSeries, noisySeries, singleSeries, withAlpha, type Palette } from '../../../../webview/dashboard/chart-specs';

const palette: Palette = { blue: '#3794ff', orange: '#d18616', green: '#89d185', red: '#f14c4c', purple: '#b180d7', yellow: '#cca700', overlays: ['#b180d7', '#89d185'] };

test('loss with smoothing: raw loss thin and translucent without dots, smoothed strong, both in the theme blue', () => {
  const [raw, smooth, evalLoss] = lossSeries(palette, 0.9, []);
  assert.equal(raw.label, 'train loss');
  assert.equal(raw.color, palette.blue);
  assert.equal(smooth.color, palette.blue);
  assert.ok(raw.alpha < 0.5 && raw.width <= 1, `raw ${JSON.stringify(raw)}`);
  assert.equal(raw.points, 'never');
  assert.ok(smooth.alpha === 1 && smooth.width >= 2 * raw.width, `smoothed ${JSON.stringify(smooth)}`);
  assert.ok(smooth.width > raw.width && smooth.alpha > raw.alpha);
  assert.equal(evalLoss.label, 'eval loss');
  assert.equal(evalLoss.color, palette.orange);
  assert.equal(evalLoss.points, 'always');
  assert.equal(evalLoss.spanGaps, true);
});

test('loss without smoothing: the raw loss alone, strong; overlays dashed in turn through the overlay colors', () => {
  const series = lossSeries(palette, 0, ['run-a', 'run-b', 'run-c']);
  assert.deepEqual(series.map((s) => s.label), ['train loss', 'eval loss', 'run-a', 'run-b', 'run-c']);
  assert.equal(series[0].alpha, MAIN_STYLE.alpha);
  assert.equal(series[0].width, MAIN_STYLE.width);
  assert.deepEqual(series.slice(2).map((s) => s.color), ['#b180d7', '#89d185', '#b180d7']);
  assert.ok(series.slice(2).every((s) => s.dash && s.spanGaps));
});

test('noisy metrics (grad norm, tokens/s) get the same raw/smoothed pair; steady ones one strong line', () => {
  const [raw, smooth] = noisySeries('grad norm', palette.red, 0.6);
  assert.deepEqual({ width: raw.width, alpha: raw.alpha }, RAW_STYLE);
  assert.deepEqual({ width: smooth.width, alpha: smooth.alpha }, MAIN_STYLE);
  assert.equal(noisySeries('grad norm', palette.red, 0).length, 1);
  const [lr] = singleSeries('lr', palette.green);
  assert.deepEqual({ width: lr.width, alpha: lr.alpha }, MAIN_STYLE);
});

test('legend: the hovered value, else the last value of the series; "—" only where there is none', () => {
  const column = [3, 2.5, null, 2];
  assert.equal(legendValue(column, 1, formats.loss), '2.5000');
  assert.equal(legendValue(column, null, formats.loss), '2.0000', 'cursor off the chart: the last value');
  assert.equal(legendValue(column, undefined, formats.loss), '2.0000');
  assert.equal(legendValue(column, 2, formats.loss), '—', 'a hovered step without a value');
  assert.equal(legendValue([null, 4, null], null, formats.loss), '4.0000', 'eval loss: its last point, not the last step');
  assert.equal(legendValue([], null, formats.loss), '—');
  assert.equal(legendValue([null, NaN], null, formats.loss), '—');
  assert.equal(legendValue([1, 250, 6000], null, formats.step), '6,000');
  assert.equal(lastIndex([1, null, 3, null]), 2);
  assert.equal(lastIndex([null]), null);
});

test('legend formats: losses to 4 decimals, learning rates as exponents, big numbers grouped', () => {
  assert.equal(formats.loss(6.31034), '6.3103');
  assert.equal(formats.loss(123.45), '123.5');
  assert.equal(formats.lr(0.0002), '2.00e-4');
  assert.equal(formats.lr(0), '0');
  assert.equal(formats.plain(1435.4), '1,435');
  assert.equal(formats.plain(0.98554), '0.9855');
  assert.equal(formats.step(30000), '30,000');
});

test('withAlpha: theme colors in their CSS forms become rgba with the opacity multiplied', () => {
  assert.equal(withAlpha('#3794ff', 0.3), 'rgba(55, 148, 255, 0.3)');
  assert.equal(withAlpha(' #fff ', 0.5), 'rgba(255, 255, 255, 0.5)');
  assert.equal(withAlpha('#3794ff80', 0.5), 'rgba(55, 148, 255, 0.251)');
  assert.equal(withAlpha('rgb(10, 20, 30)', 0.3), 'rgba(10, 20, 30, 0.3)');
  assert.equal(withAlpha('rgba(10,20,30,0.5)', 0.5), 'rgba(10, 20, 30, 0.25)');
  assert.equal(withAlpha('rgb(10 20 30 / 50%)', 1), 'rgba(10, 20, 30, 0.5)');
  assert.equal(withAlpha('color-mix(in srgb, red, blue)', 0.3), undefined);
  assert.equal(withAlpha('', 0.3), undefined);
});
