// Watch External Run… / Stop Watching: a folder where a Hugging Face Trainer writes (a cluster run's output_dir,
// synced or mounted) joins the Runs view, with its loss curve and checkpoints as they appear (external-run.ts); the
// list is kept per workspace. Stop Watching only forgets the folder: files trained elsewhere are never deleted here.
import * as vscode from 'vscode';
import { basename } from 'node:path';
import type { Ctx } from '../ctx';
import { externalRunProblem } from '../runs/external-run';
import { pathFromArg } from './args';

export const watchExternalRun = (ctx: Ctx) => async (arg?: unknown) => {
  const dir = pathFromArg(arg) ?? (await vscode.window.showOpenDialog({
    canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Watch',
    title: 'Output folder of a Hugging Face Trainer run (holds checkpoint-N/ and trainer_state.json)',
  }))?.[0]?.fsPath;
  if (!dir) return;
  const problem = externalRunProblem(dir);
  if (problem) {
    void vscode.window.showErrorMessage(`LoRA Studio: ${problem}`);
    return;
  }
  await ctx.setExternalRun(dir, true);
  ctx.log.appendLine(`watching external run ${dir}`);
  void vscode.window.showInformationMessage(`Watching ${basename(dir)}: its loss curve and checkpoints appear in the Runs view as the Trainer writes them.`);
};

export const unwatchExternalRun = (ctx: Ctx) => async (arg?: unknown) => {
  const dir = pathFromArg(arg, 'runDir') ?? (await vscode.window.showQuickPick(ctx.externalRuns().map((d) => ({ label: basename(d), detail: d })), { placeHolder: 'Stop watching which external run?' }))?.detail;
  if (!dir) return;
  await ctx.setExternalRun(dir, false);
  ctx.log.appendLine(`stopped watching external run ${dir} (its files are untouched)`);
};
