// How long a run will take, before and while it trains (issue 19, item 3). Each bound on its own (epochs ≤ 10,000,
// accumulation ≤ 65,536, config.ts) still lets their product be absurd: 10,000 epochs of 65,536 accumulated
// micro-batches are 655 million forward and backward passes, months on any machine, with no step finished for hours to
// say so. So the work is counted once the batches are planned and refused past a bound that no LoRA run needs; below
// it, the pace of the first steps projects the duration and a long one is said once, with how to shorten it.
import type { RunConfig } from '../protocol';
import { UserError } from '../util/errors';

/**
 * The most micro-batch passes a run may plan. A pass (forward and backward of one micro-batch) takes milliseconds on the
 * smallest model and seconds on a 7B one: 1e8 of them are days at best, and typical LoRA runs make 10³–10⁶.
 */
export const MAX_MICRO_BATCH_PASSES = 100_000_000;

/** A projected duration from this many seconds on is said (a day: longer than anyone waits for unawares). */
export const LONG_RUN_SECONDS = 24 * 3600;

const fmt = (n: number) => n.toLocaleString('en-US');

/** Refuses a run whose steps left, times accumulation, exceed MAX_MICRO_BATCH_PASSES, naming the settings that multiply. */
export function assertSaneWork(config: Pick<RunConfig, 'gradient_accumulation_steps' | 'max_steps' | 'num_epochs'>, stepsLeft: number): void {
  const passes = stepsLeft * config.gradient_accumulation_steps;
  if (passes <= MAX_MICRO_BATCH_PASSES) return;
  const limit = config.max_steps !== undefined ? `max_steps ${fmt(config.max_steps)}` : `num_epochs ${fmt(config.num_epochs)}`;
  throw new UserError(
    `this run would make ${fmt(passes)} forward and backward passes (${fmt(stepsLeft)} steps × gradient_accumulation_steps ${fmt(config.gradient_accumulation_steps)}, from ${limit}), more than ${fmt(MAX_MICRO_BATCH_PASSES)}: days to years on any machine`,
    { where: { field: 'gradient_accumulation_steps' }, fix: 'lower --epochs / --max-steps or --grad-accum (LoRA runs commonly make 1–10 epochs with accumulation 1–64)' },
  );
}

/** Days, hours or minutes, rounded: how a projection reads. */
export function formatLongDuration(seconds: number): string {
  if (seconds >= 2 * 86400) return `${(seconds / 86400).toFixed(1)} days`;
  if (seconds >= 2 * 3600) return `${(seconds / 3600).toFixed(1)} hours`;
  return `${Math.round(seconds / 60)} minutes`;
}

/** The warning for a run projected to take LONG_RUN_SECONDS or more at `stepSeconds` per step, or undefined. */
export function longRunWarning(stepSeconds: number, stepsLeft: number): string | undefined {
  const seconds = stepSeconds * stepsLeft;
  if (!(seconds >= LONG_RUN_SECONDS)) return undefined;
  return `warning: at ${stepSeconds.toFixed(1)} s per step, the ${fmt(stepsLeft)} steps left take about ${formatLongDuration(seconds)} — ` +
    'stop now (Ctrl-C or Stop keeps a checkpoint) and lower --epochs, --max-steps or --grad-accum if that is not what you meant';
}
