// uPlot charts of the dashboard, colored from the VS Code theme's chart palette. A chart is rebuilt only when its
// shape changes (series count, log scale, theme); otherwise new data goes through setData. uPlot draws points on
// its own when they are sparse, so a 3-step run shows three dots rather than an empty frame.
import uPlot from 'uplot';
import type { ChartTable } from './run-state';

export interface SeriesSpec {
  label: string;
  color: string;
  width?: number;
  dash?: number[];
  /** Always draw points (eval loss: a few points far apart). */
  points?: boolean;
  /** Connect across nulls (eval loss, overlays on another run's steps). */
  spanGaps?: boolean;
  alpha?: number;
}

export interface ChartSpec {
  title: string;
  height: number;
  log?: boolean;
  /** Legend (hover) values. */
  format: (v: number) => string;
  /** Axis ticks, when uPlot's own labels do not suit (learning rates). */
  axisFormat?: (v: number) => string;
  series: SeriesSpec[];
}

/** A theme color by VS Code variable name, with a fallback for when the variable is missing. */
export function themeColor(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
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
    const width = Math.max(200, this.element.clientWidth - 8);
    const shape = JSON.stringify([spec.series.map((s) => [s.label, s.color]), spec.log, spec.height]);
    if (!this.plot || shape !== this.shape) {
      this.plot?.destroy();
      this.shape = shape;
      this.plot = new uPlot(options(spec, width), data as uPlot.AlignedData, this.holder);
    } else {
      this.plot.setData(data as uPlot.AlignedData);
    }
  }

  resize(): void {
    if (!this.plot) return;
    this.plot.setSize({ width: Math.max(200, this.element.clientWidth - 8), height: this.plot.height });
  }
}

const STEP_INCREMENTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000, 100000, 200000, 500000, 1000000];

function options(spec: ChartSpec, width: number): uPlot.Options {
  const axisColor = themeColor('--vscode-charts-foreground', themeColor('--vscode-foreground', '#888'));
  const gridColor = themeColor('--vscode-charts-lines', 'rgba(128,128,128,0.25)');
  const axis: uPlot.Axis = { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor, width: 1 } };
  return {
    width,
    height: spec.height,
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: false }, y: { distr: spec.log ? 3 : 1 } },
    axes: [
      // Steps are whole numbers: no 1.5 ticks on a 3-step run.
      { ...axis, label: 'step', incrs: STEP_INCREMENTS, values: (_u, ticks) => ticks.map((t) => t.toLocaleString('en-US')) },
      { ...axis, size: 64, space: 24, ...(spec.axisFormat ? { values: (_u: uPlot, ticks: number[]) => ticks.map((t) => (spec.axisFormat as (v: number) => string)(t)) } : {}) },
    ],
    series: [
      { label: 'step', value: (_u, v) => (v === null ? '—' : String(v)) },
      ...spec.series.map((s): uPlot.Series => ({
        label: s.label,
        stroke: s.color,
        width: s.width ?? 1.5,
        dash: s.dash,
        alpha: s.alpha,
        spanGaps: s.spanGaps ?? false,
        value: (_u, v) => (v === null || v === undefined ? '—' : spec.format(v)),
        points: s.points ? { show: true, size: 7, space: 0, fill: s.color } : { size: 6, fill: s.color },
      })),
    ],
  };
}

/** Number formats: losses with 4 decimals, learning rates in exponent form, big numbers grouped. */
export const formats = {
  loss: (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(4)),
  lr: (v: number) => (v === 0 ? '0' : v.toExponential(2)),
  plain: (v: number) => (Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : Number(v.toPrecision(4)).toString()),
};
