// Extension entry point: builds the context and registers everything; nothing else lives here.
import type * as vscode from 'vscode';
import { registerAdapterFolders } from './adapter-folders';
import { registerCommands } from './commands/index';
import { Ctx } from './ctx';
import { registerDatasetDiagnostics } from './datasets/diagnostics';
import { registerDatasetPreview } from './datasets/preview-editor';
import { registerDashboardSerializer } from './panels/dashboard-panel';
import { registerRunMonitor } from './runs/run-monitor';
import { registerStatusBar } from './runs/status-bar';

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): void {
  ctx = new Ctx(context);
  context.subscriptions.push(ctx);
  registerCommands(ctx);
  registerRunMonitor(ctx);
  registerStatusBar(ctx);
  registerAdapterFolders(ctx);
  ctx.own(registerDatasetPreview(context));
  ctx.own(registerDatasetDiagnostics(context));
  ctx.own(registerDashboardSerializer(ctx));
  // Workers outlive windows: find the running ones and follow them again.
  void ctx.reattachAll();
}

export function deactivate(): void {
  ctx?.dispose(); // closes sockets only; detached workers keep training
  ctx = undefined;
}
