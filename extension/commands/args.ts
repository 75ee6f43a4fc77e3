// Command arguments arrive from many places (Runs view items, explorer URIs, notifications, the palette):
// these helpers turn them into a run folder or a path, asking with a quick pick only when nothing was given.
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import type { RunSummary } from '../runs/run-store';
import { runDescription } from '../runs/run-items';

interface NodeLike {
  data: { runDir: string; path: string };
}

function isNodeLike(value: unknown): value is NodeLike {
  const data = (value as { data?: { runDir?: unknown; path?: unknown } } | null)?.data;
  return typeof data?.runDir === 'string' && typeof data.path === 'string';
}

/** A path from a string, a Uri or a Runs-view node (`which` picks the node's run folder or its own path). */
export function pathFromArg(arg: unknown, which: 'runDir' | 'path' = 'path'): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (isNodeLike(arg)) return arg.data[which];
  return undefined;
}

/** The run a command is about: the argument, or a pick among the runs that `filter` allows. */
export async function runFromArg(ctx: Ctx, arg: unknown, placeHolder: string, filter: (run: RunSummary) => boolean = () => true): Promise<string | undefined> {
  const given = pathFromArg(arg, 'runDir');
  if (given) return given;
  const runs = ctx.runs().filter(filter);
  if (runs.length === 0) {
    void vscode.window.showInformationMessage('LoRA Studio: no run fits — start one with "Start LoRA Training".');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    runs.map((run) => ({ label: run.id, description: runDescription(run), detail: run.dir, dir: run.dir })),
    { placeHolder },
  );
  return picked?.dir;
}

/** Long actions and untrusted workspaces: nothing trains, merges or runs templates in Restricted Mode. */
export function requireTrust(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(`LoRA Studio does not ${action} in Restricted Mode. Trust this workspace to continue.`, 'Manage Workspace Trust')
    .then((choice) => choice && vscode.commands.executeCommand('workbench.trust.manage'));
  return false;
}
