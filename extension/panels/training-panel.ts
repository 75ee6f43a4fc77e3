// Host side of the Start LoRA Training panel: one panel per window. It answers the webview's requests (inspect a
// model, list and check datasets, devices, file dialogs, presets) and on Start validates with file checks and
// hands the RunConfig to ctx.startRun (or resumes a run), then opens the run's dashboard.
import * as vscode from 'vscode';
import { readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { RunConfig } from '../../native/protocol';
import { resolveRunConfig } from '../../native/train/config';
import { latestCheckpoint, readRunConfig } from '../../native/train/run-dir';
import { writeJsonAtomic } from '../../native/util/atomic-write';
import { existsAs } from '../../native/util/fs-checks';
import type { DatasetRecord } from '../../native/data/records';
import { TemplatePool } from '../../native/data/template-pool';
import { loadTokenizer } from '../../native/model/tokenizer';
import { checkModelFileLinks, TOKENIZER_FILES } from '../../native/model/folder-links';
import { isTrainingWebviewMessage, WEBVIEW_PROTOCOL_VERSION, type DatasetInfo, type TrainingHostMessage, type TrainingWebviewMessage } from '../../webview/protocol';
import { presetFromConfig, readPreset } from '../../webview/training-panel/form';
import { summarizeDataset } from './dataset-summary';
import { exportFromPanel, type Choice } from './cluster-export';
import { listDevices } from './devices';
import { inspectModel } from './model-inspect';
import { computeParams, modelReaders } from './model-readers';
import { newRunId } from '../runs/run-store';
import { openDashboard } from './dashboard-panel';
import type { PanelContext } from './panel-context';
import { webviewHtml, webviewOptions } from './webview-html';

const RECENT_KEY = 'loraStudio.recentModels';
const RECENT_MAX = 8;
/** Datasets bigger than this are listed but not scanned up front (the user can still pick them). */
const SCAN_LIMIT_BYTES = 256 * 1024 * 1024;

let current: TrainingPanel | undefined;

/** Opens (or reveals) the training panel; `dataset` pre-selects a file, `resumeRunDir` shows a run read-only for resuming. */
export function openTrainingPanel(ctx: PanelContext, opts: { dataset?: string; resumeRunDir?: string } = {}): void {
  if (current && !opts.resumeRunDir && !current.resumeRunDir) {
    current.reveal(opts.dataset);
    return;
  }
  current?.dispose();
  current = new TrainingPanel(ctx, opts);
}

class TrainingPanel {
  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  readonly resumeRunDir?: string;
  private pendingDataset?: string;
  private scans = new AbortController();

  constructor(private readonly ctx: PanelContext, opts: { dataset?: string; resumeRunDir?: string }) {
    this.resumeRunDir = opts.resumeRunDir;
    this.pendingDataset = opts.dataset;
    this.panel = vscode.window.createWebviewPanel('loraStudio.training', opts.resumeRunDir ? 'Resume LoRA Training' : 'Start LoRA Training',
      vscode.ViewColumn.Active, webviewOptions(ctx.extensionUri));
    this.panel.iconPath = vscode.Uri.joinPath(ctx.extensionUri, 'media', 'icons', 'lora.svg');
    this.panel.webview.html = webviewHtml(this.panel.webview, ctx.extensionUri, { entry: 'training-panel', title: 'Start LoRA Training', css: ['common.css', 'training-panel.css'] });
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((message: unknown) => {
        if (!isTrainingWebviewMessage(message)) return; // Malformed messages are dropped, never trusted.
        this.route(message).catch((error: unknown) => this.post({ type: 'error', message: errorText(error) }));
      }),
      this.panel.onDidDispose(() => this.dispose()),
    );
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.jsonl', false, true, false);
    const relist = () => void this.listDatasets().then((datasets) => this.post({ type: 'datasets', datasets }));
    this.disposables.push(watcher, watcher.onDidCreate(relist), watcher.onDidDelete(relist));
  }

  reveal(dataset?: string): void {
    this.panel.reveal();
    if (dataset) this.post({ type: 'path', field: 'data', path: dataset });
  }

  dispose(): void {
    if (current === this) current = undefined;
    this.scans.abort();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }

  private post(message: TrainingHostMessage): void {
    void this.panel.webview.postMessage(message);
  }

  private async route(message: TrainingWebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        return this.init();
      case 'inspectModel':
        return this.inspect(message.dir);
      case 'browse':
        return this.browse(message.field);
      case 'datasetStats': {
        const label = this.label(message.path);
        const counter = message.model ? tokenCounter(message.model, this.ctx) : undefined;
        try {
          this.post({ type: 'dataset', dataset: await summarizeDataset(message.path, label, { maxSeqLen: message.maxSeqLen, countTokens: counter?.count, signal: this.scans.signal }) });
        } finally {
          await counter?.dispose();
        }
        return;
      }
      case 'refreshDevices':
        this.post({ type: 'devices', devices: await listDevices() });
        return;
      case 'start':
        return this.start(message.values);
      case 'savePreset':
        return this.savePreset(message.values);
      case 'loadPreset':
        return this.loadPreset();
      case 'exportCluster':
        return this.exportCluster(message.values);
      case 'compareMethods':
        // The comparison runs on the form's model and data (and eval data, tokens per record); the command asks the rest.
        await vscode.commands.executeCommand('loraStudio.compareMethods', { model: message.values.model, data: message.values.data, evalData: message.values.eval_data, seqLen: message.values.max_seq_len, allowLongContext: message.values.allow_long_context });
        return;
      case 'openDataset':
        await vscode.window.showTextDocument(vscode.Uri.file(message.path), { preview: false });
        await vscode.commands.executeCommand('workbench.actions.view.problems');
        return;
    }
  }

  private async init(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    // No model is chosen when the panel opens, so the proposed id carries the time only (newRunId's "run" stand-in).
    let values: Partial<RunConfig> = { out: folder ? join(folder, '.lora-studio', 'runs', newRunId('')) : '' };
    let resume: { runDir: string; step: number } | undefined;
    if (this.resumeRunDir) {
      const config = readRunConfig(this.resumeRunDir);
      if (!config) throw new Error(`${join(this.resumeRunDir, 'training_config.json')} is missing or unreadable; the run cannot be resumed`);
      values = config;
      resume = { runDir: this.resumeRunDir, step: latestCheckpoint(this.resumeRunDir)?.step ?? 0 };
    } else if (this.pendingDataset) {
      values.data = this.pendingDataset;
    }
    const [datasets, devices] = await Promise.all([this.listDatasets(), listDevices()]);
    this.post({ type: 'init', protocol: WEBVIEW_PROTOCOL_VERSION, values, recentModels: this.ctx.state.get<string[]>(RECENT_KEY, []), datasets, devices, resume });
    void this.scanDatasets(datasets);
  }

  private async listDatasets(): Promise<DatasetInfo[]> {
    const uris = await vscode.workspace.findFiles('**/*.jsonl', '{**/node_modules/**,**/.lora-studio/**,**/.git/**}', 500);
    return uris.map((u) => ({ path: u.fsPath, label: this.label(u.fsPath) })).sort((a, b) => a.label.localeCompare(b.label));
  }

  /** Checks each workspace dataset in the background, one at a time, so the list fills in with counts. */
  private async scanDatasets(datasets: DatasetInfo[]): Promise<void> {
    for (const d of datasets) {
      if (this.scans.signal.aborted) return;
      const size = await vscode.workspace.fs.stat(vscode.Uri.file(d.path)).then((s) => s.size, () => Infinity);
      if (size > SCAN_LIMIT_BYTES) continue;
      try {
        this.post({ type: 'dataset', dataset: await summarizeDataset(d.path, d.label, { maxSeqLen: 512, signal: this.scans.signal }) });
      } catch (error) {
        this.ctx.log.appendLine(`dataset check failed for ${d.path}: ${errorText(error)}`);
      }
    }
  }

  private label(path: string): string {
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(path));
    return folder ? relative(folder.uri.fsPath, path) : path;
  }

  private async inspect(dir: string): Promise<void> {
    try {
      const info = inspectModel(dir, modelReaders, computeParams);
      this.post({ type: 'model', dir, info });
      const recent = [dir, ...this.ctx.state.get<string[]>(RECENT_KEY, []).filter((d) => d !== dir)].slice(0, RECENT_MAX);
      await this.ctx.state.update(RECENT_KEY, recent);
    } catch (error) {
      this.post({ type: 'model', dir, info: null, error: errorText(error) });
    }
  }

  private async browse(field: 'model' | 'data' | 'eval_data' | 'out'): Promise<void> {
    const folders = field === 'model' || field === 'out';
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: folders, canSelectFiles: !folders, canSelectMany: false,
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      title: { model: 'Hugging Face model folder', data: 'Training data (*.jsonl)', eval_data: 'Evaluation data (*.jsonl)', out: 'Output (run) folder' }[field],
      filters: folders ? undefined : { 'JSON Lines': ['jsonl'] },
    });
    if (picked?.[0]) this.post({ type: 'path', field, path: picked[0].fsPath });
  }

  private async start(values: Partial<RunConfig>): Promise<void> {
    if (this.resumeRunDir) {
      await this.ctx.resumeRun(this.resumeRunDir);
      this.post({ type: 'started', runDir: this.resumeRunDir });
      openDashboard(this.ctx, this.resumeRunDir);
      this.dispose();
      return;
    }
    if (!vscode.workspace.isTrusted) {
      this.post({ type: 'problems', problems: [{ field: 'config', message: 'training is disabled in an untrusted workspace — trust this folder to train' }] });
      return;
    }
    const { config, problems } = resolveRunConfig(values, { exists: existsAs });
    if (config.out && existsAs(join(config.out, 'training_config.json'), 'file')) {
      problems.push({ field: 'out', message: `${config.out} already holds a run — choose a new folder (or resume that run from the Runs view)` });
    }
    if (problems.length > 0) {
      this.post({ type: 'problems', problems });
      return;
    }
    const runDir = await this.ctx.startRun(config);
    this.post({ type: 'started', runDir });
    openDashboard(this.ctx, runDir);
    this.dispose();
  }

  /** Run on a Cluster…: asks the trainer, the parallelism and a new folder, then writes the export (cluster-export.ts). */
  private async exportCluster(values: Partial<RunConfig>): Promise<void> {
    const answer = await exportFromPanel(values, {
      pick: async <T>(choices: readonly Choice<T>[], placeHolder: string) =>
        (await vscode.window.showQuickPick(choices.map((c) => ({ label: c.label, detail: c.detail, value: c.value })), { placeHolder }))?.value,
      folder: async (suggested) => (await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(suggested), title: 'New folder for the cluster export', saveLabel: 'Export here' }))?.fsPath,
    });
    if (!answer) return;
    this.post(answer);
    if (answer.type === 'exported') {
      void vscode.window.showInformationMessage(answer.notes.join(' — '), 'Open README').then((choice) => {
        if (choice) void vscode.window.showTextDocument(vscode.Uri.file(join(answer.out, 'README.md')));
      });
    }
  }

  private async savePreset(values: Partial<RunConfig>): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = values.model ? `${basename(values.model)}-r${values.r ?? ''}.lora.json` : 'preset.lora.json';
    const target = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined, filters: { 'LoRA preset': ['json'] }, title: 'Save LoRA preset' });
    if (!target) return;
    const path = target.fsPath.endsWith('.json') ? target.fsPath : `${target.fsPath}.lora.json`;
    writeJsonAtomic(path, presetFromConfig(values));
    void vscode.window.showInformationMessage(`Saved preset ${basename(path)}`);
  }

  private async loadPreset(): Promise<void> {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'LoRA preset': ['json'] }, defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri, title: 'Load LoRA preset' });
    if (!picked?.[0]) return;
    const path = picked[0].fsPath;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(`${path}: not valid JSON: ${errorText(error)} — fix the file or save a new preset`);
    }
    const { values, unknown } = readPreset(json);
    if (unknown.length > 0) void vscode.window.showWarningMessage(`${basename(path)}: ignored unknown keys ${unknown.join(', ')}`);
    this.post({ type: 'preset', values, path });
  }
}

/**
 * Tokens per record exactly as training will see them (the model's tokenizer and chat or Alpaca template, nothing
 * truncated), counted in a template worker (the chat template is the model folder's code: never run in the host's
 * thread); undefined when the tokenizer cannot load (the inspect line already says why). The pool lives for one summary.
 */
function tokenCounter(modelDir: string, ctx: PanelContext): { count: (records: DatasetRecord[]) => Promise<number[]>; dispose(): Promise<void> } | undefined {
  try {
    checkModelFileLinks(modelDir, TOKENIZER_FILES.map((name) => join(modelDir, name)));
    const pool = new TemplatePool(loadTokenizer(modelDir), 1);
    return {
      count: (records) => pool.tokenLengths(records.map((record, i) => ({ line: i + 1, record }))),
      dispose: () => pool.dispose(),
    };
  } catch (error) {
    ctx.log.appendLine(`token statistics: ${errorText(error)}`);
    return undefined;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
