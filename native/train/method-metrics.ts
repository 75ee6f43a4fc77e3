// What a finished run's files say about its method, as numbers (pure: callers read the files and hand in their
// contents): the final train loss, the last eval loss, the median step time and tokens/s from metrics.jsonl, the
// trainable parameters from the final checkpoint's trainer_state.json, and AdaLoRA's orthogonal regularization at
// given weights. compare-methods (native/cli/compare-methods.ts) and bench/methods both build their rows from these.
import type { MetricRecord } from '../protocol';

/** The metrics.jsonl fields read here. */
export type StepRecord = Pick<MetricRecord, 'step' | 'loss' | 'elapsed_s' | 'eval_loss'> & Partial<Pick<MetricRecord, 'tokens'>>;

/** How many final steps the train loss is averaged over (one step's loss is noisy). */
export const LAST_STEPS = 10;

/** Mean loss of the last `n` steps; NaN without steps. */
export function finalTrainLoss(records: readonly StepRecord[], n = LAST_STEPS): number {
  const tail = records.slice(-n);
  if (tail.length === 0) return NaN;
  return tail.reduce((sum, r) => sum + r.loss, 0) / tail.length;
}

/** The last evaluation's loss, or undefined when no record has one. */
export function lastEvalLoss(records: readonly StepRecord[]): number | undefined {
  for (let i = records.length - 1; i >= 0; i--) if (typeof records[i].eval_loss === 'number') return records[i].eval_loss;
  return undefined;
}

/** The median (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * The steps a step time can be read from, as [seconds, tokens] differences from the previous record. The first step
 * (graph compilation, warm-up) has no predecessor and is left out, and so is every step that also evaluated (its
 * difference holds the eval pass too) or follows a gap (a resume).
 */
function stepDeltas(records: readonly StepRecord[]): { seconds: number; tokens?: number }[] {
  const deltas: { seconds: number; tokens?: number }[] = [];
  for (let i = 1; i < records.length; i++) {
    const [prev, cur] = [records[i - 1], records[i]];
    if (cur.step !== prev.step + 1 || typeof cur.eval_loss === 'number') continue;
    const tokens = typeof cur.tokens === 'number' && typeof prev.tokens === 'number' ? cur.tokens - prev.tokens : undefined;
    deltas.push({ seconds: cur.elapsed_s - prev.elapsed_s, tokens });
  }
  return deltas;
}

/** Median seconds per optimizer step (elapsed_s differences; see stepDeltas for the steps left out). */
export function medianStepSeconds(records: readonly StepRecord[]): number {
  return median(stepDeltas(records).map((d) => d.seconds));
}

/** Median tokens per second over the same steps (tokens and elapsed_s differences of each). */
export function medianTokensPerSecond(records: readonly StepRecord[]): number {
  return median(stepDeltas(records).flatMap((d) => (d.tokens !== undefined && d.seconds > 0 ? [d.tokens / d.seconds] : [])));
}

/**
 * Trainable parameters of a run, from its checkpoint's trainer_state.json `tensors` (name → shape): a tensor is
 * trained when AdamW keeps moments for it (`<name>.exp_avg`). This counts what the run trained, at the shapes it
 * trained them — AdaLoRA's init_r triplets (not the pruned saved ones), PiSSA's r (not the saved 2r), ReLoRA's r per
 * cycle (not the saved k·r), DoRA's magnitudes — which the adapter file alone does not tell.
 */
export function trainableFromState(tensors: Record<string, readonly number[]>): number {
  let total = 0;
  for (const [name, shape] of Object.entries(tensors)) {
    if (name.endsWith('.exp_avg') || name.endsWith('.exp_avg_sq') || !(`${name}.exp_avg` in tensors)) continue;
    total += shape.reduce((a, b) => a * b, 1);
  }
  return total;
}

/**
 * PEFT's AdaLoRA orthogonal regularization: weight × the mean over all lora_A and lora_B of ‖AAᵀ − I‖_F and
 * ‖BᵀB − I‖_F (torch.norm, not squared). A is [r, in] (row-major), B is [out, r].
 */
export function orthRegularization(mats: readonly { kind: 'A' | 'B'; data: Float32Array; rows: number; cols: number }[], weight: number): number {
  if (mats.length === 0) return 0;
  let sum = 0;
  for (const { kind, data, rows, cols } of mats) {
    // A: rows × rows Gram of rows; B: cols × cols Gram of columns.
    const n = kind === 'A' ? rows : cols;
    const len = kind === 'A' ? cols : rows;
    const at = (k: number, i: number) => (kind === 'A' ? data[k * cols + i] : data[i * cols + k]);
    let fro = 0;
    for (let p = 0; p < n; p++) {
      for (let q = 0; q < n; q++) {
        let dot = 0;
        for (let i = 0; i < len; i++) dot += at(p, i) * at(q, i);
        const d = dot - (p === q ? 1 : 0);
        fro += d * d;
      }
    }
    sum += Math.sqrt(fro);
  }
  return (weight * sum) / mats.length;
}
