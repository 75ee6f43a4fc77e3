// Command table: each id maps to a `(ctx) => handler` factory (rust-analyzer's CommandFactory pattern). The typed
// record makes the table exactly COMMAND_IDS; every handler's errors become one error notification.
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import { COMMAND_IDS, type CommandId } from './ids';
import { mergeAdapter } from './merge';
import { composeAdapters } from './compose';
import { compareMethods } from './compare-methods';
import { exportGguf } from './export-gguf';
import { deleteRun, openDashboardCommand, openRunFolder, refreshRuns, resumeRun, showLog, stopRun } from './runs';
import { compare, openDatasetPreview, startTraining } from './training';
import { unwatchExternalRun, watchExternalRun } from './external';

type Handler = (...args: unknown[]) => unknown;
export type CommandFactory = (ctx: Ctx) => Handler;

const FACTORIES: Record<CommandId, CommandFactory> = {
  'loraStudio.startTraining': startTraining,
  'loraStudio.stopRun': stopRun,
  'loraStudio.resumeRun': resumeRun,
  'loraStudio.deleteRun': deleteRun,
  'loraStudio.openRunFolder': openRunFolder,
  'loraStudio.showLog': showLog,
  'loraStudio.openDashboard': openDashboardCommand,
  'loraStudio.mergeAdapter': mergeAdapter,
  'loraStudio.composeAdapters': composeAdapters,
  'loraStudio.exportGguf': exportGguf,
  'loraStudio.compare': compare,
  'loraStudio.compareMethods': compareMethods,
  'loraStudio.refreshRuns': refreshRuns,
  'loraStudio.openDatasetPreview': openDatasetPreview,
  'loraStudio.watchExternalRun': watchExternalRun,
  'loraStudio.unwatchExternalRun': unwatchExternalRun,
};

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function registerCommands(ctx: Ctx): void {
  for (const id of COMMAND_IDS) {
    const handler = FACTORIES[id](ctx);
    ctx.own(vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await handler(...args);
      } catch (error) {
        ctx.log.appendLine(`${id}: ${errorText(error)}`);
        void vscode.window.showErrorMessage(`LoRA Studio: ${errorText(error)}`, 'Show Log').then((choice) => choice && ctx.log.show(true));
        return undefined;
      }
    }));
  }
}
