// One training run, start to finish, from its run folder: reads training_config.json, loads the model, tokenizes the
// data, compiles the trainer, resumes from the latest checkpoint when there is one, runs the loop and writes the
// adapter. Shared by the detached worker (native/worker.ts) and `lora-studio train`; I/O to the user goes through
// `emit` (WorkerEvents), so both faces print the same thing.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORKER_PROTOCOL_VERSION, type RunConfig, type WorkerEvent } from '../protocol';
import { UserError } from '../util/errors';
import { loadModelFolder, type ModelFolder } from '../model/model-folder';
import { resolveTargets } from '../model/lora';
import { writePeftAdapter } from '../model/peft-io';
import { writePromptAdapter } from '../model/prompt-learning-io';
import { checkVirtualPositions, virtualTokensOf } from './virtual-tokens';
import { checkContextLength } from '../model/context-length';
import type { TokenizedExample } from '../data/template';
import { TemplatePool, workersForBytes } from '../data/template-pool';
import { planMicroBatches, splitEval } from '../data/batch';
import { readDatasetRecords } from '../data/validate';
import { createTrainer, type Trainer } from './trainer';
import { createLisaTrainer, type LisaTrainer } from './lisa-trainer';
import { LISA_MODEL_DIR, writeLisaModel } from './lisa-output';
import { runTrainingLoop, totalSteps, type LoopSaving, type LoopState, type MicroBatch, type TrainingData } from './loop';
import { fingerprintMismatches, loadCheckpoint, removeCheckpoint, saveCheckpoint } from './checkpoint';
import { latestCheckpoint, parseMetrics, readMetrics, runPaths, writeMetrics, writeRunStatus } from './run-dir';
import { assertValidRunConfig } from './config';
import { existsAs } from '../util/fs-checks';
import { discoverCuda, resolveDevice } from '../engine/cuda-discovery';
import { systemDiscoveryIo } from '../engine/cuda-io';
import { ensureNf4CacheStopping, userCacheRoot, type Nf4Cache } from '../model/nf4-cache';
import { isRunStopped, stopPointFor, type StopPoint } from './stop-point';

export interface RunIo {
  emit(event: WorkerEvent): void;
  stopRequested(): boolean;
  /**
   * Marks a native call nothing interrupts, made while nothing unsaved exists, with what a stop then records; returns
   * the unmarking. Given to a supervised trainer only (owned-run.ts, supervisor.ts).
   */
  markNativeCall?(phase: string, ifStopped: RunOutcome): () => void;
}

/** How a run ended, as status.json and the `done` event tell it. */
export interface RunOutcome {
  outcome: 'completed' | 'stopped';
  /** The last step trained, or for a stop before any, the checkpoint's step it resumed from (0 for a fresh run). */
  step: number;
  total_steps: number;
  /** What a stop before the first step kept (status.json's message). */
  message?: string;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * Tokenizes one JSONL file in the run's template workers (data/template-pool.ts: bounded chat templates, all cores),
 * saying how many records it holds first and then how far it got about once a second; reports truncations once. Null
 * when a stop was requested: nothing was written yet, so there is nothing to undo.
 */
async function tokenizeFile(
  pool: TemplatePool,
  path: string,
  config: RunConfig,
  io: RunIo,
  report: (message: string) => void,
  what: string,
): Promise<{ examples: TokenizedExample[]; truncated: number } | null> {
  let records: Awaited<ReturnType<typeof readDatasetRecords>>;
  try {
    records = await readDatasetRecords(path, { stopRequested: io.stopRequested });
  } catch (error) {
    if (error instanceof Error && error.name === 'AbortError') return null; // stopped while reading: nothing written yet
    throw error;
  }
  report(`tokenizing ${fmt(records.length)} ${what}…`);
  let lastReport = Date.now();
  const result = await pool.tokenize(records, { trainOnPrompt: config.train_on_prompt, maxSeqLen: config.max_seq_len }, {
    stopRequested: io.stopRequested,
    dataFile: path,
    onProgress: (done, total) => {
      if (done === total || Date.now() - lastReport < 1000) return;
      lastReport = Date.now();
      report(`tokenizing ${what}: ${fmt(done)} of ${fmt(total)}…`);
    },
  });
  if (result === 'stopped') return null;
  const { examples, truncatedCount: truncated } = result;
  if (examples.length === 0) {
    throw new UserError(`no trainable examples in ${path}: every response was empty or truncated away`, {
      where: { file: path },
      fix: `raise --max-seq-len (now ${config.max_seq_len}) or shorten the prompts`,
    });
  }
  return { examples, truncated };
}

type TokenizedFile = NonNullable<Awaited<ReturnType<typeof tokenizeFile>>>;

/**
 * Tokenizes the training file and the eval file (if any) with ONE pool whose workers start before the records are
 * read: with the full Qwen tokenizer a worker takes about a second to load it, which then overlaps the reading instead
 * of being paid once per file. Workers follow the data's size (workersForBytes: a tiny dataset gets one). The pool is
 * disposed before this returns, stopped or failed too: no worker outlives tokenizing. Null when a stop was requested.
 */
async function tokenizeData(model: ModelFolder, config: RunConfig, io: RunIo, report: (message: string) => void): Promise<{ train: TokenizedFile; eval?: TokenizedFile } | null> {
  // A file that cannot be read counts nothing here: reading it says what is wrong.
  const size = (path: string | undefined) => (path ? (statSync(path, { throwIfNoEntry: false })?.size ?? 0) : 0);
  const pool = new TemplatePool(model.tokenizer, workersForBytes(size(config.data) + size(config.eval_data)));
  try {
    pool.start();
    const train = await tokenizeFile(pool, config.data, config, io, report, 'records');
    if (!train || !config.eval_data) return train && { train };
    const evalSet = await tokenizeFile(pool, config.eval_data, config, io, report, 'eval records');
    return evalSet && { train, eval: evalSet };
  } finally {
    await pool.dispose();
  }
}

/** Drops metrics lines after `step` (steps done after the checkpoint a resume starts from are redone). */
function truncateMetrics(runDir: string, step: number): void {
  const path = runPaths(runDir).metrics;
  if (!existsSync(path)) return;
  writeMetrics(runDir, parseMetrics(readFileSync(path, 'utf8')).filter((record) => record.step <= step));
}

/**
 * What a resume says of the steps up to its checkpoint that metrics.jsonl has no readable record of (a line cut by a
 * kill or a full disk): the chart has a gap there, the training itself is unaffected. Undefined when none is missing.
 */
export function lostMetricsNote(runDir: string, step: number): string | undefined {
  const have = new Set(readMetrics(runDir).map((record) => record.step));
  const lost = Array.from({ length: step }, (_, i) => i + 1).filter((s) => !have.has(s));
  if (lost.length === 0) return undefined;
  const which = lost.length === 1 ? `step ${lost[0]}` : lost.length <= 5 ? `steps ${lost.join(', ')}` : `${lost.length} steps (${lost[0]} to ${lost[lost.length - 1]})`;
  return `${runPaths(runDir).metrics} has no readable record of ${which} (a line cut by a kill or a full disk): the chart has a gap there; training resumes from the checkpoint at step ${step} as saved`;
}

export async function runTraining(runDir: string, io: RunIo): Promise<RunOutcome> {
  const config = JSON.parse(readFileSync(runPaths(runDir).config, 'utf8')) as RunConfig;
  assertValidRunConfig(config, { exists: existsAs });
  // Where the run stands, for status.json: the checkpoint it resumes from until steps arrive.
  let step = latestCheckpoint(runDir)?.step ?? 0;
  let total = 0;
  const emit = (event: WorkerEvent) => {
    if (event.type === 'step') step = event.step;
    io.emit(event);
  };
  const status = (phase: Extract<WorkerEvent, { type: 'status' }>['phase'], message: string) => {
    emit({ type: 'status', phase, message });
    writeRunStatus(runDir, { state: 'running', step, total_steps: total, message });
  };
  // Stopped before the first step: nothing was trained here, and the run folder says what it still holds.
  const stoppedAtStart = (): RunOutcome => ({
    outcome: 'stopped', step, total_steps: total,
    message: step > 0
      ? `stopped while starting: nothing was trained since the checkpoint at step ${step}, which a resume continues from`
      : 'stopped before the first step: nothing was trained, and the same command starts the run again',
  });
  // A native call may be cut short only while nothing trained is unsaved: before this process's first step, or during
  // training once the loop has saved the steps since the last checkpoint as a stop would (a trainer asks for that right
  // before each session it creates then: stop-point.ts `saveUnsaved`, loop.ts LoopSaving). Otherwise the stop waits.
  const resumedStep = step;
  let saving: LoopSaving | undefined;
  const stoppedSaved = (at: number): RunOutcome => at === resumedStep ? stoppedAtStart() : {
    outcome: 'stopped', step: at, total_steps: total,
    message: `stopped while compiling: every step trained is in the checkpoint at step ${at}, which a resume continues from`,
  };
  const mark = io.markNativeCall;
  const nativeCall = mark && (async <T>(phase: string, call: () => Promise<T>): Promise<T> => {
    const saved = saving ? saving.savedStep() : resumedStep;
    if (saved === undefined) return call();
    const unmark = mark(phase, stoppedSaved(saved));
    try {
      return await call();
    } finally {
      unmark();
    }
  });
  // Saving costs a checkpoint and the adapter (LISA: the model folder), so only a trainer whose marked calls a stop can
  // cut short saves before its calls: a supervised one, on POSIX (the supervisor ends a call by SIGSTOP and SIGKILL).
  const saveUnsaved = mark && process.platform !== 'win32' ? async () => saving?.saveNow() : undefined;
  const stopPoint = stopPointFor(io.stopRequested, nativeCall, saveUnsaved);
  // LISA's recompiles (a resample's, an evaluation's) save nothing first: its save is a whole model folder
  // (lisa-trainer.ts), so its calls are cut short only where nothing trained is unsaved.
  const lisaStopPoint = stopPointFor(io.stopRequested, nativeCall);

  status('loading-model', `loading model ${config.model}…`);
  const model = loadModelFolder(config.model);
  // Prompt/prefix tuning adapts no module: its virtual tokens are the whole adapter.
  const virtual = virtualTokensOf(config);
  // LISA trains whole layers: no module is adapted either.
  const targets = virtual || config.method === 'lisa' ? [] : resolveTargets(model.config, config.target_modules);
  // Past the model's positions only with allow_long_context, said once here (the run's log keeps it).
  const longContext = checkModelBounds(config, model, targets);
  if (longContext) status('loading-model', longContext);
  const device = resolveDevice(config.device, discoverCuda(systemDiscoveryIo()));
  const deviceLabel = device.provider === 'cuda' ? `cuda:${device.deviceId}` : 'the CPU';
  if (device.notice) status('loading-model', device.notice);

  status('tokenizing', `reading ${config.data}…`);
  const report = (message: string) => status('tokenizing', message);
  // A stop while tokenizing: nothing was written yet (the run folder is as the start left it).
  const stoppedTokenizing = (): RunOutcome => ({ outcome: 'stopped', step, total_steps: total, message: 'stopped while tokenizing: nothing was trained or written, and the same command starts again' });
  const tokenized = await tokenizeData(model, config, io, report);
  if (!tokenized) return stoppedTokenizing();
  const trainSet = tokenized.train;
  let train = trainSet.examples;
  let evalExamples: TokenizedExample[] = tokenized.eval?.examples ?? [];
  if (!config.eval_data && config.eval_split > 0) ({ train, eval: evalExamples } = splitEval(train, config.eval_split, config.seed));
  status('tokenizing', `tokenized ${fmt(train.length)} training and ${fmt(evalExamples.length)} eval records` +
    (trainSet.truncated > 0 ? ` (${fmt(trainSet.truncated)} truncated to ${config.max_seq_len} tokens)` : ''));

  const batchOptions = { microBatchSize: config.micro_batch_size, seed: config.seed, padId: model.tokenizer.padId };
  const epochs = new Map<number, MicroBatch[]>();
  const data: TrainingData = {
    microBatchesFor(epoch) {
      let batches = epochs.get(epoch);
      if (!batches) {
        batches = planMicroBatches(train, { ...batchOptions, epoch });
        epochs.clear(); // one epoch's plan at a time: they are cheap to rebuild and deterministic
        epochs.set(epoch, batches);
      }
      return batches;
    },
    evalBatches: evalExamples.length > 0 ? planMicroBatches(evalExamples, { ...batchOptions, epoch: 0, lengthGrouped: true }) : [],
  };
  total = totalSteps(config, data.microBatchesFor(0).length);

  const resumeFrom = latestCheckpoint(runDir);
  const checkpoint = resumeFrom ? loadCheckpoint(resumeFrom.path) : undefined;
  if (checkpoint) {
    const changed = fingerprintMismatches(checkpoint.fingerprint, config);
    if (changed.length > 0) {
      throw new UserError(`cannot resume: ${changed.join(', ')} changed since the checkpoint at step ${checkpoint.loop.step}`, {
        where: { file: runPaths(runDir).config },
        fix: 'start a new run for different options, or restore them in training_config.json',
      });
    }
    if (checkpoint.loop.step > total) {
      throw new UserError(`cannot resume: the latest checkpoint is at step ${checkpoint.loop.step}, past this run's ${total} steps`, {
        where: { file: runPaths(runDir).config },
        fix: `extend the run: lora-studio train --resume ${runDir} --max-steps N (N > ${checkpoint.loop.step}), or use its adapter as it is`,
      });
    }
    truncateMetrics(runDir, checkpoint.loop.step);
    const lost = lostMetricsNote(runDir, checkpoint.loop.step);
    if (lost) status('loading-model', lost);
  } else if (existsSync(runPaths(runDir).metrics)) {
    writeFileSync(runPaths(runDir).metrics, ''); // a fresh start: no stale lines from an earlier failed attempt
  }

  let trainer: Trainer | LisaTrainer;
  try {
    await stopPoint();
    const what = virtual ? `${config.method}, ${virtual.tokens} virtual tokens` : `${targets.length} LoRA modules, r=${config.r}`;
    status('compiling', `compiling the training graph (${what}) for ${deviceLabel}…`);
    const quantized = config.quantization === 'nf4' ? await quantizeBase(model, status, stopPoint) : undefined;
    trainer = config.method === 'lisa' ? await createLisaTrainer(model, config, { device, runDir, state: checkpoint?.trainer, onStatus: (message) => status('compiling', message), stopPoint: lisaStopPoint }) : await createTrainer(model, config, {
      device, targets, state: checkpoint?.trainer, weights: quantized?.weights, externalDataDir: quantized?.dir,
      onStatus: (message) => status('compiling', message), totalSteps: total, stopPoint,
    });
  } catch (error) {
    if (isRunStopped(error)) return stoppedAtStart();
    throw error;
  }
  emit({
    type: 'start', protocol: WORKER_PROTOCOL_VERSION, run_dir: runDir, total_steps: total,
    resumed_from_step: checkpoint?.loop.step ?? 0, config, pid: process.pid,
  });

  // LISA: a checkpoint's state holds the trained weights; the run's output is the model folder <run>/model.
  const writeAdapter = (dir: string) => 'updatedWeights' in trainer ? undefined : virtual
    ? writePromptAdapter(dir, { kind: virtual.kind, config, model: model.config, baseModel: config.model, embeddings: trainer.promptEmbeddings!(), tokens: virtual.tokens })
    // PiSSA/OLoRA/ReLoRA save one plain LoRA of a larger rank for the original base (Trainer.adapterRank).
    : writePeftAdapter(dir, { config: { ...config, ...trainer.adapterRank() }, baseModel: config.model, targets, weights: trainer.loraWeights(), dtype: config.save_dtype, adalora: trainer.adalora?.() });
  try {
    const start: LoopState | undefined = checkpoint?.loop;
    const outcome = await runTrainingLoop(config, runDir, trainer, data, {
      emit,
      stopRequested: io.stopRequested,
      memoryMb: () => Math.round(process.memoryUsage().rss / 2 ** 20),
      attach: (loopSaving) => (saving = loopSaving),
      dropCheckpoint: (at) => removeCheckpoint(runDir, at),
      saveCheckpoint: async (loop) => saveCheckpoint(runDir, { config, loop, trainer: trainer.exportState(), shapes: trainer.stateShapes(), writeAdapter }),
      saveAdapter: async () => {
        if ('updatedWeights' in trainer) {
          emit({ type: 'status', phase: 'saving', message: `writing the trained model into ${join(runDir, LISA_MODEL_DIR)}…` });
          await writeLisaModel(model, trainer.updatedWeights(), join(runDir, LISA_MODEL_DIR));
          return;
        }
        emit({ type: 'status', phase: 'saving', message: 'writing the adapter…' });
        writeAdapter(runDir);
      },
    }, start);
    if (outcome === 'stopped' && step === (start?.step ?? 0)) return stoppedAtStart();
    return { outcome, step, total_steps: total };
  } finally {
    await trainer.dispose();
  }
}

/**
 * The NF4 copy of the base (made once into the user cache, reused later), reporting progress as status events; a stop
 * comes between tensors (quantizing a large model takes minutes).
 */
async function quantizeBase(model: ModelFolder, status: (phase: 'quantizing', message: string) => void, stopPoint: StopPoint): Promise<Nf4Cache> {
  let last = 0;
  status('quantizing', `checking the NF4 cache of ${model.dir} (${userCacheRoot()})…`);
  const cache = await ensureNf4CacheStopping(model, {
    stopPoint,
    onProgress: (done, total) => {
      if (done !== total && Date.now() - last < 1000) return;
      last = Date.now();
      status('quantizing', `quantizing the base to NF4: ${done}/${total} tensors…`);
    },
  });
  const size = `${(cache.bytes / 1e9).toFixed(2)} GB`;
  const why = cache.rebuiltBecause ? ` (rebuilt: ${cache.rebuiltBecause})` : '';
  status('quantizing', cache.made ? `quantized the base to NF4 (${size}) into ${cache.dir}${why}` : `using the NF4 cache ${cache.dir} (${size})`);
  return cache;
}

/**
 * The bounds that depend on the model: a rank no larger than a module's smaller side, a length within its positions
 * (past them only with allow_long_context: the warning to show is returned).
 */
export function checkModelBounds(config: RunConfig, model: ModelFolder, targets: readonly { baseName: string; in: number; out: number }[]): string | undefined {
  const rank = config.method === 'adalora' ? (config.init_r ?? config.r) : config.r;
  const smallest = targets.reduce((min, t) => (Math.min(t.in, t.out) < Math.min(min.in, min.out) ? t : min), targets[0]);
  if (smallest && rank > Math.min(smallest.in, smallest.out)) {
    throw new UserError(`rank ${rank} is larger than ${smallest.baseName} [${smallest.out}, ${smallest.in}] allows (a low-rank update has rank ≤ ${Math.min(smallest.in, smallest.out)})`, {
      where: { field: config.method === 'adalora' ? 'init_r' : 'r' }, fix: `choose r ≤ ${Math.min(smallest.in, smallest.out)} (typical ranks are 4–64)`,
    });
  }
  if (virtualTokensOf(config)) return checkVirtualPositions(config, model);
  return checkContextLength({
    what: `max_seq_len ${config.max_seq_len}`, tokens: config.max_seq_len, model, allow: config.allow_long_context ?? false,
    field: 'max_seq_len', fix: `lower --max-seq-len to ${model.config.max_position_embeddings} or less`,
  });
}
