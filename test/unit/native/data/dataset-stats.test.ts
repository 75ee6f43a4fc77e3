import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, histogram, select, niceWidth, LengthCollector } from '../../../../native/data/dataset-stats';

/** Sort-based reference quantile with linear interpolation (numpy's default method). */
function referenceQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = q * (sorted.length - 1);
  const lo = Math.floor(position);
  const hi = Math.ceil(position);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
}

function randomValues(seed: number, n: number, spread: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31), s % spread));
}

test('median and p95 match a sort-based reference on random, sorted, constant and tiny inputs', () => {
  const inputs: number[][] = [
    [5],
    [3, 1],
    [1, 2, 3, 4],
    new Array(100).fill(7),
    Array.from({ length: 1001 }, (_, i) => i),
    Array.from({ length: 1000 }, (_, i) => 1000 - i),
    ...[1, 2, 3, 4, 5].map((seed) => randomValues(seed, 1 + seed * 997, seed === 3 ? 5 : 100000)),
  ];
  for (const values of inputs) {
    const s = summarize(values);
    assert.ok(s);
    assert.equal(s.count, values.length);
    assert.equal(s.min, Math.min(...values));
    assert.equal(s.max, Math.max(...values));
    assert.ok(Math.abs(s.mean - values.reduce((a, b) => a + b, 0) / values.length) < 1e-9);
    assert.ok(Math.abs(s.median - referenceQuantile(values, 0.5)) < 1e-9, `median of ${values.length}`);
    assert.ok(Math.abs(s.p95 - referenceQuantile(values, 0.95)) < 1e-9, `p95 of ${values.length}`);
  }
  assert.equal(summarize([]), null);
});

test('summarize leaves its input untouched and select puts the k-th smallest at k', () => {
  const values = Float64Array.from(randomValues(9, 500, 50));
  const copy = values.slice();
  summarize(values);
  assert.deepEqual(values, copy);
  const sorted = [...values].sort((a, b) => a - b);
  for (const k of [0, 1, 250, 498, 499]) {
    const work = values.slice();
    assert.equal(select(work, k), sorted[k]);
    for (let i = 0; i < k; i++) assert.ok(work[i] <= work[k]);
    for (let i = k + 1; i < work.length; i++) assert.ok(work[i] >= work[k]);
  }
});

test('histogram bins cover every value once with nice edges', () => {
  const values = randomValues(4, 3000, 4321);
  const bins = histogram(values, 20);
  assert.equal(bins.reduce((a, b) => a + b.count, 0), values.length);
  const width = bins[0].to - bins[0].from;
  assert.ok([1, 2, 5].includes(width / 10 ** Math.floor(Math.log10(width))), `width ${width}`);
  for (const v of values) {
    const hits = bins.filter((b, i) => v >= b.from && (v < b.to || (i === bins.length - 1 && v <= b.to)));
    assert.equal(hits.length, 1, `value ${v}`);
  }
  for (const value of values) assert.ok(value >= bins[0].from && value <= bins[bins.length - 1].to);
  assert.ok(bins.length <= 21);
  // The maximum lands in the last bin even when it sits exactly on an edge.
  const edge = histogram([0, 50, 100], 20);
  assert.equal(edge[edge.length - 1].count, 1);
  assert.equal(edge.reduce((a, b) => a + b.count, 0), 3);
  assert.deepEqual(histogram([4, 4, 4]), [{ from: 4, to: 4, count: 3 }]);
  assert.deepEqual(histogram([]), []);
});

test('niceWidth rounds up to 1/2/5 × 10^k and never below 1', () => {
  assert.equal(niceWidth(0.3), 1);
  assert.equal(niceWidth(1.5), 2);
  assert.equal(niceWidth(3), 5);
  assert.equal(niceWidth(7), 10);
  assert.equal(niceWidth(120), 200);
});

test('LengthCollector grows past its initial capacity', () => {
  const c = new LengthCollector();
  for (let i = 0; i < 5000; i++) c.push(i);
  assert.equal(c.length, 5000);
  assert.equal(c.values()[4999], 4999);
  assert.equal(summarize(c.values())?.median, 2499.5);
});
