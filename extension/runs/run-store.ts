// The run store: every run folder under the runs folder, read from its files (the run folder is the truth).
// No vscode here, so it is tested on real folders; the Runs view and status bar render what it returns.
import { closeSync, existsSync, fstatSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { MetricRecord, RunConfig } from '../../native/protocol';
import {
  hasAdapter,
  trainedModelDir,
  listCheckpoints,
  readRunConfig,
  readRunStatus,
  readWorkerInfo,
  runPaths,
  type RunState,
  type RunStatus,
  type WorkerInfo,
} from '../../native/train/run-dir';
import { pidAlive } from '../../native/util/pid-alive';
import { isExternalRun, readExternalRun } from './external-run';

export interface RunSummary {
  dir: string;
  id: string;
  config?: RunConfig;
  status?: RunStatus;
  /** The state as the files and the process table tell it (a "running" run whose worker is gone has failed). */
  state: RunState;
  step: number;
  totalSteps: number;
  message?: string;
  /** The last metrics.jsonl record (read from the file's tail, not the whole file). */
  last?: MetricRecord;
  worker?: WorkerInfo;
  /** A live worker process owns this run now. */
  live: boolean;
  checkpoints: { step: number; path: string }[];
  hasAdapter: boolean;
  /** Newest-first ordering key: when the run folder was created (config written). */
  createdMs: number;
  /** Trained elsewhere and watched here (external-run.ts): a Hugging Face Trainer output folder. */
  external?: boolean;
  /** The folder of the newest adapter when it is not the run folder itself (an external run's latest checkpoint). */
  adapterDir?: string;
  /** A whole trained model instead of an adapter (LISA's <run>/model). */
  modelDir?: string;
}

export { pidAlive };

/** The last complete line of a file, reading at most `maxBytes` from its end (metrics.jsonl may be large). */
export function readLastLine(path: string, maxBytes = 16384): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').filter((line) => line.trim() !== '');
    // A torn final line (no newline yet, still being appended) is not a record: prefer the one before it.
    for (let i = lines.length - 1; i >= 0; i--) {
      try {
        JSON.parse(lines[i]);
        return lines[i];
      } catch {
        continue;
      }
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function lastMetric(runDir: string): MetricRecord | undefined {
  const line = readLastLine(runPaths(runDir).metrics);
  if (!line) return undefined;
  const value = JSON.parse(line) as MetricRecord;
  return typeof value.step === 'number' ? value : undefined;
}

/**
 * What the views say of a run whose worker is gone while status.json still says it trains: it was killed, ran out of
 * memory, or could not write its end (a full disk) — the files cannot tell which, so the message does not guess.
 */
export function interruptedMessage(step: number, checkpointStep: number | undefined, lastStatus?: string): string {
  const kept = checkpointStep !== undefined ? `resume continues from the checkpoint at step ${checkpointStep}` : 'no checkpoint was saved';
  return `the training worker stopped without recording why — last step ${step}${lastStatus ? ` (last status: ${lastStatus})` : ''}; ${kept}; see the log`;
}

/** A run still pending this long after its status was written, with no worker, never got one. */
export const PENDING_TIMEOUT_MS = 5 * 60_000;

/** Reads one run folder; `isAlive` and `now` are injectable so tests decide which pids live and when it is. */
export function readRun(dir: string, isAlive: (pid: number) => boolean = pidAlive, now = Date.now()): RunSummary {
  if (isExternalRun(dir)) return readExternalRun(dir);
  const config = readRunConfig(dir);
  const status = readRunStatus(dir);
  const worker = readWorkerInfo(dir);
  const last = lastMetric(dir);
  const live = worker !== undefined && isAlive(worker.pid);
  let state: RunState = status?.state ?? (last ? 'stopped' : 'pending');
  let message = status?.message;
  // A pending run has no worker.json until its worker listens; only a worker that was there and is gone, or one
  // that never came, is a failure.
  const neverStarted = state === 'pending' && !worker && status !== undefined && now - Date.parse(status.updated_at) > PENDING_TIMEOUT_MS;
  const checkpoints = listCheckpoints(dir);
  const step = Math.max(status?.step ?? 0, last?.step ?? 0);
  if (neverStarted) {
    state = 'failed';
    message = `the training worker never started${message ? ` (last: ${message})` : ''} — see the log`;
  } else if ((state === 'running' && !live) || (state === 'pending' && worker && !live)) {
    // The worker died without writing its end state (killed, out of memory, machine slept, a full disk).
    state = 'failed';
    message = interruptedMessage(step, checkpoints.at(-1)?.step, message);
  } else if (live && state === 'pending') {
    state = 'running';
  }
  let createdMs = 0;
  try {
    createdMs = statSync(runPaths(dir).config).mtimeMs;
  } catch {
    createdMs = existsSync(dir) ? statSync(dir).mtimeMs : 0;
  }
  return {
    dir,
    id: basename(dir),
    config,
    status,
    state,
    step,
    totalSteps: status?.total_steps ?? 0,
    message,
    last,
    worker,
    live,
    checkpoints,
    hasAdapter: hasAdapter(dir),
    ...(trainedModelDir(dir) ? { modelDir: trainedModelDir(dir) } : {}),
    createdMs,
  };
}

/** Every run folder (a sub-folder holding training_config.json), newest first. */
/** A folder is a run once it holds its training_config.json. */
export function isRunFolder(runDir: string): boolean {
  return existsSync(runPaths(runDir).config);
}

/**
 * Where Compare Methods puts its comparisons: beside the runs folder (as Compose's `composed`), one folder per
 * comparison holding a run folder per method — `lora-studio compare-methods`' default when run in the workspace.
 */
export const comparisonsFolder = (runsRoot: string): string => join(dirname(resolve(runsRoot)), 'compare');

const subfolders = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name)) : []);

/** The run folders the Runs view shows: the runs folder's own and each comparison's methods (comparisonsFolder). */
export function runFolderPaths(runsRoot: string): string[] {
  return [...subfolders(runsRoot), ...subfolders(comparisonsFolder(runsRoot)).flatMap(subfolders)].filter(isRunFolder);
}

export function listRuns(runsRoot: string, isAlive: (pid: number) => boolean = pidAlive): RunSummary[] {
  const compared = comparisonsFolder(runsRoot);
  return runFolderPaths(runsRoot)
    .map((dir) => {
      const run = readRun(dir, isAlive);
      // A comparison's runs are named by their method: the comparison's name tells them apart.
      return resolve(dirname(dirname(dir))) === compared ? { ...run, id: `${basename(dirname(dir))}/${run.id}` } : run;
    })
    .sort((a, b) => b.createdMs - a.createdMs || b.id.localeCompare(a.id));
}

/** A fresh, sortable, readable run id: 2026-11-25_03-51-07_<model>. */
export function newRunId(modelDir: string, now = new Date()): string {
  const stamp = now.toISOString().slice(0, 19).replace('T', '_').replace(/:/g, '-');
  const model = basename(modelDir).replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 40) || 'run';
  return `${stamp}_${model}`;
}
