// The host half of one Dataset Preview, without VS Code: indexes the file, answers row requests for the current
// view (all records, or a search's matches as they arrive), runs the background statistics pass and renders the
// selected record's training text. All passes are chunked and cancellable; the file is never held in memory.
import { indexLines, readLines, readLineSet, scanChunks, searchLines, type LineIndex } from '../../native/data/line-index';
import { LengthCollector, histogram, summarize } from '../../native/data/dataset-stats';
import type { DatasetRecord } from '../../native/data/records';
import type { HostMessage, LengthStats, LengthUnit, TemplateChoice, TextSegment, TokenAvailability, WebviewMessage } from '../../webview/dataset-preview/protocol';
import { DATASET_PREVIEW_PROTOCOL_VERSION } from '../../webview/dataset-preview/protocol';
import { detailFields, parseRecordLine, recordChars, toRow } from './preview-rows';
import { NotUtf8Error } from '../../native/data/text-encoding';

/** The template shapes of native/data/prompt-format.ts (`renderSegments(record, template)`). */
export type PromptTemplate = { kind: 'alpaca' } | { kind: 'chat'; chatTemplate: string; bosToken?: string; eosToken?: string };
/** A record's training text, or why it cannot be rendered (the template failed or hit a limit on that record). */
export type RenderedRecord = TextSegment[] | { error: string };
/**
 * Renders records' training text, batch by batch. Chat templates are code from the model folder: the editor renders
 * them in a template worker (native/data/template-pool.ts), never in the extension host's thread.
 */
export type RenderSegments = (records: DatasetRecord[], template: PromptTemplate) => Promise<RenderedRecord[]>;

/** Shown instead of a chat-template rendering in Restricted Mode. */
export const UNTRUSTED_NOTE = 'This workspace is not trusted, so the model\'s chat template (code from its folder) is not run: '
  + 'the record is shown without its chat rendering. Trust the workspace (Manage Workspace Trust) to see the training text.';

/** A chosen model: its chat template (from tokenizer_config.json) and, when the tokenizer loads, a token counter. */
export interface PreviewModel {
  name: string;
  chatTemplate?: string;
  bosToken?: string;
  eosToken?: string;
  countTokens?: (text: string) => number;
  /** Why tokens are unavailable for this model, when they are. */
  tokensUnavailable?: string;
}

export interface SessionOptions {
  path: string;
  fileName: string;
  post: (message: HostMessage) => void;
  /** The training-text renderer, or null with the reason shown in the detail pane. */
  render: RenderSegments | null;
  renderUnavailable: string;
  /** Why token counts are unavailable before a model is chosen. */
  noModelReason: string;
  /** Minimum milliseconds between progress messages (tests pass 0). */
  throttleMs?: number;
  /** Whether chat templates may run (vscode.workspace.isTrusted); absent: trusted. */
  trusted?: () => boolean;
}

/** Messages re-sent when a webview reloads, so it rebuilds its state from the host's. */
const REPLAYED: ReadonlySet<HostMessage['type']> = new Set(['indexProgress', 'indexed', 'view', 'stats', 'model', 'error']);

export class PreviewSession {
  private index: LineIndex | null = null;
  private allLines: Uint32Array | null = null;
  private viewId = 0;
  private query = '';
  private matches: number[] = [];
  private searchAbort: AbortController | null = null;
  private statsAbort: AbortController | null = null;
  private indexAbort = new AbortController();
  private unit: LengthUnit = 'chars';
  private model: PreviewModel | null = null;
  private template: TemplateChoice = 'alpaca';
  private readonly last = new Map<HostMessage['type'], HostMessage>();
  /** The record last shown in the detail pane, re-rendered when the workspace becomes trusted. */
  private shown: { line: number; choice: TemplateChoice } | null = null;
  private disposed = false;

  constructor(private readonly options: SessionOptions) {}

  private send(message: HostMessage): void {
    if (this.disposed) return;
    if (REPLAYED.has(message.type)) this.last.set(message.type, message);
    this.options.post(message);
  }

  private throttled(): () => boolean {
    let lastAt = -Infinity;
    const every = this.options.throttleMs ?? 100;
    return () => {
      const now = performance.now();
      if (now - lastAt < every) return false;
      lastAt = now;
      return true;
    };
  }

  tokens(): TokenAvailability {
    if (this.model?.countTokens) return { available: true, model: this.model.name };
    return { available: false, reason: this.model?.tokensUnavailable ?? this.options.noModelReason };
  }

  /** Templates offered: alpaca always; chat once a model supplies a chat template. */
  templates(): TemplateChoice[] {
    return this.model?.chatTemplate ? ['alpaca', 'chat'] : ['alpaca'];
  }

  /** Answers `ready`: the init message, then the latest state (a reloaded webview starts from scratch). */
  greet(bytes: number): void {
    this.send({
      type: 'init', protocol: DATASET_PREVIEW_PROTOCOL_VERSION, fileName: this.options.fileName, bytes,
      tokens: this.tokens(), templates: this.templates(), template: this.template,
    });
    for (const message of this.last.values()) this.options.post(message);
  }

  /** Indexes (or re-indexes, after the file changed) and starts the statistics pass. */
  async open(): Promise<void> {
    this.indexAbort.abort();
    this.indexAbort = new AbortController();
    const signal = this.indexAbort.signal;
    const started = performance.now();
    const due = this.throttled();
    try {
      const index = await indexLines(this.options.path, {
        signal,
        onProgress: (fraction) => due() && this.send({ type: 'indexProgress', fraction }),
      });
      if (signal.aborted || this.disposed) return;
      this.index = index;
      this.last.delete('error'); // A successful (re-)index supersedes an earlier failure.
      this.allLines = index.blankLines.length === 0 ? null : nonBlankLines(index);
      this.send({ type: 'indexProgress', fraction: 1 });
      const records = index.lineCount - index.blankLines.length;
      this.send({ type: 'indexed', lines: index.lineCount, records, blank: index.blankLines.length, seconds: (performance.now() - started) / 1000 });
      await Promise.all([this.search(this.query), this.computeStats(this.unit)]);
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') return;
      this.forgetFile();
      // A UTF-16/32 file (VS Code shows it decoded, but train reads its bytes) is its one error, which names the file.
      this.send({ type: 'error', message: error instanceof NotUtf8Error ? error.message : `Could not read ${this.options.fileName}: ${(error as Error).message}` });
    }
  }

  /**
   * After a failed (re-)index nothing of the file as it was stays on screen: its rows would be read at stale offsets
   * (a file re-saved as UTF-16 shows garbage lines), its statistics describe other bytes. An empty view and empty
   * statistics replace them, so the error is what the view shows.
   */
  private forgetFile(): void {
    this.searchAbort?.abort();
    this.statsAbort?.abort();
    this.index = null;
    this.allLines = null;
    this.matches = [];
    this.shown = null;
    this.last.delete('indexProgress');
    this.last.delete('indexed');
    this.send({ type: 'view', viewId: ++this.viewId, query: this.query, total: 0, complete: true, fraction: 1 });
    this.send({ type: 'stats', unit: this.unit, fraction: 1, complete: true, valid: 0, invalid: 0, stats: null });
  }

  /** Routes the messages that need no VS Code API (the editor handles openLine and pickModel). */
  async handle(message: WebviewMessage): Promise<void> {
    switch (message.type) {
      case 'rows':
        return this.sendRows(message.viewId, message.from, message.count);
      case 'search':
        return this.search(message.query);
      case 'detail':
        return this.sendDetail(message.line, message.template);
      case 'stats':
        return this.computeStats(message.unit);
      case 'ready':
      case 'openLine':
      case 'pickModel':
        return;
    }
  }

  private viewLength(): number {
    if (!this.index) return 0;
    if (this.query) return this.matches.length;
    return this.allLines ? this.allLines.length : this.index.lineCount;
  }

  /** 0-based file line of view row `row`. */
  private lineOf(row: number): number {
    if (this.query) return this.matches[row];
    return this.allLines ? this.allLines[row] : row;
  }

  private async sendRows(viewId: number, from: number, count: number): Promise<void> {
    const index = this.index;
    if (!index || viewId !== this.viewId) return; // A request for a view that has since been replaced.
    const end = Math.min(from + count, this.viewLength());
    if (end <= from) return this.send({ type: 'rows', viewId, rows: [] });
    const lines = Array.from({ length: end - from }, (_, k) => this.lineOf(from + k));
    const contiguous = lines[lines.length - 1] - lines[0] === lines.length - 1;
    const texts = contiguous ? await readLines(index, lines[0], lines.length) : await readLineSet(index, lines);
    if (viewId !== this.viewId) return;
    this.send({ type: 'rows', viewId, rows: texts.map((text, k) => toRow(from + k, lines[k] + 1, text)) });
  }

  /** Starts a new view: all records for '', else the lines containing `query`, announced as they are found. */
  async search(query: string): Promise<void> {
    this.searchAbort?.abort();
    this.searchAbort = null;
    this.query = query;
    this.matches = [];
    const viewId = ++this.viewId;
    const index = this.index;
    if (!index) return;
    if (!query) {
      this.send({ type: 'view', viewId, query, total: this.viewLength(), complete: true, fraction: 1 });
      return;
    }
    const abort = new AbortController();
    this.searchAbort = abort;
    const due = this.throttled();
    this.send({ type: 'view', viewId, query, total: 0, complete: false, fraction: 0 });
    const result = await searchLines(index, query, {
      signal: abort.signal,
      onMatches: (lines, fraction) => {
        // A replaced search may finish its current chunk after the abort: its matches belong to no view.
        if (viewId !== this.viewId) return;
        for (const line of lines) this.matches.push(line);
        if (due()) this.send({ type: 'view', viewId, query, total: this.matches.length, complete: false, fraction });
      },
    });
    if (result.complete && viewId === this.viewId) {
      this.send({ type: 'view', viewId, query, total: this.matches.length, complete: true, fraction: 1 });
    }
  }

  private promptTemplate(choice: TemplateChoice): PromptTemplate | null {
    if (choice === 'alpaca') return { kind: 'alpaca' };
    const model = this.model;
    if (!model?.chatTemplate) return null;
    return { kind: 'chat', chatTemplate: model.chatTemplate, bosToken: model.bosToken, eosToken: model.eosToken };
  }

  /** The template a record is trained with: the chosen one, except that chat records need a chat template. */
  private templateFor(record: DatasetRecord, choice: TemplateChoice): { template: PromptTemplate | null; note: string } {
    if (record.format === 'chat' && choice === 'alpaca') {
      const chat = this.promptTemplate('chat');
      return chat ? { template: chat, note: '' } : { template: null, note: 'Chat records are rendered with the model\'s chat template: choose a model (Model…) to see the training text.' };
    }
    return { template: this.promptTemplate(choice), note: '' };
  }

  /** Whether `template` may run here: Alpaca is ours; a chat template is the model folder's code, run only when trusted. */
  private mayRun(template: PromptTemplate): boolean {
    return template.kind === 'alpaca' || (this.options.trusted?.() ?? true);
  }

  private async sendDetail(line: number, choice: TemplateChoice): Promise<void> {
    const index = this.index;
    if (!index || line > index.lineCount) return;
    this.template = choice;
    this.shown = { line, choice };
    const [text] = await readLines(index, line - 1, 1);
    const parsed = parseRecordLine(text);
    if (!parsed.ok) {
      this.send({ type: 'detail', line, fields: [{ label: 'raw line', text }], segments: null, note: `Line ${line}: ${parsed.error}` });
      return;
    }
    const fields = detailFields(parsed.record);
    const render = this.options.render;
    if (!render) return this.send({ type: 'detail', line, fields, segments: null, note: this.options.renderUnavailable });
    const { template, note } = this.templateFor(parsed.record, choice);
    if (!template) return this.send({ type: 'detail', line, fields, segments: null, note });
    if (!this.mayRun(template)) return this.send({ type: 'detail', line, fields, segments: null, note: UNTRUSTED_NOTE });
    try {
      const [rendered] = await render([parsed.record], template);
      if (Array.isArray(rendered)) this.send({ type: 'detail', line, fields, segments: rendered, note });
      else this.send({ type: 'detail', line, fields, segments: null, note: `Line ${line}: ${rendered.error}` });
    } catch (error) {
      this.send({ type: 'detail', line, fields, segments: null, note: `Line ${line}: ${(error as Error).message}` });
    }
  }

  /**
   * Lengths of records in `unit`: null when a record cannot be measured (tokens without a renderable template, or its
   * template failed on it), undefined when it is not measured here (its chat template may not run: untrusted).
   */
  private async measure(records: DatasetRecord[], unit: LengthUnit): Promise<(number | null | undefined)[]> {
    if (unit === 'chars') return records.map(recordChars);
    const count = this.model?.countTokens;
    const render = this.options.render;
    if (!count || !render) return records.map(() => null);
    const out: (number | null | undefined)[] = records.map(() => null);
    // One render call per template kind (Alpaca, chat) for the chunk's records.
    const groups = new Map<PromptTemplate['kind'], { template: PromptTemplate; indexes: number[] }>();
    records.forEach((record, i) => {
      const { template } = this.templateFor(record, this.template);
      if (!template) return;
      if (!this.mayRun(template)) {
        out[i] = undefined;
        return;
      }
      const group = groups.get(template.kind) ?? { template, indexes: [] };
      group.indexes.push(i);
      groups.set(template.kind, group);
    });
    for (const { template, indexes } of groups.values()) {
      const rendered = await render(indexes.map((i) => records[i]), template);
      rendered.forEach((r, k) => { if (Array.isArray(r)) out[indexes[k]] = count(r.map((s) => s.text).join('')); });
    }
    return out;
  }

  /** The workspace became trusted: chat templates may run now, so what was shown without them is rendered again. */
  async trustGranted(): Promise<void> {
    if (this.shown) await this.sendDetail(this.shown.line, this.shown.choice);
    if (this.unit === 'tokens') await this.computeStats('tokens');
  }

  /** Background pass over the whole file: lengths of every valid record, partial results while it runs. */
  async computeStats(unit: LengthUnit): Promise<void> {
    this.statsAbort?.abort();
    const index = this.index;
    if (!index) return;
    if (unit === 'tokens' && !this.tokens().available) unit = 'chars';
    this.unit = unit;
    const abort = new AbortController();
    this.statsAbort = abort;
    const lengths = new LengthCollector();
    let invalid = 0;
    const due = this.throttled();
    const report = (fraction: number, complete: boolean): void => {
      // A replaced pass may finish its current chunk after the abort; its numbers are stale.
      if (abort.signal.aborted) return;
      this.send({ type: 'stats', unit, fraction, complete, valid: lengths.length, invalid, stats: lengthStats(lengths.values()) });
    };
    try {
      await scanChunks(index, async (_first, lines) => {
        const records: DatasetRecord[] = [];
        for (const text of lines) {
          if (text.trim() === '') continue;
          const parsed = parseRecordLine(text);
          if (parsed.ok) records.push(parsed.record);
          else invalid++;
        }
        for (const length of await this.measure(records, unit)) {
          if (length === null) invalid++;
          else if (length !== undefined) lengths.push(length);
        }
      }, { signal: abort.signal, onProgress: (fraction) => due() && fraction < 1 && report(fraction, false) });
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') return;
      throw error;
    }
    report(1, true);
  }

  /** Sets (or clears) the chosen model and recomputes what depends on it. */
  async setModel(model: PreviewModel | null): Promise<void> {
    this.model = model;
    if (!this.templates().includes(this.template)) this.template = 'alpaca';
    this.send({ type: 'model', tokens: this.tokens(), templates: this.templates(), template: this.template });
    if (this.unit === 'tokens' || model?.countTokens) await this.computeStats(model?.countTokens ? 'tokens' : 'chars');
  }

  dispose(): void {
    this.disposed = true;
    this.indexAbort.abort();
    this.searchAbort?.abort();
    this.statsAbort?.abort();
  }
}

function nonBlankLines(index: LineIndex): Uint32Array {
  const out = new Uint32Array(index.lineCount - index.blankLines.length);
  let blank = 0;
  let k = 0;
  for (let line = 0; line < index.lineCount; line++) {
    if (blank < index.blankLines.length && index.blankLines[blank] === line) blank++;
    else out[k++] = line;
  }
  return out;
}

function lengthStats(values: Float64Array): LengthStats | null {
  const summary = summarize(values);
  return summary ? { ...summary, bins: histogram(values, 24) } : null;
}
