// The dashboard's `init`, rebuilt from the run folder alone (no vscode): config, status, metrics.jsonl, eval
// points, whether it can resume, and the sibling runs offered for the comparison overlay. A reloaded window
// therefore shows exactly what the files say; live events only extend it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { MetricRecord } from '../../native/protocol';
import { latestCheckpoint, readMetrics, readRunConfig, readRunStatus, readWorkerInfo, runPaths } from '../../native/train/run-dir';
import { WEBVIEW_PROTOCOL_VERSION, type DashboardHostMessage, type ModuleRanks, type RunRef, type RunStateName } from '../../webview/protocol';
import { interruptedMessage, pidAlive } from '../runs/run-store';
import { isExternalRun } from '../runs/external-run';
import { readNewestTrainerState, trainerAdapterDir } from '../../native/train/trainer-state';

type Init = Extract<DashboardHostMessage, { type: 'init' }>;

/** Whether the worker named in worker.json is alive (signal 0 checks without touching it). */
export function workerAlive(runDir: string): boolean {
  const info = readWorkerInfo(runDir);
  return info !== undefined && pidAlive(info.pid);
}

export function dashboardInit(runDir: string, live: boolean, history: RunRef[]): Init {
  if (isExternalRun(runDir)) return externalDashboardInit(runDir, history);
  const config = readRunConfig(runDir) ?? null;
  const status = readRunStatus(runDir);
  const metrics = readMetrics(runDir);
  const last = metrics[metrics.length - 1];
  let state: RunStateName = status?.state ?? (metrics.length > 0 ? 'stopped' : 'pending');
  // A status of running/pending without a live worker means the worker died (killed, crashed): say so, as the
  // Runs view does (failed), and offer Resume when a checkpoint exists.
  let message = status?.message;
  const checkpoint = latestCheckpoint(runDir);
  if ((state === 'running' || (state === 'pending' && status !== undefined)) && !live) {
    state = 'failed';
    message = interruptedMessage(Math.max(status?.step ?? 0, last?.step ?? 0), checkpoint?.step, message);
  }
  const ranks = finalRanks(runDir);
  return {
    type: 'init', protocol: WEBVIEW_PROTOCOL_VERSION, runDir, name: basename(runDir), config, state,
    step: Math.max(status?.step ?? 0, last?.step ?? 0), totalSteps: status?.total_steps ?? 0, message,
    metrics, evals: evalPoints(metrics), live,
    canResume: !live && checkpoint !== undefined && (state === 'stopped' || state === 'failed'),
    history, ...(ranks ? { ranks } : {}),
  };
}

/** A watched run trained elsewhere: its loss curve from trainer_state.json; no settings of ours, nothing to resume here. */
function externalDashboardInit(runDir: string, history: RunRef[]): Init {
  const state = readNewestTrainerState(runDir);
  const metrics = state?.metrics ?? [];
  const completed = state?.finished === true && trainerAdapterDir(runDir) === runDir;
  return {
    type: 'init', protocol: WEBVIEW_PROTOCOL_VERSION, runDir, name: basename(runDir), config: null, state: completed ? 'completed' : 'running',
    step: state?.globalStep ?? 0, totalSteps: state?.maxSteps ?? 0,
    message: state ? `external run, read from ${state.file}` : 'external run: no trainer_state.json yet',
    metrics, evals: evalPoints(metrics), live: false, canResume: false, history,
  };
}

/**
 * AdaLoRA's final rank per module from the run folder's adapter_config.json: PEFT's rank_pattern maps
 * `<module>.lora_E` to a kept flag per triplet of init_r (our writer's keys; PEFT's own may carry `base_model.model.`
 * and an adapter name, both dropped here). Undefined for other methods, before the adapter is written, and while no
 * reallocation has happened yet (rank_pattern null: every module is still at init_r).
 */
export function finalRanks(runDir: string): ModuleRanks | undefined {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(runPaths(runDir).adapterConfig, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined; // no adapter yet, or one being replaced
  }
  const pattern = config.rank_pattern;
  const initR = config.init_r;
  if (config.peft_type !== 'ADALORA' || typeof pattern !== 'object' || pattern === null || Array.isArray(pattern)) return undefined;
  if (typeof initR !== 'number' || !Number.isInteger(initR) || initR < 1) return undefined;
  const modules: ModuleRanks['modules'] = [];
  for (const [key, value] of Object.entries(pattern as Record<string, unknown>)) {
    const rank = Array.isArray(value) ? value.filter((k) => k === true || k === 1).length
      : typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
    if (rank === undefined) continue;
    const name = key.replace(/^base_model\.model\./, '').replace(/\.lora_E(\.[^.]+)?$/, '');
    modules.push({ name, rank: Math.min(rank, initR) });
  }
  if (modules.length === 0) return undefined;
  modules.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  const targetR = config.target_r;
  return { initR, ...(typeof targetR === 'number' && Number.isInteger(targetR) && targetR >= 0 ? { targetR } : {}), modules };
}

export function evalPoints(metrics: readonly MetricRecord[]): { step: number; eval_loss: number }[] {
  return metrics.filter((m) => typeof m.eval_loss === 'number').map((m) => ({ step: m.step, eval_loss: m.eval_loss as number }));
}

/** Other runs beside this one (same runs folder) that have metrics, newest first. */
export function siblingRuns(runDir: string, limit = 50): RunRef[] {
  const root = dirname(runDir);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => join(root, name))
    .filter((dir) => dir !== runDir && existsSync(runPaths(dir).metrics))
    .map((dir) => ({ dir, mtime: statSync(runPaths(dir).metrics).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime)
    .slice(0, limit)
    .map(({ dir }) => ({ runDir: dir, name: basename(dir) }));
}
