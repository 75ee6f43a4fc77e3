// ReLoRA (Lialin et al. 2023, "ReLoRA: High-Rank Training through Low-Rank Updates"): every N optimizer steps the
// trained s·B·A is merged into the frozen base (here: appended to the base's low-rank term, native/model/base-delta.ts,
// never a rewritten model), A and B start again (A Kaiming-uniform, B zero, as PEFT's init), the AdamW moments are
// pruned by magnitude (the paper keeps 1%: prune ratio 0.99; 1 resets them) and the learning rate restarts with a
// short linear warmup back to the schedule ("jagged" schedule, _get_cosine_schedule_with_multiple_warmups_lambda in
// the authors' peft_pretraining/training_utils.py). Cycles end at steps N, 2N, …; the merge happens right before the
// first step of the next cycle, so a run that ends on a boundary saves exactly its cycles, and a checkpoint taken on a
// boundary resumes to the same merge.

/** Whether the optimizer step after `completed` steps opens a new cycle (a merge and restart comes first). */
export function reloraRestartsAt(completed: number, every: number | undefined): boolean {
  return every !== undefined && every > 0 && completed > 0 && completed % every === 0;
}

/**
 * The learning rate of 0-based step `step`: the schedule's, except in the first `warmup` steps of every cycle after
 * the first, where it rises linearly from 0 to the schedule's value at the end of that warmup (the authors' lambda:
 * current_step % restart_every / restart_warmup_steps × lr_lambda(restart_step + restart_warmup_steps)).
 */
export function reloraLearningRate(step: number, every: number, warmup: number, schedule: (step: number) => number): number {
  const inCycle = step % every;
  if (step < every || warmup <= 0 || inCycle >= warmup) return schedule(step);
  return (inCycle / warmup) * schedule(step - inCycle + warmup);
}

/**
 * Which entries of `t` the authors' _magnitude_prune keeps: those whose magnitude exceeds the `ratio` quantile of |t|
 * (torch.quantile's linear interpolation). Ratio 0.99 keeps the largest 1%, 1 none, 0 all but the smallest.
 */
export function magnitudeKept(t: Float32Array, ratio: number): Uint8Array {
  const kept = new Uint8Array(t.length);
  if (t.length === 0 || ratio >= 1) return kept;
  if (ratio <= 0) return kept.fill(1);
  const sorted = Float64Array.from(t, Math.abs).sort();
  const position = ratio * (sorted.length - 1);
  const low = Math.floor(position), high = Math.min(sorted.length - 1, low + 1);
  const threshold = sorted[low] + (sorted[high] - sorted[low]) * (position - low);
  for (let i = 0; i < t.length; i++) kept[i] = Math.abs(t[i]) > threshold ? 1 : 0;
  return kept;
}

/**
 * Prunes one parameter's AdamW moments in place: exp_avg and exp_avg_sq each by magnitude, as the authors do, except
 * that an exp_avg entry kept keeps its exp_avg_sq. Pruned independently, a kept first moment over a zeroed second
 * moment makes the next update m/(√v + ε) explode (measured: the loss went from 0.02 to 9 two steps after a restart
 * with a 2-step warmup); with the pair kept together every kept entry's update is as bounded as before the restart.
 */
export function pruneMoments(expAvg: Float32Array, expAvgSq: Float32Array, ratio: number): void {
  const keepM = magnitudeKept(expAvg, ratio), keepV = magnitudeKept(expAvgSq, ratio);
  for (let i = 0; i < expAvg.length; i++) {
    if (!keepM[i]) expAvg[i] = 0;
    if (!keepM[i] && !keepV[i]) expAvgSq[i] = 0;
  }
}
