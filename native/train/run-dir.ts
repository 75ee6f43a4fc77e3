// The run folder layout — the single source of truth for a run. The worker writes it; the extension host (run store)
// and the CLI read it. Pure path helpers and readers; every write goes through atomic-write.
//
//   <run>/training_config.json   RunConfig, every option resolved (written before the worker starts)
//   <run>/status.json            RunStatus: state, step, total_steps, message (rewritten atomically on each change)
//   <run>/worker.json            WorkerInfo: pid and IPC socket of the live worker (removed on clean exit)
//   <run>/metrics.jsonl          one MetricRecord per optimizer step (append-only; a torn last line is ignored)
//   <run>/train.log              the worker's human-readable log (stdout/stderr)
//   <run>/checkpoints/step-N/    all state to resume: adapter, optimizer state, RNG, data position
//   <run>/checkpoints/latest     the name of the newest complete checkpoint folder (written last)
//   <run>/adapter_config.json + adapter_model.safetensors   the PEFT adapter (so the run folder is an adapter folder)
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MetricRecord, RunConfig } from '../protocol';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic-write';
import { UserError } from '../util/errors';

export type RunState = 'pending' | 'running' | 'completed' | 'stopped' | 'failed';

export interface RunStatus {
  state: RunState;
  step: number;
  total_steps: number;
  /** Last phase message ("tokenizing 1,234 records…") or the error message when failed. */
  message?: string;
  updated_at: string;
}

export interface WorkerInfo {
  pid: number;
  /** Unix domain socket path (or Windows named pipe) the worker serves WorkerEvent/WorkerCommand NDJSON on. */
  socket: string;
  started_at: string;
  /**
   * The WORKER_PROTOCOL_VERSION the worker speaks, so a window can refuse a worker of another extension version
   * before attaching (its `start` event went by long ago). Absent in workers from before it was written: they speak 1.
   */
  protocol?: number;
}

export const runPaths = (runDir: string) => ({
  config: join(runDir, 'training_config.json'),
  status: join(runDir, 'status.json'),
  worker: join(runDir, 'worker.json'),
  metrics: join(runDir, 'metrics.jsonl'),
  log: join(runDir, 'train.log'),
  checkpoints: join(runDir, 'checkpoints'),
  latest: join(runDir, 'checkpoints', 'latest'),
  adapterConfig: join(runDir, 'adapter_config.json'),
  adapterWeights: join(runDir, 'adapter_model.safetensors'),
});

export const checkpointName = (step: number): string => `step-${step}`;

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export const readRunConfig = (runDir: string): RunConfig | undefined => readJson<RunConfig>(runPaths(runDir).config);

/**
 * The run's training_config.json for a resume, or a UserError naming it when it is not a JSON object (a file cut
 * short by a full disk or an edit): a resume must not guess settings, and a SyntaxError is no message for a user.
 */
export function readRunConfigForResume(runDir: string): RunConfig {
  const path = runPaths(runDir).config;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error; // I/O errors keep their code (native/cli/exit.ts names them)
    value = error;
  }
  if (value instanceof SyntaxError || typeof value !== 'object' || value === null || Array.isArray(value)) {
    const why = value instanceof SyntaxError ? `is not valid JSON (${value.message})` : 'does not hold a JSON object';
    throw new UserError(`${why}: the run's settings cannot be read`, {
      where: { file: path },
      fix: 'restore the file (it holds the options the run was started with; checkpoints/step-N/trainer_state.json keeps its fingerprint) or start a new run',
    });
  }
  return value as RunConfig;
}

/**
 * The base quantization an adapter was trained with: its run's training_config.json, in the adapter folder (a run) or
 * the run folder above a checkpoint. 'none' (and no run) for an adapter from elsewhere.
 */
export function adapterRunQuantization(adapterDir: string): { quantization: 'none' | 'nf4'; runDir?: string } {
  for (const dir of [adapterDir, dirname(adapterDir), dirname(dirname(adapterDir))]) {
    const config = readRunConfig(dir);
    if (config) return { quantization: config.quantization ?? 'none', runDir: dir };
  }
  return { quantization: 'none' };
}
export const readRunStatus = (runDir: string): RunStatus | undefined => readJson<RunStatus>(runPaths(runDir).status);
export const readWorkerInfo = (runDir: string): WorkerInfo | undefined => readJson<WorkerInfo>(runPaths(runDir).worker);

export function writeRunStatus(runDir: string, status: Omit<RunStatus, 'updated_at'>): void {
  writeJsonAtomic(runPaths(runDir).status, { ...status, updated_at: new Date().toISOString() });
}

/** Parses metrics.jsonl text; a torn (partially written) last line and blank lines are ignored. */
export function parseMetrics(text: string): MetricRecord[] {
  const records: MetricRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value = JSON.parse(line) as MetricRecord;
      if (typeof value.step === 'number') records.push(value);
    } catch {
      // A torn line can only be the last one (appends are sequential); skip it.
    }
  }
  return records;
}

export function readMetrics(runDir: string): MetricRecord[] {
  const path = runPaths(runDir).metrics;
  return existsSync(path) ? parseMetrics(readFileSync(path, 'utf8')) : [];
}

/** Rewrites metrics.jsonl as `records`, one JSON line each, atomically (a resume's truncation, a completed last line). */
export function writeMetrics(runDir: string, records: MetricRecord[]): void {
  writeFileAtomic(runPaths(runDir).metrics, records.map((record) => JSON.stringify(record) + '\n').join(''));
}

/** Complete checkpoints (folders named step-N that hold a state file), newest last. */
export function listCheckpoints(runDir: string): { step: number; path: string }[] {
  const dir = runPaths(runDir).checkpoints;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ name, match: /^step-(\d+)$/.exec(name) }))
    .filter((entry): entry is { name: string; match: RegExpExecArray } => entry.match !== null)
    .map(({ name, match }) => ({ step: Number(match[1]), path: join(dir, name) }))
    .filter((entry) => statSync(entry.path).isDirectory() && existsSync(join(entry.path, 'trainer_state.json')))
    .sort((a, b) => a.step - b.step);
}

/** The checkpoint `latest` names, falling back to the newest complete one (latest is written last, so it may lag). */
export function latestCheckpoint(runDir: string): { step: number; path: string } | undefined {
  const all = listCheckpoints(runDir);
  try {
    const name = readFileSync(runPaths(runDir).latest, 'utf8').trim();
    const named = all.find((c) => checkpointName(c.step) === name);
    if (named && named.step === all[all.length - 1]?.step) return named;
  } catch {
    // No latest pointer yet.
  }
  return all[all.length - 1];
}

export function hasAdapter(dir: string): boolean {
  return existsSync(join(dir, 'adapter_config.json'));
}

/** The whole trained model a run wrote (LISA: <run>/model, a Hugging Face folder), when it has one. */
export function trainedModelDir(dir: string): string | undefined {
  const model = join(dir, 'model');
  return existsSync(join(model, 'config.json')) ? model : undefined;
}
