// Dataset Preview: a read-only custom editor for *.jsonl (viewType loraStudio.datasetPreview). This file is the
// VS Code shell: webview HTML with a strict CSP, message routing, file watching, "Model…" and jumps to lines;
// the work (index, rows, search, statistics, training text) lives in preview-session.ts, without VS Code.
import * as vscode from 'vscode';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { webviewHtml } from '../panels/webview-html';
import { isWebviewMessage, type HostMessage, type WebviewMessage } from '../../webview/dataset-preview/protocol';
import { PreviewSession, type RenderSegments } from './preview-session';
import type { TemplatePool } from '../../native/data/template-pool';
import { loadPreviewModel, NO_MODEL, renderer } from './preview-model';

export const DATASET_PREVIEW_VIEW_TYPE = 'loraStudio.datasetPreview';

const RENDER_MISSING = '';

export function registerDatasetPreview(context: vscode.ExtensionContext): vscode.Disposable {
  return vscode.window.registerCustomEditorProvider(DATASET_PREVIEW_VIEW_TYPE, new DatasetPreviewProvider(context.extensionUri), {
    // The view's state lives in the host and is replayed on `ready`, so a hidden webview may be discarded.
    webviewOptions: { retainContextWhenHidden: false },
    supportsMultipleEditorsPerDocument: true,
  });
}

class DatasetPreviewProvider implements vscode.CustomReadonlyEditorProvider {
  constructor(private readonly extensionUri: vscode.Uri) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  async resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    const uri = document.uri;
    const webview = panel.webview;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
    webview.html = previewHtml(webview, this.extensionUri);
    if (uri.scheme !== 'file') {
      // Line offsets are read with fs: remote and virtual files are out of reach for now.
      void webview.postMessage({ type: 'error', message: `Dataset Preview reads local files only (this one is ${uri.scheme}:). Open it with the text editor.` } satisfies HostMessage);
      return;
    }
    const pools = new Map<string, TemplatePool>();
    const session = new PreviewSession({
      path: uri.fsPath,
      fileName: basename(uri.fsPath),
      post: (message) => void webview.postMessage(message),
      render: renderer(pools),
      trusted: () => vscode.workspace.isTrusted,
      renderUnavailable: RENDER_MISSING,
      noModelReason: NO_MODEL,
    });
    const disposables: vscode.Disposable[] = [];
    let opened = false;
    disposables.push(
      webview.onDidReceiveMessage((message: unknown) => {
        if (!isWebviewMessage(message)) return; // Malformed messages are dropped, never trusted.
        void this.route(message, uri, session, () => {
          if (opened) return;
          opened = true;
          void session.open();
        }).catch((error: unknown) => void webview.postMessage({ type: 'error', message: String((error as Error)?.message ?? error) } satisfies HostMessage));
      }),
    );
    // Re-index when the file changes on disk (debounced: writers often touch a file several times).
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.joinPath(uri, '..'), basename(uri.fsPath)));
    let timer: NodeJS.Timeout | undefined;
    const reindex = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => opened && void session.open(), 500);
    };
    disposables.push(watcher, watcher.onDidChange(reindex), watcher.onDidCreate(reindex));
    // Restricted Mode showed records without their chat rendering; once trusted, render them.
    disposables.push(vscode.workspace.onDidGrantWorkspaceTrust(() => void session.trustGranted()));
    panel.onDidDispose(() => {
      clearTimeout(timer);
      session.dispose();
      for (const pool of pools.values()) void pool.dispose();
      for (const d of disposables) d.dispose();
    });
  }

  private async route(message: WebviewMessage, uri: vscode.Uri, session: PreviewSession, openOnce: () => void): Promise<void> {
    switch (message.type) {
      case 'ready': {
        const bytes = await stat(uri.fsPath).then((s) => s.size, () => 0);
        session.greet(bytes);
        openOnce();
        return;
      }
      case 'openLine': {
        const options: vscode.TextDocumentShowOptions = { preview: false };
        if (message.line >= 1) options.selection = new vscode.Range(message.line - 1, 0, message.line - 1, 0);
        await vscode.window.showTextDocument(uri, options);
        return;
      }
      case 'pickModel': {
        const picked = await vscode.window.showOpenDialog({
          canSelectFolders: true, canSelectFiles: false, canSelectMany: false,
          openLabel: 'Use this model', title: 'Hugging Face model folder (for its chat template and tokenizer)',
        });
        if (!picked?.[0]) return;
        try {
          await session.setModel(await loadPreviewModel(picked[0].fsPath));
        } catch (error) {
          void vscode.window.showErrorMessage((error as Error).message);
        }
        return;
      }
      default:
        return session.handle(message);
    }
  }
}

/** The webview page: the shared panel shell (strict CSP, nonce-only script and styles, codicons). */
function previewHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewHtml(webview, extensionUri, { entry: 'dataset-preview', title: 'Dataset Preview', css: [] });
}
