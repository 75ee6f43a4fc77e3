// Turns JSONL lines into what the Dataset Preview shows: a typed record or a short located error, table rows with
// field texts cut to a preview length, the full fields of the selected record, and the length a record counts as.
// Pure (no vscode, no I/O). The full validator (native/data/schema.ts) reports more; this is what a row needs.
import type { DatasetRecord, ChatRole } from '../../native/data/records';
import type { RowData, PreviewRole } from '../../webview/dataset-preview/protocol';

/** Table cells hold at most this many characters per field; the detail pane shows the rest. */
export const PREVIEW_CHARS = 240;

export type ParsedLine = { ok: true; record: DatasetRecord } | { ok: false; error: string };

const roles: readonly string[] = ['system', 'user', 'assistant'] satisfies ChatRole[];

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** Parses one JSONL line as an alpaca or chat record. Errors name the field and what was found. */
export function parseRecordLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not valid JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: `a record must be a JSON object, got ${describe(value)}` };
  }
  const object = value as Record<string, unknown>;
  if ('messages' in object) return parseChat(object.messages);
  for (const field of ['instruction', 'output'] as const) {
    if (!(field in object)) return { ok: false, error: `"${field}" is missing (alpaca records need "instruction" and "output"; chat records need "messages")` };
  }
  for (const field of ['instruction', 'input', 'output', 'system'] as const) {
    if (field in object && typeof object[field] !== 'string') return { ok: false, error: `"${field}" must be a string, got ${describe(object[field])}` };
  }
  const record: DatasetRecord = { format: 'alpaca', instruction: object.instruction as string, output: object.output as string };
  if (typeof object.input === 'string') record.input = object.input;
  if (typeof object.system === 'string') record.system = object.system;
  return { ok: true, record };
}

function parseChat(messages: unknown): ParsedLine {
  if (!Array.isArray(messages)) return { ok: false, error: `"messages" must be an array, got ${describe(messages)}` };
  if (messages.length === 0) return { ok: false, error: '"messages" is empty' };
  const out: { role: ChatRole; content: string }[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return { ok: false, error: `messages[${i}] must be an object, got ${describe(m)}` };
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== 'string' || !roles.includes(role)) return { ok: false, error: `messages[${i}].role must be "system", "user" or "assistant", got ${JSON.stringify(role) ?? 'nothing'}` };
    if (typeof content !== 'string') return { ok: false, error: `messages[${i}].content must be a string, got ${describe(content)}` };
    out.push({ role: role as ChatRole, content });
  }
  return { ok: true, record: { format: 'chat', messages: out } };
}

/** Characters of text a record holds (all fields / all message contents), the unit of the length statistics. */
export function recordChars(record: DatasetRecord): number {
  if (record.format === 'chat') return record.messages.reduce((sum, m) => sum + m.content.length, 0);
  return record.instruction.length + (record.input?.length ?? 0) + record.output.length + (record.system?.length ?? 0);
}

/** Cuts to the preview length on a code point boundary, with an ellipsis when cut. */
export function clip(text: string, max = PREVIEW_CHARS): string {
  if (text.length <= max) return text;
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--; // Do not split a surrogate pair.
  return `${text.slice(0, end)}…`;
}

/** The table row for 0-based view row `row` holding 1-based file line `line`. */
export function toRow(row: number, line: number, text: string): RowData {
  const parsed = parseRecordLine(text);
  if (!parsed.ok) return { kind: 'invalid', row, line, error: parsed.error, text: clip(text) };
  const record = parsed.record;
  const chars = recordChars(record);
  if (record.format === 'chat') {
    const messages = record.messages.slice(0, 12).map((m) => ({ role: m.role as PreviewRole, content: clip(m.content, 120) }));
    return { kind: 'chat', row, line, chars, messages };
  }
  return {
    kind: 'alpaca', row, line, chars,
    instruction: clip(record.instruction), input: clip(record.input ?? ''), output: clip(record.output), system: clip(record.system ?? ''),
  };
}

/** Every field of a record in full, labelled, for the detail pane. */
export function detailFields(record: DatasetRecord): { label: string; text: string }[] {
  if (record.format === 'chat') return record.messages.map((m, i) => ({ label: `${i + 1}. ${m.role}`, text: m.content }));
  const fields = [{ label: 'instruction', text: record.instruction }];
  if (record.input !== undefined) fields.push({ label: 'input', text: record.input });
  fields.push({ label: 'output', text: record.output });
  if (record.system !== undefined) fields.unshift({ label: 'system', text: record.system });
  return fields;
}
