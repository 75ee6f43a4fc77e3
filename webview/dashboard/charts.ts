// uPlot charts of the dashboard, colored from the VS Code theme's chart palette. A chart is rebuilt only when its
// shape changes (series, styles, log scale, theme); otherwise new data goes through setData. uPlot draws points on
// its own when they are sparse, so a 3-step run shows three dots rather than an empty frame. The legend is live:
// the values under the cursor, or each series' last value when the cursor is elsewhere (chart-specs.ts).
import uPlot from 'uplot';
import type { ChartTable } from './run-state';
import { formats, legendValue, withAlpha, type ChartSpec, type Palette } from './chart-specs';

/** A theme color by VS Code variable name, with a fallback for when the variable is missing. */
export function themeColor(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

/** The chart colors of the current theme (`--vscode-charts-*`, readable in light, dark and high-contrast themes). */
export function themePalette(): Palette {
  const purple = themeColor('--vscode-charts-purple', '#b180d7');
  const green = themeColor('--vscode-charts-green', '#89d185');
  const yellow = themeColor('--vscode-charts-yellow', '#cca700');
  const red = themeColor('--vscode-charts-red', '#f14c4c');
  return {
    blue: themeColor('--vscode-charts-blue', '#3794ff'), orange: themeColor('--vscode-charts-orange', '#d18616'),
    green, red, purple, yellow, overlays: [purple, green, yellow, red],
  };
}

export class Chart {
  private plot: uPlot | undefined;
  private shape = '';
  readonly element: HTMLElement;
  private readonly holder: HTMLElement;
  private readonly empty: HTMLElement;

  constructor(title: string) {
    this.element = document.createElement('figure');
    this.element.className = 'chart';
    const caption = document.createElement('figcaption');
    caption.textContent = title;
    this.holder = document.createElement('div');
    this.empty = document.createElement('div');
    this.empty.className = 'empty';
    this.element.append(caption, this.holder, this.empty);
    this.element.setAttribute('role', 'img');
    this.element.setAttribute('aria-label', title);
  }

  /** Draws `data` ([x, ...series]) with `spec`; an empty table shows `emptyText` instead of an empty frame. */
  update(spec: ChartSpec, data: ChartTable, emptyText: string): void {
    const hasData = data[0].length > 0 && data.slice(1).some((c) => c.some((v) => v !== null));
    this.empty.textContent = hasData ? '' : emptyText;
    this.holder.hidden = !hasData;
    if (!hasData) return;
    const width = this.width();
    const theme = { axis: themeColor('--vscode-charts-foreground', themeColor('--vscode-foreground', '#888')), grid: themeColor('--vscode-charts-lines', 'rgba(128,128,128,0.25)') };
    const shape = JSON.stringify([spec.series, spec.log, spec.height, spec.xLabel, theme]);
    if (!this.plot || shape !== this.shape) {
      this.plot?.destroy();
      this.shape = shape;
      this.plot = new uPlot(options(spec, width, theme), data as uPlot.AlignedData, this.holder);
    } else {
      this.plot.setData(data as uPlot.AlignedData);
    }
  }

  resize(): void {
    if (!this.plot) return;
    const width = this.width();
    if (width !== this.plot.width) this.plot.setSize({ width, height: this.plot.height });
  }

  /** The figure's width: the plot never sticks out of its grid cell (a floor only for absurdly narrow panels). */
  private width(): number {
    return Math.max(120, Math.floor(this.element.clientWidth));
  }
}

const STEP_INCREMENTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000, 100000, 200000, 500000, 1000000];

/** The y axis as wide as its longest tick label (uPlot's fixed 50 px cut "2.00e-4" and "12,345"). */
function axisWidth(u: uPlot, values: string[] | null, axisIdx: number): number {
  const axis = u.axes[axisIdx];
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), '');
  u.ctx.font = axis.font?.[0] ?? '12px sans-serif';
  const text = longest ? u.ctx.measureText(longest).width / devicePixelRatio : 0;
  return Math.ceil((axis.ticks?.size ?? 10) + (axis.gap ?? 5) + text + 4);
}

function options(spec: ChartSpec, width: number, theme: { axis: string; grid: string }): uPlot.Options {
  const axis: uPlot.Axis = { stroke: theme.axis, grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.grid, width: 1 } };
  const yValues = spec.axisFormat;
  return {
    width,
    height: spec.height,
    legend: { live: true },
    // Hovering a step where a series has no point (eval loss between evals, an overlay's other steps) shows that
    // series' nearest point instead of a blank.
    cursor: { drag: { x: true, y: false }, hover: { skip: [null, undefined] } },
    scales: { x: { time: false }, y: { distr: spec.log ? 3 : 1 } },
    axes: [
      // Steps are whole numbers: no 1.5 ticks on a 3-step run.
      { ...axis, ...(spec.xLabel ? { label: 'step' } : {}), incrs: STEP_INCREMENTS, values: (_u, ticks) => ticks.map(formats.step) },
      { ...axis, size: axisWidth, space: 24, ...(yValues ? { values: (_u: uPlot, ticks: number[]) => ticks.map(yValues) } : {}) },
    ],
    series: [
      { label: 'step', value: (u, _v, _s, idx) => legendValue(u.data[0], idx, formats.step) },
      ...spec.series.map((s): uPlot.Series => ({
        label: s.label,
        ...(s.alpha < 1 && withAlpha(s.color, s.alpha) ? { stroke: withAlpha(s.color, s.alpha) } : { stroke: s.color, alpha: s.alpha }),
        width: s.width,
        dash: s.dash,
        spanGaps: s.spanGaps,
        value: (u, _v, sidx, idx) => legendValue(u.data[sidx], idx, spec.format),
        points: s.points === 'always' ? { show: true, size: 7, space: 0, fill: s.color }
          : s.points === 'never' ? { show: false }
          : { size: 5, fill: s.color },
      })),
    ],
  };
}
