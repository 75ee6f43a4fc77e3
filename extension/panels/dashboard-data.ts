// The dashboard's `init`, rebuilt from the run folder alone (no vscode): config, status, metrics.jsonl, eval
// points, whether it can resume, and the sibling runs offered for the comparison overlay. A reloaded window
// therefore shows exactly what the files say; live events only extend it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { MetricRecord } from '../../native/protocol';
import { latestCheckpoint, readMetrics, readRunConfig, readRunStatus, readWorkerInfo, runPaths } from '../../native/train/run-dir';
import { WEBVIEW_PROTOCOL_VERSION, type DashboardHostMessage, type RunRef, type RunStateName } from '../../webview/protocol';

type Init = Extract<DashboardHostMessage, { type: 'init' }>;

/** Whether the worker named in worker.json is alive (signal 0 checks without touching it). */
export function workerAlive(runDir: string): boolean {
  const info = readWorkerInfo(runDir);
  if (!info) return false;
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function dashboardInit(runDir: string, live: boolean, history: RunRef[]): Init {
  const config = readRunConfig(runDir) ?? null;
  const status = readRunStatus(runDir);
  const metrics = readMetrics(runDir);
  const last = metrics[metrics.length - 1];
  let state: RunStateName = status?.state ?? (metrics.length > 0 ? 'stopped' : 'pending');
  // A status of running/pending without a live worker means the worker died (killed, crashed): say so, as the
  // Runs view does (failed), and offer Resume when a checkpoint exists.
  let message = status?.message;
  if ((state === 'running' || (state === 'pending' && status !== undefined)) && !live) {
    state = 'failed';
    message = `the worker exited unexpectedly (last step ${last?.step ?? 0}); resume from the latest checkpoint or see the log`;
  }
  const checkpoint = latestCheckpoint(runDir);
  return {
    type: 'init', protocol: WEBVIEW_PROTOCOL_VERSION, runDir, name: basename(runDir), config, state,
    step: Math.max(status?.step ?? 0, last?.step ?? 0), totalSteps: status?.total_steps ?? 0, message,
    metrics, evals: evalPoints(metrics), live,
    canResume: !live && checkpoint !== undefined && (state === 'stopped' || state === 'failed'),
    history,
  };
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
