// Host side of a run's dashboard: one panel per run folder. On every `ready` (first open, reload, re-shown
// webview) it sends the state rebuilt from the run folder, then the run's live WorkerEvents; dashboard-sync.ts decides
// when the files' state is sent again so the webview always ends up showing what the files say.
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { readMetrics, runPaths } from '../../native/train/run-dir';
import { dashboardRunDir, isDashboardWebviewMessage, type DashboardHostMessage, type DashboardWebviewMessage } from '../../webview/protocol';
import { siblingRuns, workerAlive } from './dashboard-data';
import { DashboardSync } from './dashboard-sync';
import type { PanelContext } from './panel-context';
import { webviewHtml, webviewOptions } from './webview-html';

const panels = new Map<string, DashboardPanel>();
/** The panel's view type; activation on `onWebviewPanel:loraStudio.dashboard` (package.json) lets it be restored. */
export const DASHBOARD_VIEW_TYPE = 'loraStudio.dashboard';

/** Opens (or reveals) the dashboard of a run folder. */
export function openDashboard(ctx: PanelContext, runDir: string): void {
  const existing = panels.get(runDir);
  if (existing) {
    existing.reveal();
    return;
  }
  panels.set(runDir, new DashboardPanel(ctx, runDir));
}

/**
 * Brings open dashboards back after a window reload: VS Code restores the panel with the state the webview saved
 * (its run folder), and the host rebuilds everything else from that folder. A folder deleted meanwhile closes it.
 */
export function registerDashboardSerializer(ctx: PanelContext): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
    async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
      const runDir = dashboardRunDir(state);
      if (!runDir || !existsSync(runDir) || panels.has(runDir)) {
        panel.dispose();
        return;
      }
      panels.set(runDir, new DashboardPanel(ctx, runDir, panel));
    },
  });
}

class DashboardPanel {
  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly sync: DashboardSync;

  constructor(private readonly ctx: PanelContext, private readonly runDir: string, restored?: vscode.WebviewPanel) {
    this.panel = restored ?? vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, `Run ${basename(runDir)}`, vscode.ViewColumn.Active,
      { ...webviewOptions(ctx.extensionUri), retainContextWhenHidden: false });
    // A restored panel keeps its old options; set them again so localResourceRoots match this install.
    if (restored) restored.webview.options = webviewOptions(ctx.extensionUri);
    this.panel.webview.html = webviewHtml(this.panel.webview, ctx.extensionUri, {
      entry: 'dashboard', title: `Run ${basename(runDir)}`, css: ['common.css', 'dashboard.css'], distCss: ['uPlot.min.css'],
    });
    this.sync = new DashboardSync(runDir, { post: (message) => this.post(message), live: () => this.live(), run: ctx.run && (() => ctx.run!(runDir)) });
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((message: unknown) => {
        if (!isDashboardWebviewMessage(message)) return;
        this.route(message).catch((error: unknown) => void vscode.window.showErrorMessage(error instanceof Error ? error.message : String(error)));
      }),
      this.panel.onDidDispose(() => this.dispose()),
      ctx.onRunEvent(runDir, (event) => this.sync.event(event)),
      { dispose: () => this.sync.dispose() },
    );
    if (ctx.onDidChangeRuns) {
      this.disposables.push(ctx.onDidChangeRuns((change) => {
        if (change.all || change.runDirs.includes(runDir)) this.sync.filesChanged();
      }));
    }
  }

  reveal(): void {
    this.panel.reveal();
  }

  dispose(): void {
    panels.delete(this.runDir);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }

  private post(message: DashboardHostMessage): void {
    void this.panel.webview.postMessage(message);
  }

  private live(): boolean {
    return this.ctx.isRunLive?.(this.runDir) ?? workerAlive(this.runDir);
  }

  private async route(message: DashboardWebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.sync.sendInit();
        return;
      case 'stop':
        await this.ctx.stopRun(this.runDir);
        return;
      case 'resume':
        if (!vscode.workspace.isTrusted) throw new Error('training is disabled in an untrusted workspace — trust this folder to resume');
        await this.ctx.resumeRun(this.runDir);
        this.sync.sendInit();
        return;
      case 'openFolder':
        await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(this.runDir));
        return;
      case 'showLog': {
        const log = runPaths(this.runDir).log;
        if (existsSync(log)) await vscode.window.showTextDocument(vscode.Uri.file(log), { preview: true });
        else this.ctx.log.show?.(true);
        return;
      }
      case 'overlay': {
        // Only runs the view offered: the webview cannot make the host read arbitrary paths.
        const run = siblingRuns(this.runDir).find((r) => r.runDir === message.runDir);
        if (run) this.post({ type: 'overlay', run, metrics: readMetrics(run.runDir) });
        return;
      }
    }
  }
}
