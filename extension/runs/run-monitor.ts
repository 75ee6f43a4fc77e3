// The Runs view: a TreeDataProvider over the run store. Items come from run-items.ts (pure); this file only turns
// them into TreeItems and refreshes when runs change (live events, run-folder file changes).
import * as vscode from 'vscode';
import { join, relative, sep } from 'node:path';
import type { Ctx } from '../ctx';
import { RUNS_VIEW_ID } from '../commands/ids';
import { runChildren, runItem, type RunItemData } from './run-items';

export class RunNode extends vscode.TreeItem {
  constructor(readonly data: RunItemData) {
    super(data.label, data.collapsible ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    this.id = `${data.kind}:${data.path}`;
    this.description = data.description;
    this.tooltip = data.tooltip;
    this.contextValue = data.contextValue;
    this.iconPath = new vscode.ThemeIcon(data.icon.id, data.icon.color ? new vscode.ThemeColor(data.icon.color) : undefined);
    this.resourceUri = data.kind === 'checkpoint' ? vscode.Uri.file(data.path) : undefined;
    // A click does the obvious thing: a run opens its dashboard, a checkpoint or adapter reveals its folder.
    this.command = data.kind === 'run'
      ? { command: 'loraStudio.openDashboard', title: 'Open Dashboard', arguments: [data.runDir] }
      : data.kind === 'info'
        ? { command: 'loraStudio.showLog', title: 'Show Log', arguments: [data.runDir] }
        : { command: 'revealInExplorer', title: 'Reveal', arguments: [vscode.Uri.file(data.path)] };
  }
}

class RunsProvider implements vscode.TreeDataProvider<RunNode> {
  private readonly emitter = new vscode.EventEmitter<RunNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly ctx: Ctx) {}

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    return node;
  }

  getChildren(node?: RunNode): RunNode[] {
    if (!node) return this.ctx.runs().map((run) => new RunNode(runItem(run)));
    if (node.data.kind !== 'run') return [];
    return runChildren(this.ctx.run(node.data.runDir)).map((child) => new RunNode(child));
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

/** Registers the Runs view and keeps it in step with the run folders. */
export function registerRunMonitor(ctx: Ctx): void {
  const provider = ctx.own(new RunsProvider(ctx));
  ctx.own(vscode.window.createTreeView(RUNS_VIEW_ID, { treeDataProvider: provider, showCollapseAll: true }));
  ctx.own(ctx.onDidChangeRuns(() => provider.refresh()));
  watchRunsFolder(ctx);
}

/** Runs started elsewhere (the CLI in a terminal, another window) show up through their files. */
function watchRunsFolder(ctx: Ctx): void {
  let watcher: vscode.FileSystemWatcher | undefined;
  const rewatch = () => {
    watcher?.dispose();
    watcher = undefined;
    const root = ctx.config.runsFolder;
    if (!root) return;
    watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(root), '*/{training_config.json,status.json,worker.json,adapter_config.json,checkpoints/latest}'),
    );
    // A changed file re-reads its run only; a created or deleted one may be a new or removed run: re-list.
    const runOf = (uri: vscode.Uri) => join(root, relative(root, uri.fsPath).split(sep)[0]);
    watcher.onDidCreate(() => ctx.changed());
    watcher.onDidChange((uri) => ctx.changed(runOf(uri)));
    watcher.onDidDelete(() => ctx.changed());
  };
  rewatch();
  ctx.own({ dispose: () => watcher?.dispose() });
  let lastRoot = ctx.config.runsFolder;
  ctx.own(ctx.onDidChangeRuns(() => {
    if (ctx.config.runsFolder !== lastRoot) {
      lastRoot = ctx.config.runsFolder;
      rewatch();
    }
  }));
}
