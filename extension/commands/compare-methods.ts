// Compare Methods…: from the palette or the training panel (its model, data and eval data), asks for the methods
// (multi-pick: the engine's and the LoRA variants) and the steps, opens the Compare Methods view and runs
// `lora-studio compare-methods --json` as a child process under a cancellable progress notification (the view's
// Cancel does the same: the running method stops cleanly, the ones after it do not start).
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import { requireTrust } from './args';
import { runCliJson, CliCancelled } from './cli-child';
import { engineMethods } from '../../native/cli/method-choices';
import { comparisonId, knownCompareMethods } from '../../native/train/compare-methods';
import { askComparison, compareMethodsArgs, comparisonOut, stepsProblem, type CompareMethodsStart, type CompareMethodsUi } from '../panels/compare-methods-session';
import { CompareMethodsPanel } from '../panels/compare-methods-panel';

/** The training panel's values, when the command comes from it (anything else: ask). */
function startFromArg(arg: unknown): CompareMethodsStart {
  if (typeof arg !== 'object' || arg === null) return {};
  const a = arg as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return { model: str(a.model), data: str(a.data), evalData: str(a.evalData), seqLen: typeof a.seqLen === 'number' && Number.isInteger(a.seqLen) && a.seqLen >= 2 ? a.seqLen : undefined,
    allowLongContext: a.allowLongContext === true };
}

const ui: CompareMethodsUi = {
  async model() {
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, title: 'Model folder to compare the methods on (config.json + *.safetensors)', openLabel: 'Use this model' });
    return picked?.[0]?.fsPath;
  },
  async data() {
    const picked = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectFolders: false, canSelectMany: false, filters: { 'JSON Lines': ['jsonl'] }, title: 'Training data (.jsonl)', openLabel: 'Train on this' });
    return picked?.[0]?.fsPath;
  },
  async methods(choices) {
    const picked = await vscode.window.showQuickPick(choices.map((c) => ({ label: c.label, description: c.method, picked: c.picked, method: c.method })), {
      canPickMany: true, placeHolder: 'Methods to compare (each trains for the same steps on the same data and seed, one after the other)',
    });
    return picked?.map((p) => p.method);
  },
  async steps(suggested) {
    const text = await vscode.window.showInputBox({ title: 'Steps per method', value: String(suggested), validateInput: stepsProblem });
    return text === undefined ? undefined : Number(text.trim());
  },
};

export const compareMethods = (ctx: Ctx) => async (arg?: unknown) => {
  if (!requireTrust('compare methods')) return;
  const runsFolder = ctx.config.runsFolder;
  if (!runsFolder) {
    void vscode.window.showErrorMessage('Compare Methods keeps its runs beside the runs folder: open a workspace folder first.');
    return;
  }
  const request = await askComparison(startFromArg(arg), knownCompareMethods(engineMethods()), ui, (model) => comparisonOut(runsFolder, comparisonId(model)));
  if (!request) return;
  const source = new vscode.CancellationTokenSource();
  const panel = new CompareMethodsPanel(ctx, request, () => source.cancel());
  const total = request.methods.length * request.steps;
  let done = 0;
  try {
    const { code, stderr } = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Comparing ${request.methods.length} methods`, cancellable: true },
      (progress, token) => {
        const link = token.onCancellationRequested(() => source.cancel());
        return runCliJson(ctx, compareMethodsArgs(ctx.distPath('cli.js'), request), (line) => {
          const event = panel.session.line(line);
          if (event?.type === 'method') progress.report({ message: `${event.index + 1}/${event.count} ${event.label}` });
          else if (event?.type === 'progress') {
            const now = request.steps * request.methods.indexOf(event.method) + event.step;
            progress.report({ increment: (100 * (now - done)) / total, message: `${event.method}: step ${event.step}/${event.total_steps} · loss ${event.loss.toFixed(4)}` });
            done = now;
          } else if (line.trim() && !event) ctx.log.appendLine(`compare-methods: ${line}`);
        }, source.token).finally(() => link.dispose());
      },
    );
    if (code === 0) panel.session.ended('completed', `All ${request.methods.length} methods ran; their runs are in ${request.out}.`);
    else panel.session.ended('failed', stderr.trim().split('\n').at(-1) || `lora-studio compare-methods exited with code ${code}`);
  } catch (error) {
    if (error instanceof CliCancelled) {
      panel.session.ended('stopped', 'Cancelled: the running method was stopped (its run keeps its checkpoint); the methods after it did not run.');
      return;
    }
    panel.session.ended('failed', error instanceof Error ? error.message : String(error));
    throw error;
  } finally {
    source.dispose();
  }
};
