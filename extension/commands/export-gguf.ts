// Export to GGUF…: a run (or any PEFT adapter folder) as a GGUF LoRA, a merged GGUF model or an Ollama folder, by
// running `lora-studio export --json` as a child process under a cancellable notification (like Merge: the work
// never runs in the extension host). The result's notes (how to use it) go to the log; the output is revealed.
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Ctx } from '../ctx';
import { pathFromArg, requireTrust } from './args';
import { pickBaseModel, pickFolder } from './merge';
import { runCliJson } from './cli-child';
import { exportArgs, GGUF_EXPORT_CHOICES, parseExportLine, suggestedExportPath, type GgufExportChoice } from './export-gguf-args';

async function pickOutput(runDir: string, modelDir: string, choice: GgufExportChoice): Promise<string | undefined> {
  const suggested = suggestedExportPath(runDir, modelDir, choice);
  if (choice.output === 'file') {
    const uri = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(suggested), filters: { GGUF: ['gguf'] }, title: `Save ${choice.label}` });
    return uri?.fsPath;
  }
  const out = await vscode.window.showInputBox({ title: 'Ollama folder', prompt: 'A folder for the Modelfile and the GGUF files (replaced if it exists)', value: suggested });
  return out?.trim() || undefined;
}

export const exportGguf = (ctx: Ctx) => async (arg?: unknown) => {
  if (!requireTrust('export runs')) return;
  const runDir = pathFromArg(arg, 'path') ?? (await pickFolder('Run or adapter folder (holds adapter_config.json)'));
  if (!runDir) return;
  if (!existsSync(join(runDir, 'adapter_config.json'))) {
    void vscode.window.showErrorMessage(`${runDir} has no adapter_config.json — choose a finished run or a PEFT adapter folder.`);
    return;
  }
  const choice = await vscode.window.showQuickPick(GGUF_EXPORT_CHOICES.map((c) => ({ ...c, choice: c })), { placeHolder: `Export ${basename(runDir)} as…` });
  if (!choice) return;
  const model = await pickBaseModel(runDir, 'Export on which base model?');
  if (!model) return;
  const out = await pickOutput(runDir, model, choice.choice);
  if (!out) return;
  ctx.log.appendLine(`export: ${basename(runDir)} as ${choice.label} → ${out}`);
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Exporting ${basename(runDir)} (${choice.label})`, cancellable: true },
      async (_progress, token) => {
        let outcome: { out?: string; notes?: string[]; error?: string } = {};
        const { code, stderr } = await runCliJson(ctx, exportArgs(ctx.distPath('cli.js'), { run: runDir, model, out, choice: choice.choice }), (line) => {
          const parsed = parseExportLine(line);
          if (!parsed) {
            if (line.trim()) ctx.log.appendLine(`export: ${line}`);
          } else if (parsed.type === 'done') outcome = { out: parsed.out, notes: parsed.notes };
          else outcome = { error: parsed.message };
        }, token);
        if (code === 0 && !outcome.error) return { out: outcome.out ?? out, notes: outcome.notes ?? [] };
        throw new Error(outcome.error ?? (stderr.trim() || `lora-studio export exited with code ${code}`));
      },
    );
    for (const note of result.notes) ctx.log.appendLine(`export: ${note}`);
    const choiceMade = await vscode.window.showInformationMessage(`Exported to ${result.out}`, 'Reveal in OS', 'How to Use It');
    if (choiceMade === 'Reveal in OS') await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(result.out));
    else if (choiceMade === 'How to Use It') ctx.log.show(true);
  } catch (error) {
    if (error instanceof vscode.CancellationError) {
      void vscode.window.showInformationMessage('Export cancelled; nothing was written.');
      return;
    }
    throw error;
  }
};
