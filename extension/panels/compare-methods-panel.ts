// The Compare Methods view: a webview (webview/compare-methods/) showing one comparison — the table of the methods as
// their runs finish and each method's loss curve overlaid in one chart. The session (compare-methods-session.ts)
// decides what it is sent; this file only connects it to a VS Code webview panel. Closing the view cancels nothing:
// the comparison's progress notification keeps its Cancel.
import * as vscode from 'vscode';
import { isCompareMethodsWebviewMessage, type CompareMethodsHostMessage } from '../../webview/protocol';
import { openDashboard } from './dashboard-panel';
import type { PanelContext } from './panel-context';
import { webviewHtml, webviewOptions } from './webview-html';
import { CompareMethodsSession, type CompareMethodsRequest } from './compare-methods-session';

export class CompareMethodsPanel {
  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  readonly session: CompareMethodsSession;

  constructor(ctx: PanelContext, request: CompareMethodsRequest, cancel: () => void) {
    const title = `Compare Methods: ${request.methods.length} methods, ${request.steps} steps`;
    this.panel = vscode.window.createWebviewPanel('loraStudio.compareMethods', title, vscode.ViewColumn.Active, webviewOptions(ctx.extensionUri));
    this.panel.webview.html = webviewHtml(this.panel.webview, ctx.extensionUri, {
      entry: 'compare-methods', title, css: ['common.css', 'dashboard.css', 'compare-methods.css'], distCss: ['uPlot.min.css'],
    });
    let visible = true;
    const post = (message: CompareMethodsHostMessage) => {
      if (visible) void this.panel.webview.postMessage(message);
    };
    this.session = new CompareMethodsSession(request, post);
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((message: unknown) => {
        if (!isCompareMethodsWebviewMessage(message)) return;
        this.session.receive(message, { cancel, openRun: (runDir) => openDashboard(ctx, runDir) });
      }),
      this.panel.onDidDispose(() => {
        visible = false;
        for (const d of this.disposables.splice(0)) d.dispose();
      }),
    );
  }
}
