// The HTML shell of every LoRA Studio webview panel: a strict Content-Security-Policy with a fresh crypto nonce,
// scripts and styles only from the extension's dist/webview and media/webview folders (asWebviewUri), nothing remote.
import * as vscode from 'vscode';
import { buildWebviewHtml, webviewNonce } from './webview-html-text';

/** Options for a panel whose resources live in dist/webview (bundles, codicons, uPlot CSS) and media/webview (CSS). */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media', 'webview')],
  };
}

/**
 * Page for the bundle dist/webview/<entry>.js with the stylesheets media/webview/<css> (plus codicons and, for
 * charts, uPlot's CSS copied by esbuild.mjs).
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: { entry: string; title: string; css: string[]; distCss?: string[] }): string {
  const dist = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', name)).toString();
  const media = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'webview', name)).toString();
  return buildWebviewHtml({
    nonce: webviewNonce(),
    cspSource: webview.cspSource,
    title: page.title,
    script: dist(`${page.entry}.js`),
    styles: [dist('codicon.css'), ...(page.distCss ?? []).map(dist), ...page.css.map(media)],
  });
}
