// What the dashboard's charts draw (pure: no DOM, no uPlot): the series of each chart and their styles, number
// formats, and the legend's values. Noisy metrics (loss, gradient norm, tokens/s) are drawn twice, as in
// TensorBoard: the raw values thin and translucent, the smoothed values strong on top, in the same theme hue — so a
// dense 6,000-step curve reads as a light band with a line through it instead of a solid block of color.

export interface SeriesSpec {
  label: string;
  color: string;
  width: number;
  /** Opacity of the line (canvas globalAlpha): raw values under their smoothed line are faint. */
  alpha: number;
  dash?: number[];
  /** 'always': draw every point (eval loss: a few points far apart); 'never': a line only; 'auto': uPlot's choice (dots when sparse). */
  points: 'always' | 'never' | 'auto';
  /** Connect across nulls (eval loss, overlays on another run's steps). */
  spanGaps: boolean;
}

export interface ChartSpec {
  title: string;
  height: number;
  log: boolean;
  /** Legend values. */
  format: (v: number) => string;
  /** Axis ticks, when uPlot's own labels do not suit (learning rates). */
  axisFormat?: (v: number) => string;
  /** The x axis's "step" label; small charts leave it out (their legend names the step). */
  xLabel: boolean;
  series: SeriesSpec[];
}

/** Theme colors, resolved from the VS Code CSS variables (`--vscode-charts-*`) by the caller. */
export interface Palette {
  blue: string;
  orange: string;
  green: string;
  red: string;
  purple: string;
  yellow: string;
  /** Colors of past runs drawn over this one, used in turn. */
  overlays: string[];
}

/** Style of raw values drawn under a smoothed line. */
export const RAW_STYLE = { width: 1, alpha: 0.3 } as const;
/** Style of the line a chart is read by: the smoothed values, or the raw ones when there is no smoothing. */
export const MAIN_STYLE = { width: 2, alpha: 1 } as const;

/**
 * A noisy metric: with smoothing, the raw values faint and thin (no dots) and the smoothed ones strong; without, the
 * raw values alone, strong. The order matches the table columns of run-state.ts (raw, then smoothed when > 0).
 */
export function noisySeries(label: string, color: string, smoothing: number): SeriesSpec[] {
  if (smoothing <= 0) return [{ label, color, ...MAIN_STYLE, points: 'auto', spanGaps: false }];
  return [
    { label, color, ...RAW_STYLE, points: 'never', spanGaps: false },
    // The weight is on the smoothing menu beside the charts; the legend stays short enough for a small chart.
    { label: 'smoothed', color, ...MAIN_STYLE, points: 'auto', spanGaps: false },
  ];
}

/** The loss chart: train loss (raw and smoothed), eval loss, then one smoothed line per overlaid past run. */
export function lossSeries(palette: Palette, smoothing: number, overlayNames: readonly string[]): SeriesSpec[] {
  return [
    ...noisySeries('train loss', palette.blue, smoothing),
    { label: 'eval loss', color: palette.orange, ...MAIN_STYLE, points: 'always', spanGaps: true },
    ...overlayNames.map((name, i): SeriesSpec => ({
      label: name, color: palette.overlays[i % palette.overlays.length], width: 1.5, alpha: 1, dash: [6, 4], points: 'never', spanGaps: true,
    })),
  ];
}

/** A chart of one steady metric (learning rate, memory): one strong line. */
export function singleSeries(label: string, color: string): SeriesSpec[] {
  return [{ label, color, ...MAIN_STYLE, points: 'auto', spanGaps: false }];
}

/**
 * `color` with its opacity multiplied by `alpha`, as rgba() — for the line and its legend marker alike (uPlot's own
 * series alpha fades only the line). Theme colors come as #rgb, #rrggbb, #rrggbbaa or rgb()/rgba(); anything else
 * gives undefined and the caller falls back to uPlot's alpha.
 */
export function withAlpha(color: string, alpha: number): string | undefined {
  const c = color.trim();
  let rgba: number[] | undefined;
  const hex = /^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i.exec(c);
  if (hex) {
    const h = hex[1].length <= 4 ? [...hex[1]].map((d) => d + d).join('') : hex[1];
    rgba = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
    rgba.push(h.length === 8 ? parseInt(h.slice(6, 8), 16) / 255 : 1);
  } else {
    const fn = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:\s*[,/]\s*([\d.]+)(%?))?\s*\)$/i.exec(c);
    if (fn) rgba = [Number(fn[1]), Number(fn[2]), Number(fn[3]), fn[4] === undefined ? 1 : Number(fn[4]) / (fn[5] ? 100 : 1)];
  }
  if (!rgba || rgba.some((v) => !Number.isFinite(v))) return undefined;
  const a = Math.round(rgba[3] * alpha * 1000) / 1000;
  return `rgba(${rgba[0]}, ${rgba[1]}, ${rgba[2]}, ${a})`;
}

/** Number formats: losses with 4 decimals, learning rates in exponent form, big numbers grouped. */
export const formats = {
  loss: (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(4)),
  lr: (v: number) => (v === 0 ? '0' : v.toExponential(2)),
  plain: (v: number) => (Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : Number(v.toPrecision(4)).toString()),
  step: (v: number) => Math.round(v).toLocaleString('en-US'),
};

type Cell = number | null | undefined;

/** Index of the last number in a column, or null when it has none. */
export function lastIndex(column: ArrayLike<Cell>): number | null {
  for (let i = column.length - 1; i >= 0; i--) {
    const v = column[i];
    if (typeof v === 'number' && Number.isFinite(v)) return i;
  }
  return null;
}

/**
 * The legend's text for one series: the value at the hovered index, or — when the cursor is off the chart (index
 * null) — the series' last value, so a glance at a live run reads its latest loss, rate and memory. "—" when there is
 * no value to show.
 */
export function legendValue(column: ArrayLike<Cell>, idx: number | null | undefined, format: (v: number) => string): string {
  const at = idx === null || idx === undefined ? lastIndex(column) : idx;
  const v = at === null ? undefined : column[at];
  return typeof v === 'number' && Number.isFinite(v) ? format(v) : '—';
}
