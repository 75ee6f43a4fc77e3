// Merge Adapter: pick base model and output folder, then run `lora-studio merge --json` as a child process with a
// cancellable progress notification; the merged folder is revealed when done. Merging never runs in the host.
import * as vscode from 'vscode';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { readRunConfig } from '../../native/train/run-dir';
import type { Ctx } from '../ctx';
import { pathFromArg, requireTrust } from './args';
import { mergeArgs, parseMergeLine, suggestedMergeOut } from './merge-lines';
import { CliCancelled, runCliJson } from './cli-child';
import { cancelReport } from './cancel-report';

function baseModelOf(adapterDir: string): string | undefined {
  const fromRun = readRunConfig(adapterDir)?.model;
  if (fromRun && existsSync(join(fromRun, 'config.json'))) return fromRun;
  try {
    const config = JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8')) as { base_model_name_or_path?: unknown };
    const base = config.base_model_name_or_path;
    if (typeof base !== 'string' || base === '') return undefined;
    const path = isAbsolute(base) ? base : join(adapterDir, base);
    return existsSync(join(path, 'config.json')) ? path : undefined; // a hub id is not a local folder: ask
  } catch {
    return undefined;
  }
}

export async function pickFolder(title: string, defaultUri?: vscode.Uri): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, title, openLabel: 'Select', defaultUri });
  return picked?.[0]?.fsPath;
}

/** The adapter's base model when its run or adapter_config.json names a local folder (confirmed), else a folder picked. */
export async function pickBaseModel(adapterDir: string, placeHolder = 'Merge into which base model?'): Promise<string | undefined> {
  const known = baseModelOf(adapterDir);
  if (known) {
    const choice = await vscode.window.showQuickPick(
      [{ label: `$(check) ${basename(known)}`, description: 'base model of this adapter', detail: known, path: known }, { label: '$(folder) Choose another model folder…', path: '' }],
      { placeHolder },
    );
    if (!choice) return undefined;
    if (choice.path) return choice.path;
  }
  return pickFolder('Base model folder (Hugging Face format: config.json + *.safetensors)');
}

async function pickOutput(adapterDir: string, modelDir: string, runsFolder: string | undefined): Promise<string | undefined> {
  const suggested = suggestedMergeOut(adapterDir, modelDir, runsFolder, (path) => existsSync(path) && readdirSync(path).length > 0);
  const out = await vscode.window.showInputBox({
    title: 'Merged model folder',
    prompt: 'A new or empty folder for the merged Hugging Face model',
    value: suggested,
    validateInput: (value) => {
      if (!isAbsolute(value)) return 'Give an absolute path';
      if (existsSync(value) && readdirSync(value).length > 0) return 'This folder is not empty — choose a new folder (nothing is overwritten)';
      return undefined;
    },
  });
  return out?.trim() || undefined;
}

async function runMerge(ctx: Ctx, request: { model: string; adapter: string; out: string }, progress: vscode.Progress<{ message?: string; increment?: number }>, token: vscode.CancellationToken): Promise<{ out: string; cancelled: boolean }> {
  ctx.log.appendLine(`merge: ${basename(request.adapter)} into ${request.model} → ${request.out}`);
  let reported = 0;
  let outcome: { out?: string; error?: string } = {};
  const { code, stderr, cancelled } = await runCliJson(ctx, mergeArgs(ctx.distPath('cli.js'), request), (line) => {
    const parsed = parseMergeLine(line);
    if (!parsed) {
      if (line.trim()) ctx.log.appendLine(`merge: ${line}`);
      return;
    }
    if (parsed.type === 'progress') {
      const percent = parsed.total > 0 ? (100 * parsed.done) / parsed.total : 0;
      progress.report({ increment: percent - reported, message: `${parsed.done}/${parsed.total} tensors${parsed.tensor ? ` · ${parsed.tensor}` : ''}` });
      reported = percent;
    } else if (parsed.type === 'done') outcome = { out: parsed.out };
    else outcome = { error: parsed.message };
  }, token);
  if (code === 0 && !outcome.error) return { out: outcome.out ?? request.out, cancelled };
  throw new Error(outcome.error ?? (stderr.trim() || `lora-studio merge exited with code ${code}`));
}

export const mergeAdapter = (ctx: Ctx) => async (arg?: unknown) => {
  if (!requireTrust('merge adapters')) return;
  const adapterDir = pathFromArg(arg, 'path') ?? (await pickFolder('Adapter folder (holds adapter_config.json)'));
  if (!adapterDir) return;
  if (!existsSync(join(adapterDir, 'adapter_config.json'))) {
    void vscode.window.showErrorMessage(`${adapterDir} has no adapter_config.json — choose a PEFT adapter folder (a finished run folder is one).`);
    return;
  }
  const model = await pickBaseModel(adapterDir);
  if (!model) return;
  const out = await pickOutput(adapterDir, model, ctx.config.runsFolder);
  if (!out) return;
  try {
    const { out: merged, cancelled } = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Merging ${basename(adapterDir)}`, cancellable: true },
      (progress, token) => {
        progress.report({ message: 'starting: reading the adapter and base model…' });
        return runMerge(ctx, { model, adapter: adapterDir, out }, progress, token);
      },
    );
    const uri = vscode.Uri.file(merged);
    if (vscode.workspace.getWorkspaceFolder(uri)) await vscode.commands.executeCommand('revealInExplorer', uri);
    // A cancel that came too late: the merge finished, and the message says so rather than "cancelled".
    const said = cancelled ? cancelReport('merge', merged, { code: 0, signal: null, killed: false }, true).message : `Merged model written to ${merged}`;
    const choice = await vscode.window.showInformationMessage(said, 'Reveal in OS');
    if (choice) await vscode.commands.executeCommand('revealFileInOS', uri);
  } catch (error) {
    if (error instanceof CliCancelled) {
      const holds = existsSync(out) && readdirSync(out).length > 0;
      const report = cancelReport('merge', out, error.end, holds, join(dirname(out), `.${basename(out)}.merging-*`));
      void (report.severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage)(report.message);
      return;
    }
    throw error;
  }
};
