// compare-methods, the process part: one method = one `lora-studio train --json` child process in its own run folder,
// so the methods never share a heap and each one's peak memory is its own (native/util/peak-rss.ts). The child runs
// in its own process group: a terminal's Ctrl-C reaches only the comparison, which passes exactly one signal on (a
// second one would make train quit without its final checkpoint). When the child ends, its run folder is read into a
// result row (compare-methods.ts). bench/methods runs its methods through here too.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isWorkerEvent, type WorkerEvent } from '../protocol';
import { openSafetensors, readTensorF32 } from '../model/safetensors';
import { PEAK_RSS_ENV, readPeakRss } from '../util/peak-rss';
import { OPTIMIZER_STATE_FILE, TRAINER_STATE_FILE } from './checkpoint';
import type { CompareResult } from './compare-events';
import { compareResult } from './compare-methods';
import { orthRegularization } from './method-metrics';
import { latestCheckpoint, readMetrics, readRunConfig, runPaths } from './run-dir';
import { runLockPath } from './run-lock';

/** How a `lora-studio` process is started: node, and the arguments before the subcommand (the CLI script, its flags). */
export interface CliCommand {
  node: string;
  args: string[];
}

export interface MethodRunRequest {
  cli: CliCommand;
  method: string;
  runDir: string;
  /** `train` flags without --out and --json (the comparison's common ones and the method's own). */
  trainArgs: string[];
  /** Stored parameters of the model (for trainable %). */
  modelParams: number;
  steps: number;
  r: number;
  onEvent?: (event: WorkerEvent) => void;
  /** Non-event output lines and stderr, for a log. */
  onLog?: (line: string) => void;
}

export interface MethodRun {
  /** Passes a signal on to the method's process (once; later calls are ignored). */
  stop(signal: NodeJS.Signals): void;
  result: Promise<CompareResult>;
}

/** The run folder's files that are bookkeeping, not output: what remains at its top level is the adapter (or model). */
const BOOKKEEPING = (() => {
  const p = runPaths('');
  return new Set([p.config, p.status, p.worker, p.metrics, p.log, runLockPath('')].map((path) => basename(path)));
})();

/** Bytes of a run's output: the plain files of its output folder (the adapter's, or the model folder `done` names), bookkeeping aside. */
export function outputBytes(folder: string): number | undefined {
  if (!existsSync(folder)) return undefined;
  let total = 0;
  let files = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (!entry.isFile() || BOOKKEEPING.has(entry.name) || entry.name.endsWith('.tmp')) continue;
    total += statSync(join(folder, entry.name)).size;
    files++;
  }
  return files > 0 ? total : undefined;
}

/** The final checkpoint's tensor shapes (trainer_state.json), or undefined without a checkpoint. */
function checkpointTensors(runDir: string): { path: string; tensors: Record<string, number[]> } | undefined {
  const checkpoint = latestCheckpoint(runDir);
  if (!checkpoint) return undefined;
  const state = JSON.parse(readFileSync(join(checkpoint.path, TRAINER_STATE_FILE), 'utf8')) as { tensors?: Record<string, number[]> };
  return state.tensors ? { path: checkpoint.path, tensors: state.tensors } : undefined;
}

/** AdaLoRA's orthogonal regularization at the checkpoint's weights: every lora_A and lora_B at init_r (pruned triplets too). */
export function adaloraPenalty(checkpoint: string, shapes: Record<string, number[]>, weight: number): number {
  const file = openSafetensors(join(checkpoint, OPTIMIZER_STATE_FILE));
  const mats = Object.keys(shapes).filter((n) => /\.lora_[AB]$/.test(n)).map((n) => ({
    kind: n.endsWith('A') ? 'A' as const : 'B' as const, data: readTensorF32(file, n), rows: shapes[n][0], cols: shapes[n][1],
  }));
  return orthRegularization(mats, weight);
}

/** A finished method's row, read from its run folder and the process's report. */
export function readMethodRun(request: Pick<MethodRunRequest, 'method' | 'runDir' | 'modelParams' | 'steps' | 'r'>, end: { done?: Extract<WorkerEvent, { type: 'done' }>; error?: string; peakRssBytes?: number }): CompareResult {
  const { runDir } = request;
  const state = checkpointTensors(runDir);
  const config = readRunConfig(runDir);
  const penalty = config?.method === 'adalora' && state ? adaloraPenalty(state.path, state.tensors, config.orth_reg_weight ?? 0.5) : undefined;
  const status = end.done ? (end.done.reason === 'completed' ? 'completed' : 'stopped') : 'failed';
  return compareResult({
    method: request.method, runDir, status, records: readMetrics(runDir), stateTensors: state?.tensors,
    outputBytes: end.done ? outputBytes(end.done.model ?? end.done.adapter) : undefined, peakRssBytes: end.peakRssBytes,
    modelParams: request.modelParams, steps: request.steps, r: request.r, penalty, error: status === 'failed' ? end.error ?? 'the run ended without finishing' : undefined,
  });
}

/** Starts one method's training in its own process; `result` settles when the process has ended and its folder is read. */
export function runMethod(request: MethodRunRequest): MethodRun {
  const rssFile = join(dirname(request.runDir), `.${basename(request.runDir)}.peak-rss.json`);
  rmSync(rssFile, { force: true });
  const child = spawn(request.cli.node, [...request.cli.args, 'train', ...request.trainArgs, '--out', request.runDir, '--json'], {
    env: { ...process.env, [PEAK_RSS_ENV]: rssFile }, stdio: ['ignore', 'pipe', 'pipe'], detached: true, windowsHide: true,
  });
  let done: Extract<WorkerEvent, { type: 'done' }> | undefined;
  let error: string | undefined;
  let stderr = '';
  let buffer = '';
  const onLine = (line: string) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    if (!isWorkerEvent(value)) {
      if (line.trim()) request.onLog?.(line);
      return;
    }
    if (value.type === 'done') done = value;
    if (value.type === 'error') error = value.message;
    request.onEvent?.(value);
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    lines.forEach(onLine);
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
    for (const line of chunk.split('\n')) if (line.trim()) request.onLog?.(line);
  });
  // A comparison that ends for any reason does not leave its current method training on its own.
  const orphan = () => child.kill('SIGTERM');
  process.once('exit', orphan);
  let signalled = false;
  const result = new Promise<CompareResult>((resolve, reject) => {
    child.on('error', (e) => {
      process.off('exit', orphan);
      reject(e);
    });
    child.on('close', (code, signal) => {
      process.off('exit', orphan);
      if (buffer.trim()) onLine(buffer);
      const why = error ?? (stderr.trim().split('\n').at(-1) || `lora-studio train exited with ${code ?? signal}`);
      try {
        resolve(readMethodRun(request, { done, error: why, peakRssBytes: readPeakRss(rssFile) }));
      } catch (e) {
        reject(e);
      } finally {
        rmSync(rssFile, { force: true });
      }
    });
  });
  return {
    stop(signal) {
      if (signalled || child.exitCode !== null || child.signalCode !== null) return;
      signalled = true;
      child.kill(signal);
    },
    result,
  };
}
