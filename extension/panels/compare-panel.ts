// Host side of "Compare Base and Adapter": for a prompt it runs `lora-studio generate --json` twice as child
// processes — base model, then base + adapter, one after the other so they never compete for memory — and streams
// both into the view. While a training run holds the device the request waits (queued), it is not refused.
import * as vscode from 'vscode';
import { isCompareWebviewMessage, WEBVIEW_PROTOCOL_VERSION, type CompareHostMessage, type CompareSide, type CompareWebviewMessage } from '../../webview/protocol';
import { generateArgs, runGenerate } from './compare-runner';
import { adapterRunQuantization } from '../../native/train/run-dir';
import type { PanelContext } from './panel-context';
import { webviewHtml, webviewOptions } from './webview-html';

let current: ComparePanel | undefined;

/** Opens (or reveals) the compare view, pre-filling the adapter and/or base model folders. */
export function openCompare(ctx: PanelContext, opts: { adapterDir?: string; modelDir?: string } = {}): void {
  if (current) {
    current.reveal(opts);
    return;
  }
  current = new ComparePanel(ctx, opts);
}

class ComparePanel {
  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private running: AbortController | undefined;

  constructor(private readonly ctx: PanelContext, private opts: { adapterDir?: string; modelDir?: string }) {
    this.panel = vscode.window.createWebviewPanel('loraStudio.compare', 'Compare Base and Adapter', vscode.ViewColumn.Active, webviewOptions(ctx.extensionUri));
    this.panel.webview.html = webviewHtml(this.panel.webview, ctx.extensionUri, { entry: 'compare', title: 'Compare Base and Adapter', css: ['common.css', 'compare.css'] });
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((message: unknown) => {
        if (!isCompareWebviewMessage(message)) return;
        this.route(message).catch((error: unknown) => this.post({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
      }),
      this.panel.onDidDispose(() => this.dispose()),
    );
  }

  reveal(opts: { adapterDir?: string; modelDir?: string }): void {
    this.panel.reveal();
    if (opts.modelDir) this.post({ type: 'path', field: 'model', path: opts.modelDir });
    if (opts.adapterDir) this.post({ type: 'path', field: 'adapter', path: opts.adapterDir });
  }

  dispose(): void {
    if (current === this) current = undefined;
    this.running?.abort();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }

  private post(message: CompareHostMessage): void {
    void this.panel.webview.postMessage(message);
  }

  private async route(message: CompareWebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.post({ type: 'init', protocol: WEBVIEW_PROTOCOL_VERSION, model: this.opts.modelDir, adapter: this.opts.adapterDir,
          settings: { maxNewTokens: 256, temperature: 0, topP: 1, seed: 0 } });
        return;
      case 'browse': {
        const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false,
          title: message.field === 'model' ? 'Base model folder' : 'Adapter folder (adapter_config.json)', defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri });
        if (picked?.[0]) this.post({ type: 'path', field: message.field, path: picked[0].fsPath });
        return;
      }
      case 'cancel':
        this.running?.abort();
        return;
      case 'generate':
        return this.generate(message);
    }
  }

  private async generate(request: Extract<CompareWebviewMessage, { type: 'generate' }>): Promise<void> {
    if (!vscode.workspace.isTrusted) throw new Error('generation runs the model\'s chat template; trust this workspace to use Compare');
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    this.opts = { modelDir: request.model, adapterDir: request.adapter };
    await this.waitForDevice(controller.signal);
    const cli = vscode.Uri.joinPath(this.ctx.extensionUri, 'dist', 'cli.js').fsPath;
    const quantization = request.adapter ? adapterRunQuantization(request.adapter).quantization : 'none';
    if (quantization === 'nf4') void vscode.window.showInformationMessage('Compare: both sides run on the 4-bit NF4 base this adapter was trained on (QLoRA).');
    for (const side of ['base', 'adapter'] as CompareSide[]) {
      if (controller.signal.aborted) {
        this.post({ type: 'error', side, message: 'cancelled' });
        continue;
      }
      const args = generateArgs(cli, { model: request.model, adapter: side === 'adapter' ? request.adapter : undefined, prompt: request.prompt, settings: request.settings, quantization });
      let ended = false;
      const started = Date.now();
      let tokens = 0;
      try {
        await runGenerate({
          node: process.execPath, args, signal: controller.signal,
          onLine: (line) => {
            if (line.type === 'token') {
              tokens++;
              this.post({ type: 'token', side, text: line.text });
              return;
            }
            ended = true;
            if (line.type === 'done') this.post({ type: 'done', side, tokens: line.tokens, seconds: line.seconds, tokensPerSecond: line.tokens_per_s, memoryMb: line.memory_mb });
            else this.post({ type: 'error', side, message: line.message });
          },
        });
        // A CLI that exits 0 without a `done` line still ends the side (with the host's own timing).
        const seconds = (Date.now() - started) / 1000;
        if (!ended) this.post({ type: 'done', side, tokens, seconds, tokensPerSecond: seconds > 0 ? tokens / seconds : 0 });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.ctx.log.appendLine(`compare (${side}): ${message}`);
        this.post({ type: 'error', side, message });
      }
    }
    if (this.running === controller) this.running = undefined;
  }

  /** Polls every 2 s while a training run holds the device, telling the view it is queued. */
  private async waitForDevice(signal: AbortSignal): Promise<void> {
    let told = false;
    while (this.ctx.deviceBusy?.() && !signal.aborted) {
      if (!told) this.post({ type: 'queued', message: 'queued: a training run holds the device; generation starts when it finishes (Cancel to give up)' });
      told = true;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    if (told) this.post({ type: 'queued', message: '' });
  }
}
