// The dashboard's model of one run (pure): built from the host's `init` (the run folder's files) and advanced by
// live WorkerEvents, then turned into chart tables. Because `init` carries metrics.jsonl whole, a reloaded window
// redraws the same charts; events only append.
import type { MetricRecord, WorkerEvent } from '../../native/protocol';
import type { DashboardHostMessage, ModuleRanks, RunRef, RunStateName } from '../protocol';
import { etaSeconds, paceBaseline } from '../../native/train/event-text';
import { alignSeries, downsampleIndices, emaSmooth, pick, type Column } from './downsample';

type InitMessage = Extract<DashboardHostMessage, { type: 'init' }>;

export interface DashboardState {
  runDir: string;
  name: string;
  state: RunStateName;
  live: boolean;
  canResume: boolean;
  step: number;
  totalSteps: number;
  /** The latest phase or status line ("tokenizing 12,345 records…"), shown until steps arrive and in the header. */
  message?: string;
  metrics: MetricRecord[];
  evals: Map<number, number>;
  overlays: Map<string, { run: RunRef; metrics: MetricRecord[] }>;
  /** AdaLoRA: the final rank per module, once the run folder holds an adapter with a rank pattern. */
  ranks?: ModuleRanks;
}

export function stateFromInit(init: InitMessage): DashboardState {
  const state: DashboardState = {
    runDir: init.runDir, name: init.name, state: init.state, live: init.live, canResume: init.canResume,
    step: init.step, totalSteps: init.totalSteps, message: init.message, metrics: [], evals: new Map(), overlays: new Map(),
    ranks: init.ranks,
  };
  for (const m of init.metrics) addMetric(state, m);
  for (const e of init.evals) state.evals.set(e.step, e.eval_loss);
  const last = state.metrics[state.metrics.length - 1];
  if (last && last.step > state.step) state.step = last.step;
  return state;
}

/** Appends a step record; a step at or before the last one (a resumed run redoing steps) replaces the tail. */
function addMetric(state: DashboardState, record: MetricRecord): void {
  const metrics = state.metrics;
  while (metrics.length > 0 && metrics[metrics.length - 1].step >= record.step) metrics.pop();
  metrics.push(record);
  if (record.eval_loss !== undefined) state.evals.set(record.step, record.eval_loss);
}

export function applyEvent(state: DashboardState, event: WorkerEvent): void {
  switch (event.type) {
    case 'start':
      state.state = 'running';
      state.live = true;
      state.canResume = false;
      state.totalSteps = event.total_steps;
      state.step = event.resumed_from_step;
      // Steps after the checkpoint are trained again: drop them so the curve does not fold back on itself.
      state.metrics = state.metrics.filter((m) => m.step <= event.resumed_from_step);
      for (const step of [...state.evals.keys()]) if (step > event.resumed_from_step) state.evals.delete(step);
      state.message = event.resumed_from_step > 0 ? `resuming at step ${event.resumed_from_step} of ${event.total_steps}` : `starting: ${event.total_steps} steps`;
      return;
    case 'status':
      state.state = 'running';
      state.live = true;
      state.message = event.message;
      return;
    case 'step':
      state.state = 'running';
      state.live = true;
      // Phase lines ("compiling…") describe the time before steps; once steps arrive the progress line says it all.
      if (state.step === 0 || state.message?.endsWith('…')) state.message = undefined;
      addMetric(state, event);
      state.step = event.step;
      state.totalSteps = event.total_steps;
      return;
    case 'eval':
      state.evals.set(event.step, event.eval_loss);
      return;
    case 'checkpoint':
      state.message = `checkpoint saved at step ${event.step}`;
      return;
    case 'done':
      state.state = event.reason;
      state.live = false;
      state.canResume = event.reason === 'stopped';
      state.step = event.step;
      state.message = event.reason === 'completed' ? `completed after ${event.step} steps` : `stopped at step ${event.step}`;
      return;
    case 'error':
      state.state = 'failed';
      state.live = false;
      state.message = event.message;
      return;
  }
}

export interface Progress {
  fraction: number;
  elapsedS: number;
  /** Seconds left at the step rate after the first (warm-up) steps, or undefined before two steps. */
  etaS?: number;
}

export function progressOf(state: DashboardState): Progress {
  const fraction = state.totalSteps > 0 ? Math.min(1, state.step / state.totalSteps) : 0;
  const last = state.metrics[state.metrics.length - 1];
  const elapsedS = last?.elapsed_s ?? 0;
  const eta = last && state.totalSteps > last.step ? etaSeconds(paceBaseline(state.metrics), last, state.totalSteps) : NaN;
  return { fraction, elapsedS, etaS: state.live && eta > 0 ? eta : undefined };
}

export type ChartTable = [number[], ...Column[]];

export interface ChartTables {
  /**
   * steps, raw loss, smoothed loss (only when smoothing > 0), eval loss, then one smoothed loss per overlay (in
   * `overlayNames` order) — the series order of chart-specs.ts `lossSeries`.
   */
  loss: ChartTable;
  overlayNames: string[];
  lr: ChartTable;
  /** steps, raw, smoothed (only when smoothing > 0): `noisySeries`. */
  gradNorm: ChartTable;
  /** steps, raw, smoothed (only when smoothing > 0): `noisySeries`. */
  tokensPerS: ChartTable;
  memoryMb: ChartTable;
  /** AdaLoRA's rank budget per step (steps, budget); absent when no record has one (other methods). */
  rankBudget?: ChartTable;
}

/** A metric field of every record (null where a record lacks it). */
function field(metrics: readonly MetricRecord[], f: keyof MetricRecord): Column {
  return metrics.map((m) => (typeof m[f] === 'number' ? (m[f] as number) : null));
}

/** A downsampled [steps, values] table, plus the smoothed values when `smoothing` > 0. */
function table(metrics: readonly MetricRecord[], f: keyof MetricRecord, buckets: number, smoothing = 0): ChartTable {
  const raw = field(metrics, f);
  const keep = downsampleIndices([raw], metrics.length, buckets);
  const steps = pick(metrics.map((m) => m.step), keep);
  return smoothing > 0 ? [steps, pick(raw, keep), pick(emaSmooth(raw, smoothing), keep)] : [steps, pick(raw, keep)];
}

/**
 * Chart tables of the run (and its overlays), at most about 2 × buckets points per series on the loss chart and
 * 2 × smallBuckets on the others (a few hundred pixels wide: more points would only be drawn over each other).
 */
export function chartTables(state: DashboardState, buckets: number, smoothing: number, smallBuckets = buckets): ChartTables {
  const steps = state.metrics.map((m) => m.step);
  const raw = state.metrics.map((m) => m.loss);
  const keep = downsampleIndices([raw], raw.length, buckets);
  const evalSteps = [...state.evals.keys()].sort((a, b) => a - b);
  const overlays = [...state.overlays.values()];
  const overlaySeries = overlays.map(({ metrics }) => {
    const ys = emaSmooth(metrics.map((m) => m.loss), smoothing);
    const k = downsampleIndices([ys], ys.length, buckets);
    return { x: pick(metrics.map((m) => m.step), k), y: pick(ys, k) };
  });
  const x = pick(steps, keep);
  const loss = alignSeries([
    { x, y: pick(raw, keep) },
    ...(smoothing > 0 ? [{ x, y: pick(emaSmooth(raw, smoothing), keep) }] : []),
    { x: evalSteps, y: evalSteps.map((s) => state.evals.get(s) as number) },
    ...overlaySeries,
  ]);
  return {
    loss,
    overlayNames: overlays.map((o) => o.run.name),
    lr: table(state.metrics, 'lr', smallBuckets),
    gradNorm: table(state.metrics, 'grad_norm', smallBuckets, smoothing),
    tokensPerS: table(state.metrics, 'tokens_per_s', smallBuckets, smoothing),
    memoryMb: table(state.metrics, 'memory_mb', smallBuckets),
    ...(state.metrics.some((m) => typeof m.rank_budget === 'number') ? { rankBudget: table(state.metrics, 'rank_budget', smallBuckets) } : {}),
  };
}
