// Run commands: stop, resume, delete, open folder, show log, open dashboard, refresh.
import * as vscode from 'vscode';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { runPaths } from '../../native/train/run-dir';
import type { Ctx } from '../ctx';
import { openDashboard } from '../panels/dashboard-panel';
import { openTrainingPanel } from '../panels/training-panel';
import { requireTrust, runFromArg } from './args';
import { canDelete, canStop } from '../runs/run-items';

/** The log's last `maxBytes` (a long run's log can be large; the start of it is rarely what is wanted). */
function readTail(path: string, maxBytes = 256 * 1024): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return (length < size ? '…\n' : '') + buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export const stopRun = (ctx: Ctx) => async (arg?: unknown) => {
  const runDir = await runFromArg(ctx, arg, 'Stop which run?', canStop);
  if (!runDir) return;
  if (ctx.run(runDir).external) {
    void vscode.window.showWarningMessage(`${basename(runDir)} is a watched external run: it trains elsewhere, so it is stopped there.`);
    return;
  }
  await vscode.window.withProgress(
    // What the stop kept is said when it is done (ctx.stopRun): a run stopped before its first step saves nothing.
    { location: vscode.ProgressLocation.Notification, title: `Stopping ${basename(runDir)} (steps not yet checkpointed are saved first)…` },
    () => ctx.stopRun(runDir),
  );
};

export const resumeRun = (ctx: Ctx) => async (arg?: unknown) => {
  if (!requireTrust('train')) return;
  const runDir = await runFromArg(ctx, arg, 'Resume which run?', (run) => (run.state === 'stopped' || run.state === 'failed') && run.checkpoints.length > 0);
  if (!runDir) return;
  // The panel shows the run's config read-only with the checkpoint it resumes from; Start there resumes.
  openTrainingPanel(ctx, { resumeRunDir: runDir });
};

export const deleteRun = (ctx: Ctx) => async (arg?: unknown) => {
  const runDir = await runFromArg(ctx, arg, 'Delete which run?', canDelete);
  if (!runDir) return;
  if (ctx.run(runDir).external) {
    void vscode.window.showWarningMessage(`${basename(runDir)} is a watched external run: its files are never deleted from here — use Stop Watching to remove it from the Runs view.`);
    return;
  }
  if (ctx.isRunLive(runDir)) {
    void vscode.window.showWarningMessage(`${basename(runDir)} is still training — stop it first.`);
    return;
  }
  const choice = await vscode.window.showWarningMessage(
    `Delete the run ${basename(runDir)}?`,
    { modal: true, detail: `${runDir}\nIts checkpoints, metrics and adapter are moved to the trash.` },
    'Delete',
  );
  if (choice !== 'Delete') return;
  const uri = vscode.Uri.file(runDir);
  try {
    await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: true });
  } catch (error) {
    // Some file systems have no trash: ask again before deleting for good.
    const again = await vscode.window.showWarningMessage(
      `The trash is not available here (${error instanceof Error ? error.message : String(error)}). Delete ${basename(runDir)} permanently?`,
      { modal: true }, 'Delete Permanently');
    if (again !== 'Delete Permanently') return;
    await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: false });
  }
  ctx.changed();
};

export const openRunFolder = (ctx: Ctx) => async (arg?: unknown) => {
  const runDir = await runFromArg(ctx, arg, 'Open the folder of which run?');
  if (!runDir) return;
  const uri = vscode.Uri.file(runDir);
  const inWorkspace = vscode.workspace.getWorkspaceFolder(uri) !== undefined;
  await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', uri);
};

export const showLog = (ctx: Ctx) => async (arg?: unknown) => {
  const runDir = arg === undefined && ctx.runs().length === 0 ? undefined : await runFromArg(ctx, arg, 'Show the log of which run?');
  if (runDir) {
    const log = runPaths(runDir).log;
    ctx.log.appendLine(`──── ${basename(runDir)}: ${log} ────`);
    ctx.log.appendLine(existsSync(log) ? readTail(log).trimEnd() : '(no train.log yet: the worker has not started)');
    ctx.log.appendLine(`──── end of ${basename(runDir)} log${ctx.isRunLive(runDir) ? '; live events follow' : ''} ────`);
  }
  ctx.log.show(true);
};

export const openDashboardCommand = (ctx: Ctx) => async (arg?: unknown) => {
  const runDir = await runFromArg(ctx, arg, 'Open the dashboard of which run?');
  if (runDir) openDashboard(ctx, runDir);
};

export const refreshRuns = (ctx: Ctx) => async () => {
  await ctx.reattachAll();
  ctx.changed();
};
