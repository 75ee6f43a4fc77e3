// Compose Adapters…: LoRAHub on a multi-selection of adapter folders (Explorer or Runs view; with fewer than two
// selected, a pick among the runs' adapters). Asks for the base model, the few-shot examples and the output folder,
// then runs `lora-studio compose --json` as a child process with a cancellable progress notification.
import * as vscode from 'vscode';
import { existsSync, readdirSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import type { Ctx } from '../ctx';
import { pathFromArg, requireTrust } from './args';
import { pickBaseModel } from './merge';
import { runCliJson } from './cli-child';
import { composeArgs, composeStepText, selectedPaths, suggestedComposeOut, type ComposeRequest } from './compose-args';
import { parseComposeLine, type ComposeEvent } from '../../native/train/compose-events';

const isAdapter = (dir: string) => existsSync(join(dir, 'adapter_config.json'));

/** The selected adapters, completed by a multi-pick among the runs' adapters (and folders chosen by hand). */
async function pickAdapters(ctx: Ctx, selected: string[]): Promise<string[] | undefined> {
  if (selected.length >= 2) return selected;
  const runs = ctx.runs().filter((run) => run.hasAdapter && !selected.includes(run.dir));
  const items: (vscode.QuickPickItem & { dir?: string })[] = [
    ...selected.map((dir) => ({ label: basename(dir), description: 'selected', detail: dir, dir, picked: true })),
    ...runs.map((run) => ({ label: run.id, description: run.config ? `r=${run.config.r} · ${basename(run.config.model)}` : undefined, detail: run.dir, dir: run.dir })),
    { label: '$(folder) Choose adapter folders…' },
  ];
  const picked = await vscode.window.showQuickPick(items, { canPickMany: true, placeHolder: 'Adapters to compose (two or more, same base model, target modules and r)' });
  if (!picked) return undefined;
  const dirs = picked.flatMap((item) => (item.dir ? [item.dir] : []));
  if (picked.some((item) => !item.dir)) {
    const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: true, title: 'Adapter folders (each holds adapter_config.json)', openLabel: 'Add' });
    for (const uri of chosen ?? []) if (!dirs.includes(uri.fsPath)) dirs.push(uri.fsPath);
  }
  return dirs;
}

async function pickData(): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: true, canSelectFolders: false, canSelectMany: false, filters: { 'JSON Lines': ['jsonl'] },
    title: 'Few-shot examples of the new task (.jsonl, a handful of records)', openLabel: 'Use these examples',
  });
  return picked?.[0]?.fsPath;
}

async function pickOutput(adapters: string[], data: string, runsFolder: string | undefined): Promise<string | undefined> {
  const nonEmpty = (path: string) => existsSync(path) && readdirSync(path).length > 0;
  const out = await vscode.window.showInputBox({
    title: 'Composed adapter folder',
    prompt: 'A new or empty folder for the composed PEFT adapter',
    value: suggestedComposeOut(adapters, data, runsFolder, nonEmpty),
    validateInput: (value) => (!isAbsolute(value) ? 'Give an absolute path' : nonEmpty(value) ? 'This folder is not empty — choose a new folder (nothing is overwritten)' : undefined),
  });
  return out?.trim() || undefined;
}

async function runCompose(ctx: Ctx, request: ComposeRequest, progress: vscode.Progress<{ message?: string; increment?: number }>, token: vscode.CancellationToken): Promise<Extract<ComposeEvent, { type: 'done' }>> {
  ctx.log.appendLine(`compose: ${request.adapters.map((a) => basename(a)).join(' + ')} on ${request.data} → ${request.out}`);
  let reported = 0;
  let done: Extract<ComposeEvent, { type: 'done' }> | undefined;
  let error: string | undefined;
  const { code, stderr } = await runCliJson(ctx, composeArgs(ctx.distPath('cli.js'), request), (line) => {
    const event = parseComposeLine(line);
    if (!event) {
      if (line.trim()) ctx.log.appendLine(`compose: ${line}`);
      return;
    }
    switch (event.type) {
      case 'status':
        ctx.log.appendLine(`compose: ${event.message}`);
        progress.report({ message: event.message });
        break;
      case 'step': {
        const percent = (100 * event.step) / event.total_steps;
        progress.report({ increment: percent - reported, message: composeStepText(event) });
        reported = percent;
        break;
      }
      case 'done':
        done = event;
        break;
      case 'error':
        error = event.message;
        break;
    }
  }, token);
  if (code === 0 && done && !error) return done;
  throw new Error(error ?? (stderr.trim() || `lora-studio compose exited with code ${code}`));
}

export const composeAdapters = (ctx: Ctx) => async (arg?: unknown, all?: unknown) => {
  if (!requireTrust('compose adapters')) return;
  const selected = selectedPaths(arg, all, (item) => pathFromArg(item, 'path'));
  const notAdapters = selected.filter((dir) => !isAdapter(dir));
  if (notAdapters.length > 0) {
    void vscode.window.showErrorMessage(`${notAdapters.join(', ')}: no adapter_config.json — select PEFT adapter folders (a finished run folder is one).`);
    return;
  }
  const adapters = await pickAdapters(ctx, selected);
  if (!adapters) return;
  if (adapters.length < 2) {
    void vscode.window.showWarningMessage('Compose needs two or more adapters: select them together (Ctrl/Cmd-click) or pick them from the list.');
    return;
  }
  const withComma = adapters.filter((dir) => dir.includes(','));
  if (withComma.length > 0) {
    // The CLI takes the adapters as one comma-separated --adapters value.
    void vscode.window.showErrorMessage(`${withComma.join(', ')}: a folder name with a comma cannot be passed to lora-studio compose — rename or link it.`);
    return;
  }
  const model = await pickBaseModel(adapters[0], 'Which base model were these adapters trained on?');
  if (!model) return;
  const data = await pickData();
  if (!data) return;
  const out = await pickOutput(adapters, data, ctx.config.runsFolder);
  if (!out) return;
  try {
    const done = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Composing ${adapters.length} adapters (LoRAHub)`, cancellable: true },
      (progress, token) => {
        progress.report({ message: 'starting: reading the adapters and the base model…' });
        return runCompose(ctx, { model, adapters, data, out }, progress, token);
      },
    );
    const weights = done.weights.map((w, i) => `${basename(adapters[i])} ${w.toFixed(2)}`).join(', ');
    const uri = vscode.Uri.file(done.out);
    if (vscode.workspace.getWorkspaceFolder(uri)) await vscode.commands.executeCommand('revealInExplorer', uri);
    const choice = await vscode.window.showInformationMessage(
      `Composed adapter written to ${done.out}: ${weights}; few-shot loss ${done.loss.toFixed(4)} (uniform weights ${done.uniform_loss.toFixed(4)}).`,
      'Open README',
    );
    if (choice) await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(join(done.out, 'README.md')));
  } catch (error) {
    if (error instanceof vscode.CancellationError) {
      void vscode.window.showInformationMessage('Compose cancelled; no output folder was written.');
      return;
    }
    throw error;
  }
};
