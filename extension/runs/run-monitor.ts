// The Runs view: a TreeDataProvider over the run store. Items come from run-items.ts (pure); this file only turns
// them into TreeItems and refreshes when runs change (live events, the run-folder poll).
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import { RUNS_VIEW_ID } from '../commands/ids';
import { runChildren, runItem, type RunItemData } from './run-items';
import type { RunsChange } from './run-changes';

export class RunNode extends vscode.TreeItem {
  data: RunItemData;

  constructor(data: RunItemData) {
    super(data.label);
    this.id = nodeId(data);
    this.data = data;
    this.update(data);
  }

  /** Takes new data for the same item (same id): VS Code keeps knowing the object, so its menus keep working. */
  update(data: RunItemData): void {
    this.data = data;
    this.label = data.label;
    this.collapsibleState = data.collapsible ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None;
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

const nodeId = (data: Pick<RunItemData, 'kind' | 'path'>) => `${data.kind}:${data.path}`;

class RunsProvider implements vscode.TreeDataProvider<RunNode> {
  private readonly emitter = new vscode.EventEmitter<RunNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  /** One object per item id, reused across refreshes (see run-changes.ts for why). */
  private readonly nodes = new Map<string, RunNode>();

  constructor(private readonly ctx: Ctx) {}

  /** Redraws the changed runs' rows (and their children), or the whole view when the list of runs changed. */
  refresh(change: RunsChange): void {
    const rows = change.all ? [] : change.runDirs.map((dir) => this.nodes.get(nodeId({ kind: 'run', path: dir })));
    if (change.all || rows.some((row) => row === undefined)) {
      this.nodes.clear();
      this.emitter.fire(undefined);
      return;
    }
    for (const row of rows as RunNode[]) {
      row.update(runItem(this.ctx.run(row.data.runDir)));
      this.emitter.fire(row);
    }
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    return node;
  }

  getChildren(node?: RunNode): RunNode[] {
    if (!node) return this.ctx.runs().map((run) => this.node(runItem(run)));
    if (node.data.kind !== 'run') return [];
    const children = runChildren(this.ctx.run(node.data.runDir)).map((child) => this.node(child));
    // Forget children that went (pruned checkpoints), so a long run does not pile up objects.
    for (const [id, cached] of this.nodes) {
      if (cached.data.kind !== 'run' && cached.data.runDir === node.data.runDir && !children.includes(cached)) this.nodes.delete(id);
    }
    return children;
  }

  private node(data: RunItemData): RunNode {
    const existing = this.nodes.get(nodeId(data));
    if (existing) {
      existing.update(data);
      return existing;
    }
    const created = new RunNode(data);
    this.nodes.set(nodeId(data), created);
    return created;
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

/** Registers the Runs view and keeps it in step with the run folders. */
export function registerRunMonitor(ctx: Ctx): void {
  const provider = ctx.own(new RunsProvider(ctx));
  ctx.own(vscode.window.createTreeView(RUNS_VIEW_ID, { treeDataProvider: provider, showCollapseAll: true, canSelectMany: true }));
  // Runs started elsewhere (the CLI in a terminal, another window) show up through the run-folder poll (ctx.ts).
  ctx.own(ctx.onDidChangeRuns((change) => provider.refresh(change)));
}
