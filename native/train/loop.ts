// The training loop: optimizer steps over a deterministic batch plan, learning-rate schedule, periodic eval and
// checkpoints, metrics.jsonl, and WorkerEvents. It drives an abstract `TrainerLike` (the engine's trainer) and writes the
// run folder through injected savers, so it is tested with a fake trainer and no ONNX at all.
import { appendFileSync } from 'node:fs';
import type { MetricRecord, RunConfig, WorkerEvent } from '../protocol';
import { learningRateAt } from './schedule';
import { readMetrics, runPaths, writeMetrics, writeRunStatus } from './run-dir';
import { isRunStopped } from './stop-point';
import { assertSaneWork, longRunWarning } from './duration';

/** One micro-batch, already padded to its bucket length. */
export interface MicroBatch {
  inputIds: number[][];
  labels: number[][];
  attentionMask: number[][];
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  /** Trained (non-padding) tokens in this optimizer step. */
  tokens: number;
  /** AdaLoRA's rank budget at this step (native/train/rank-allocator.ts). */
  rankBudget?: number;
}

export interface TrainerLike {
  step(microBatches: MicroBatch[], lr: number): Promise<StepResult>;
  evalLoss(batches: MicroBatch[]): Promise<number>;
}

/** Where the data stream stands: the next optimizer step reads `microBatchesFor(epoch)[index …]`. */
export interface DataPosition {
  epoch: number;
  index: number;
}

export interface TrainingData {
  /** Micro-batches of one epoch, in the order the seed dictates (deterministic per epoch). */
  microBatchesFor(epoch: number): MicroBatch[];
  evalBatches: MicroBatch[];
}

export interface LoopState {
  step: number;
  position: DataPosition;
  tokens: number;
  elapsed_s: number;
}

export interface LoopHooks {
  emit(event: WorkerEvent): void;
  /** Saves a complete checkpoint for `state` and returns its folder (called at save_every, on stop and at the end). */
  saveCheckpoint(state: LoopState): Promise<string>;
  /** Writes the final adapter into the run folder. */
  saveAdapter(): Promise<void>;
  /** True once a stop was requested (SIGTERM/SIGINT or the host's `stop` command). */
  stopRequested(): boolean;
  memoryMb(): number;
  now?(): number;
  /** Receives the loop's saving while it runs (run.ts hands it to the trainer's stop point, stop-point.ts). */
  attach?(saving: LoopSaving): void;
  /** Deletes the checkpoint of a step (one saved on demand, superseded by a newer complete one). */
  dropCheckpoint?(step: number): void;
}

/**
 * Saving on demand from inside a step or an evaluation, before a native call nothing interrupts (a session created
 * after the first step: a new bucket, a ReLoRA restart, the evaluation's): once the steps trained are
 * saved as a stop would save them, a stop during the call loses nothing, so the call may be cut short (run.ts).
 */
export interface LoopSaving {
  /** Saves what a stop would (checkpoint, adapter, the step's metrics line); the trainer's state must be the last step's. */
  saveNow(): Promise<void>;
  /** The last step trained when all of it is saved as a stop would save it, else undefined. */
  savedStep(): number | undefined;
}

export function totalSteps(config: RunConfig, microBatchesPerEpoch: number): number {
  if (config.max_steps !== undefined) return config.max_steps;
  return Math.max(1, Math.ceil(microBatchesPerEpoch / config.gradient_accumulation_steps)) * config.num_epochs;
}

/** Takes the next `count` micro-batches from `position`, crossing epoch boundaries; returns them and the new position. */
export function takeMicroBatches(data: TrainingData, position: DataPosition, count: number): { batches: MicroBatch[]; next: DataPosition } {
  const batches: MicroBatch[] = [];
  let { epoch, index } = position;
  let epochBatches = data.microBatchesFor(epoch);
  if (epochBatches.length === 0) throw new Error('the training data produced no batches');
  while (batches.length < count) {
    if (index >= epochBatches.length) {
      epoch += 1;
      index = 0;
      epochBatches = data.microBatchesFor(epoch);
    }
    batches.push(epochBatches[index]);
    index += 1;
  }
  return { batches, next: { epoch, index } };
}

export async function runTrainingLoop(
  config: RunConfig,
  runDir: string,
  trainer: TrainerLike,
  data: TrainingData,
  hooks: LoopHooks,
  start: LoopState = { step: 0, position: { epoch: 0, index: 0 }, tokens: 0, elapsed_s: 0 },
): Promise<'completed' | 'stopped'> {
  const now = hooks.now ?? (() => performance.now() / 1000);
  const perEpoch = data.microBatchesFor(0).length;
  const total = totalSteps(config, perEpoch);
  const state: LoopState = { ...start, position: { ...start.position } };
  const startedAt = now() - start.elapsed_s;
  let lastSaved = start.step;
  // The step the run folder's adapter was written at (the one resumed from is taken as written: a stop before any step
  // of this process writes none).
  let adapterAt = start.step;
  // A step's metrics line while its evaluation runs: written (and its `step` event sent) early when the evaluation's
  // compile saves first (LoopSaving), then completed with the eval loss.
  let pending: { record: MetricRecord; written: boolean } | undefined;

  // A checkpoint saved only because a native call followed (saveNow, off the save_every cadence) goes once a newer one
  // is complete: on-demand saves (every ReLoRA restart) add at most one checkpoint on disk to what
  // save_every and save_total_limit keep.
  let onDemandStep: number | undefined;
  const onCadence = (step: number) => config.save_every > 0 && step % config.save_every === 0;
  const checkpoint = async (onDemand = false) => {
    writeRunStatus(runDir, { state: 'running', step: state.step, total_steps: total, message: 'saving checkpoint…' });
    const path = await hooks.saveCheckpoint(state);
    lastSaved = state.step;
    if (onDemandStep !== undefined) hooks.dropCheckpoint?.(onDemandStep);
    onDemandStep = onDemand && !onCadence(state.step) ? state.step : undefined;
    hooks.emit({ type: 'checkpoint', step: state.step, path });
  };
  const writeRecord = (record: MetricRecord) => {
    appendFileSync(runPaths(runDir).metrics, JSON.stringify(record) + '\n');
    hooks.emit({ type: 'step', total_steps: total, ...record });
  };

  // What a stop saves. Before any step of this process nothing was trained: the run folder already holds what there is
  // to keep (the checkpoint resumed from and its adapter, or for a fresh run nothing, so the same command starts again).
  const save = async (onDemand: boolean) => {
    if (pending && !pending.written) {
      writeRecord(pending.record);
      pending.written = true;
    }
    if (lastSaved !== state.step) await checkpoint(onDemand);
    if (adapterAt !== state.step) {
      await hooks.saveAdapter();
      adapterAt = state.step;
    }
  };
  const stop = async (): Promise<'stopped'> => {
    await save(false);
    return 'stopped';
  };
  hooks.attach?.({
    saveNow: () => save(true),
    savedStep: () => (lastSaved === state.step && adapterAt === state.step && (!pending || pending.written) ? state.step : undefined),
  });
  assertSaneWork(config, total - state.step);
  if (state.step < total) hooks.emit({ type: 'status', phase: 'training', message: `training: step ${state.step + 1} of ${total}…` });
  while (state.step < total) {
    if (hooks.stopRequested()) return stop();
    const lr = learningRateAt(state.step, {
      lr: config.learning_rate,
      warmupSteps: config.warmup_steps,
      totalSteps: total,
      scheduler: config.lr_scheduler_type,
      ...((config.relora_steps ?? 0) > 0 ? { restarts: { every: config.relora_steps!, warmupSteps: config.relora_warmup_steps ?? 0 } } : {}),
    });
    const { batches, next } = takeMicroBatches(data, state.position, config.gradient_accumulation_steps);
    const stepStarted = now();
    let result: StepResult;
    try {
      result = await trainer.step(batches, lr);
    } catch (error) {
      // Stopped while compiling a new bucket's program: the step did not happen, the state is the last step's.
      if (isRunStopped(error)) return stop();
      throw error;
    }
    const stepSeconds = Math.max(1e-9, now() - stepStarted);
    // The second step of this attempt is the first without the compile: its pace projects the rest, said once if long.
    const warning = state.step === start.step + 1 ? longRunWarning(stepSeconds, total - state.step - 1) : undefined;
    if (warning) hooks.emit({ type: 'status', phase: 'training', message: warning });
    if (!Number.isFinite(result.loss)) {
      throw new Error(`loss became ${result.loss} at step ${state.step + 1} — lower learning_rate (now ${config.learning_rate}) or max_grad_norm`);
    }
    state.step += 1;
    state.position = next;
    state.tokens += result.tokens;
    state.elapsed_s = now() - startedAt;

    const record: MetricRecord = {
      step: state.step,
      epoch: next.epoch + next.index / perEpoch,
      loss: result.loss,
      lr,
      grad_norm: result.gradNorm,
      tokens: state.tokens,
      tokens_per_s: result.tokens / stepSeconds,
      elapsed_s: state.elapsed_s,
      memory_mb: hooks.memoryMb(),
      ...(result.rankBudget !== undefined ? { rank_budget: result.rankBudget } : {}),
    };
    const evalDue = data.evalBatches.length > 0 && ((config.eval_every > 0 && state.step % config.eval_every === 0) || state.step === total);
    let written = false;
    if (evalDue) {
      hooks.emit({ type: 'status', phase: 'evaluating', message: `evaluating on ${data.evalBatches.length} batches…` });
      pending = { record, written: false };
      try {
        record.eval_loss = await trainer.evalLoss(data.evalBatches);
      } catch (error) {
        if (!isRunStopped(error)) throw error; // stopped while compiling the evaluation: the step is kept without it
      } finally {
        written = pending.written;
        pending = undefined;
      }
    }
    if (!written) writeRecord(record);
    else if (record.eval_loss !== undefined) completeLastRecord(runDir, record);
    if (record.eval_loss !== undefined) hooks.emit({ type: 'eval', step: state.step, eval_loss: record.eval_loss });
    writeRunStatus(runDir, { state: 'running', step: state.step, total_steps: total });

    // (An evaluation that compiled may have saved this step already.)
    if (onCadence(state.step) && state.step < total && lastSaved !== state.step) await checkpoint();
  }
  if (lastSaved !== state.step) await checkpoint();
  await hooks.saveAdapter();
  return 'completed';
}

/**
 * Replaces metrics.jsonl's last line (a step written before its evaluation) with `record`, atomically: only a step
 * whose evaluation had to compile first (LoopSaving) gets here, so the file is rewritten rarely.
 */
function completeLastRecord(runDir: string, record: MetricRecord): void {
  const records = readMetrics(runDir);
  if (records.at(-1)?.step !== record.step) throw new Error(`metrics.jsonl: expected step ${record.step} last, found ${records.at(-1)?.step ?? 'none'}`);
  records[records.length - 1] = record;
  writeMetrics(runDir, records);
}
