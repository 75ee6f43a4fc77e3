// Dataset Preview messages between the host (extension/datasets/preview-editor.ts) and this webview, defined once
// with guards. Self-contained (no imports) so the host can `import type` it and the guard runs on both sides.
// Rows are addressed by index into the current view (all records, or the lines a search matched); `line` is the
// 1-based line of the JSONL file, as the text editor shows it.

export const DATASET_PREVIEW_PROTOCOL_VERSION = 1;

/** A piece of the exact training text: `train: false` is loss-masked (the prompt), `true` is learned. */
export interface TextSegment {
  text: string;
  train: boolean;
}

export type PreviewRole = 'system' | 'user' | 'assistant';

/** One table row, with field texts cut to a preview length (the detail message carries the full record). */
export type RowData =
  | { kind: 'alpaca'; row: number; line: number; chars: number; instruction: string; input: string; output: string; system: string }
  | { kind: 'chat'; row: number; line: number; chars: number; messages: { role: PreviewRole; content: string }[] }
  | { kind: 'invalid'; row: number; line: number; error: string; text: string };

export interface LengthStats {
  count: number;
  min: number;
  median: number;
  p95: number;
  max: number;
  mean: number;
  bins: { from: number; to: number; count: number }[];
}

export type LengthUnit = 'chars' | 'tokens';
export type TemplateChoice = 'alpaca' | 'chat';

/** Whether token counts can be offered, and if not, the reason shown next to the disabled option. */
export type TokenAvailability = { available: true; model: string } | { available: false; reason: string };

export type HostMessage =
  /** First message after `ready`: the file and what the host can do. */
  | { type: 'init'; protocol: number; fileName: string; bytes: number; tokens: TokenAvailability; templates: TemplateChoice[]; template: TemplateChoice }
  /** Indexing the file's line offsets: fraction 0..1. */
  | { type: 'indexProgress'; fraction: number }
  /** The index is ready: the record view has `records` rows (blank lines excluded). */
  | { type: 'indexed'; lines: number; records: number; blank: number; seconds: number }
  /** The current row set changed or grew (a search in progress grows `total` as matches arrive). */
  | { type: 'view'; viewId: number; query: string; total: number; complete: boolean; fraction: number }
  /** Rows answering a `rows` request of the same view. */
  | { type: 'rows'; viewId: number; rows: RowData[] }
  /** Length statistics over the whole file, updated while the background pass runs. */
  | { type: 'stats'; unit: LengthUnit; fraction: number; complete: boolean; valid: number; invalid: number; stats: LengthStats | null }
  /** The full selected record and the exact training text under the chosen template (or why there is none). */
  | { type: 'detail'; line: number; fields: { label: string; text: string }[]; segments: TextSegment[] | null; note: string }
  /** The tokenizer / chat template source changed (after "Model…"). */
  | { type: 'model'; tokens: TokenAvailability; templates: TemplateChoice[]; template: TemplateChoice }
  /** A problem worth showing in the view (indexing failed, file vanished, …). */
  | { type: 'error'; message: string };

export type WebviewMessage =
  /** The webview has loaded and listens. */
  | { type: 'ready' }
  /** Rows [from, from+count) of view `viewId`. */
  | { type: 'rows'; viewId: number; from: number; count: number }
  /** Filter to lines containing `query` (case-insensitive); '' shows all records. */
  | { type: 'search'; query: string }
  /** Show the record at 1-based `line` in the detail pane, rendered with `template`. */
  | { type: 'detail'; line: number; template: TemplateChoice }
  /** Recompute statistics in this unit. */
  | { type: 'stats'; unit: LengthUnit }
  /** Open the file in the text editor at 1-based `line` (0 = no particular line). */
  | { type: 'openLine'; line: number }
  /** Choose a Hugging Face model folder for tokens and its chat template. */
  | { type: 'pickModel' };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

const templates: readonly string[] = ['alpaca', 'chat'] satisfies TemplateChoice[];
const units: readonly string[] = ['chars', 'tokens'] satisfies LengthUnit[];

/** Guard for what the host receives: the webview is sandboxed but its messages are still checked field by field. */
export function isWebviewMessage(value: unknown): value is WebviewMessage {
  if (!isRecord(value) || typeof value.type !== 'string') return false;
  switch (value.type) {
    case 'ready':
    case 'pickModel':
      return true;
    case 'rows':
      return isCount(value.viewId) && isCount(value.from) && isCount(value.count) && value.count <= 1000;
    case 'search':
      return typeof value.query === 'string' && value.query.length <= 1000;
    case 'detail':
      return isCount(value.line) && value.line >= 1 && typeof value.template === 'string' && templates.includes(value.template);
    case 'stats':
      return typeof value.unit === 'string' && units.includes(value.unit);
    case 'openLine':
      return isCount(value.line);
    default:
      return false;
  }
}

const hostTypes: readonly string[] = ['init', 'indexProgress', 'indexed', 'view', 'rows', 'stats', 'detail', 'model', 'error'] satisfies HostMessage['type'][];

/** Guard for what the webview receives: the type tag and the fields the view dispatches on. */
export function isHostMessage(value: unknown): value is HostMessage {
  if (!isRecord(value) || typeof value.type !== 'string' || !hostTypes.includes(value.type)) return false;
  switch (value.type) {
    case 'rows':
      return isCount(value.viewId) && Array.isArray(value.rows);
    case 'view':
      return isCount(value.viewId) && isCount(value.total) && typeof value.query === 'string';
    case 'indexProgress':
      return typeof value.fraction === 'number';
    case 'detail':
      return isCount(value.line) && Array.isArray(value.fields) && (value.segments === null || Array.isArray(value.segments));
    default:
      return true;
  }
}
