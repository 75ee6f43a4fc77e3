// WorkerEvents as the human-readable lines that `lora-studio train` prints and the worker writes to train.log.
import type { WorkerEvent } from '../protocol';

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The end of a step: its number and the run's elapsed seconds then (a MetricRecord or a step event is one). */
export interface StepTime {
  step: number;
  elapsed_s: number;
}

/**
 * Steps at the start of an attempt (a run or a resume) that do not show the steady pace: the first one includes
 * creating and compiling the session (seconds, against a fraction of a second for the next ones), and the next few
 * still warm the runtime's allocators and caches. The pace is measured after them.
 */
export const WARMUP_STEPS = 4;

/**
 * Where to measure the pace from, given step ends of one attempt in order: the last that is still within the
 * attempt's first WARMUP_STEPS steps and precedes the latest end. Undefined with fewer than two ends: the first
 * end's elapsed time includes the warm-up, so no pace is known yet. Reads at most WARMUP_STEPS + 1 entries.
 */
export function paceBaseline(ends: readonly StepTime[]): StepTime | undefined {
  if (ends.length < 2) return undefined;
  const first = ends[0];
  let baseline = first;
  for (let i = 1; i < ends.length - 1 && ends[i].step < first.step + WARMUP_STEPS; i += 1) baseline = ends[i];
  return baseline;
}

/**
 * Seconds left at the pace between `baseline` and `latest` (two step ends of one attempt, see paceBaseline): the
 * compile and warm-up before the baseline do not count, so the estimate is sane from the second step on. NaN when
 * no pace is known yet (no baseline); 0 at the end.
 */
export function etaSeconds(baseline: StepTime | undefined, latest: StepTime, totalSteps: number): number {
  if (totalSteps <= latest.step) return 0;
  if (!baseline || latest.step <= baseline.step || latest.elapsed_s < baseline.elapsed_s) return NaN;
  return ((latest.elapsed_s - baseline.elapsed_s) / (latest.step - baseline.step)) * (totalSteps - latest.step);
}

/**
 * The pace of a run followed step by step (the CLI's lines, train.log, the status bar), in constant memory: it keeps
 * the attempt's first end, the baseline and the latest. A step at or before the latest one is a new attempt (a
 * resume redoing steps) and starts over; the same end seen again changes nothing. A window that attaches mid-run
 * takes the first end it sees as the attempt's start.
 */
export class StepPace {
  private first?: StepTime;
  private baseline?: StepTime;
  private latest?: StepTime;

  observe(end: StepTime): void {
    const { step, elapsed_s } = end;
    if (this.latest && step === this.latest.step && elapsed_s === this.latest.elapsed_s) return; // seen already
    if (!this.first || !this.latest || step <= this.latest.step || elapsed_s < this.latest.elapsed_s) {
      this.first = { step, elapsed_s };
      this.baseline = undefined;
    } else if (!this.baseline || this.latest.step < this.first.step + WARMUP_STEPS) {
      this.baseline = this.latest;
    }
    this.latest = { step, elapsed_s };
  }

  /** Seconds left to `totalSteps` (NaN until the second step end of an attempt). */
  etaSeconds(totalSteps: number): number {
    return this.latest ? etaSeconds(this.baseline, this.latest, totalSteps) : NaN;
  }
}

/** A step event's line says `eta` only when `pace` follows the run (the pace needs the steps before it). */
export function formatEvent(event: WorkerEvent, pace?: StepPace): string {
  switch (event.type) {
    case 'start':
      return event.resumed_from_step > 0
        ? `resuming ${event.run_dir} at step ${event.resumed_from_step} of ${event.total_steps}`
        : `training ${event.total_steps} steps → ${event.run_dir}`;
    case 'status':
      return event.message;
    case 'step': {
      const width = String(event.total_steps).length;
      const parts = [
        `step ${String(event.step).padStart(width)}/${event.total_steps}`,
        `loss ${event.loss.toFixed(4)}`,
        ...(event.eval_loss !== undefined ? [`eval ${event.eval_loss.toFixed(4)}`] : []),
        `lr ${event.lr.toExponential(2)}`,
        `grad ${event.grad_norm.toFixed(3)}`,
        `${Math.round(event.tokens_per_s).toLocaleString('en-US')} tok/s`,
        `${event.memory_mb.toLocaleString('en-US')} MiB`,
      ];
      if (pace) {
        pace.observe(event);
        parts.push(`eta ${duration(pace.etaSeconds(event.total_steps))}`);
      }
      return parts.join('  ');
    }
    case 'eval':
      return `eval loss at step ${event.step}: ${event.eval_loss.toFixed(4)}`;
    case 'checkpoint':
      return `checkpoint saved: ${event.path}`;
    case 'done':
      return event.reason === 'completed'
        ? `done after ${event.step} steps; ${event.model ? `model: ${event.model}` : `adapter: ${event.adapter}`}`
        : `stopped at step ${event.step}; resume with: lora-studio train --resume ${event.adapter}`;
    case 'error':
      return `error: ${event.message}`;
  }
}
