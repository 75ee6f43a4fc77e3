// The dataset record schema: one JSONL line → a typed record (alpaca or chat) or located problems. Pure: the CLI
// validator, the editor diagnostics and the trainer all use this one function, so they can never disagree.
// JSON is parsed with jsonc-parser (strict: no comments, no trailing commas) because JSON.parse neither reports the
// column of a syntax error nor notices duplicate keys (it silently keeps the last one); json-tree.ts keeps that linear
// on long strings.
import { printParseErrorCode, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import { literalEnd, parseJsonTree } from './json-tree';
import type { ChatMessage, ChatRole, DatasetFormat, DatasetRecord } from './records';

export type Severity = 'error' | 'warning';

export interface DatasetProblem {
  /** 1-based line of the file. */
  line: number;
  /** 1-based column (UTF-16 code units, as editors count). */
  column: number;
  /** Length of the offending text, for editor ranges (at least 1). */
  length: number;
  severity: Severity;
  message: string;
  /** A cheap, obvious fix an editor can offer (e.g. rename a key). */
  fix?: { kind: 'rename-key'; from: string; to: string };
}

export interface ParsedRecord {
  record?: DatasetRecord;
  /** The format the line looks like, even when it has errors (for mixed-format detection and hovers). */
  format?: DatasetFormat;
  problems: DatasetProblem[];
}

const ALPACA_KEYS = new Set(['instruction', 'input', 'output', 'system']);
const CHAT_KEYS = new Set(['messages']);
const MESSAGE_KEYS = new Set(['role', 'content']);
const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];
/** Keys other tools use for the same field: offered as a rename quick fix. */
const SYNONYMS: Record<string, string> = { response: 'output', answer: 'output', completion: 'output', prompt: 'instruction', question: 'instruction', context: 'input', conversations: 'messages' };

function kindOf(node: JsonNode | undefined): string {
  if (!node) return 'nothing';
  return node.type === 'null' ? 'null' : node.type;
}

/** Records are shallow (a chat record is 4 levels); the parser recurses per level, so depth is checked first. */
export const MAX_NESTING = 64;

/** The first bracket past MAX_NESTING levels, found by a linear scan that skips strings; undefined if none. */
function tooDeep(text: string): { offset: number } | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      const end = literalEnd(text, i);
      if (end === -1) return undefined; // an unterminated string: the parser reports it
      i = end - 1;
    } else if (c === 123 || c === 91) {
      if (++depth > MAX_NESTING) return { offset: i };
    } else if (c === 125 || c === 93) depth--;
  }
  return undefined;
}

/**
 * The character a syntax error is at, as the user can see and fix it: an invisible one (NUL, a control character, a
 * second byte-order mark, a no-break or zero-width space) by its code point, and curly quotes (pasted from a word
 * processor) with what JSON needs instead; printed raw, those read as `at ''` or look like a correct quote.
 */
function describeChar(ch: string): string {
  if (/[\u2018\u2019\u201c\u201d\u00ab\u00bb\u201e]/.test(ch)) return `'${ch}' (a typographic quote: JSON needs straight " quotes)`;
  if (ch !== ' ' && /[\p{C}\p{Z}]/u.test(ch)) {
    const code = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    return ch === '\ufeff' ? `${code} (a byte-order mark inside the line: remove it)` : `${code} (an invisible character: remove it)`;
  }
  return `'${ch}'`;
}

/** Parses one line (without its newline). `line` is its 1-based number, for the problems' locations. */
export function parseRecord(text: string, line: number): ParsedRecord {
  const problems: DatasetProblem[] = [];
  const at = (offset: number, length: number, severity: Severity, message: string, fix?: DatasetProblem['fix']) =>
    problems.push({ line, column: offset + 1, length: Math.max(1, length), severity, message, ...(fix ? { fix } : {}) });

  const deep = tooDeep(text);
  if (deep) {
    at(deep.offset, 1, 'error', `nested more than ${MAX_NESTING} levels deep — a record is an object of strings (or a list of messages); this line is not one`);
    return { problems };
  }
  const errors: ParseError[] = [];
  const root = parseJsonTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length > 0 || !root) {
    // Only the first syntax error: later ones are usually consequences of it.
    const first = errors[0];
    const offset = first ? first.offset : 0;
    const found = offset < text.length ? describeChar(String.fromCodePoint(text.codePointAt(offset)!)) : 'end of line';
    const reason = first ? printParseErrorCode(first.error).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase() : 'no JSON value';
    at(offset, first?.length ?? 1, 'error', `malformed JSON: ${reason} at ${found} — each line must be one complete JSON object`);
    return { problems };
  }
  if (root.type !== 'object') {
    at(root.offset, root.length, 'error', `a record must be a JSON object, got ${kindOf(root)} — wrap it as {"instruction": …, "output": …} or {"messages": […]}`);
    return { problems };
  }

  const fields = objectFields(root, at);
  const format: DatasetFormat | undefined = fields.has('messages') ? 'chat' : fields.has('instruction') || fields.has('output') ? 'alpaca' : undefined;
  if (!format) {
    const synonym = [...fields.keys()].find((key) => SYNONYMS[key]);
    at(root.offset, 1, 'error', 'neither an alpaca record (needs "instruction" and "output") nor a chat record (needs "messages")' +
      (synonym ? ` — rename "${synonym}" to "${SYNONYMS[synonym]}"?` : ''), synonym ? { kind: 'rename-key', from: synonym, to: SYNONYMS[synonym] } : undefined);
    return { problems };
  }
  const known = format === 'chat' ? CHAT_KEYS : ALPACA_KEYS;
  for (const [key, property] of fields) {
    if (known.has(key)) continue;
    const target = SYNONYMS[key];
    const fix = target && known.has(target) && !fields.has(target) ? { kind: 'rename-key' as const, from: key, to: target } : undefined;
    at(property.key.offset, property.key.length, 'warning', `unknown key "${key}" is ignored` + (fix ? ` — did you mean "${target}"?` : ''), fix);
  }
  const record = format === 'alpaca' ? alpacaRecord(root, fields, at) : chatRecord(root, fields, at);
  const hasErrors = problems.some((p) => p.severity === 'error');
  return { format, problems, ...(record && !hasErrors ? { record } : {}) };
}

type At = (offset: number, length: number, severity: Severity, message: string, fix?: DatasetProblem['fix']) => void;
interface Property {
  key: JsonNode;
  value: JsonNode | undefined;
}

/** The object's properties by key; a duplicate key is an error (JSON.parse would silently keep the last). */
function objectFields(object: JsonNode, at: At): Map<string, Property> {
  const fields = new Map<string, Property>();
  for (const property of object.children ?? []) {
    const [key, value] = property.children ?? [];
    if (!key) continue;
    const name = String(key.value);
    if (fields.has(name)) {
      at(key.offset, key.length, 'error', `duplicate key "${name}" — JSON readers keep only the last one; remove one of them`);
      continue;
    }
    fields.set(name, { key, value });
  }
  return fields;
}

function stringField(object: JsonNode, fields: Map<string, Property>, name: string, required: boolean, at: At, where = ''): string | undefined {
  const property = fields.get(name);
  if (!property) {
    if (required) at(object.offset, 1, 'error', `${where}"${name}" is missing — add a non-empty string "${name}"`);
    return undefined;
  }
  const value = property.value;
  if (!value || value.type !== 'string') {
    const node = value ?? property.key;
    at(node.offset, node.length, 'error', `${where}"${name}" must be a string, got ${kindOf(value)}` + (value?.type === 'number' ? ' — quote it' : ''));
    return undefined;
  }
  const text = value.value as string;
  if (required && text.trim() === '') {
    at(value.offset, value.length, 'error', `${where}"${name}" is empty — give it text or drop the record`);
    return undefined;
  }
  return text;
}

function alpacaRecord(object: JsonNode, fields: Map<string, Property>, at: At): DatasetRecord | undefined {
  const instruction = stringField(object, fields, 'instruction', true, at);
  const output = stringField(object, fields, 'output', true, at);
  const input = stringField(object, fields, 'input', false, at);
  const system = stringField(object, fields, 'system', false, at);
  if (instruction === undefined || output === undefined) return undefined;
  return { format: 'alpaca', instruction, output, ...(input !== undefined ? { input } : {}), ...(system !== undefined ? { system } : {}) };
}

function chatRecord(object: JsonNode, fields: Map<string, Property>, at: At): DatasetRecord | undefined {
  const property = fields.get('messages')!;
  const list = property.value;
  if (!list || list.type !== 'array') {
    const node = list ?? property.key;
    at(node.offset, node.length, 'error', `"messages" must be an array of {"role", "content"} objects, got ${kindOf(list)}`);
    return undefined;
  }
  const items = list.children ?? [];
  if (items.length === 0) {
    at(list.offset, list.length, 'error', '"messages" is empty — add at least a user and an assistant turn');
    return undefined;
  }
  const messages: ChatMessage[] = [];
  let ok = true;
  items.forEach((item, index) => {
    const where = `messages[${index}].`;
    if (item.type !== 'object') {
      at(item.offset, item.length, 'error', `messages[${index}] must be an object {"role", "content"}, got ${kindOf(item)}`);
      ok = false;
      return;
    }
    const fieldsOfMessage = objectFields(item, at);
    for (const [key, p] of fieldsOfMessage) {
      if (!MESSAGE_KEYS.has(key)) at(p.key.offset, p.key.length, 'warning', `unknown key "${key}" in messages[${index}] is ignored`);
    }
    const roleProperty = fieldsOfMessage.get('role');
    const role = roleProperty?.value?.type === 'string' ? (roleProperty.value.value as string) : undefined;
    if (!roleProperty) {
      at(item.offset, 1, 'error', `${where}"role" is missing — use "system", "user" or "assistant"`);
      ok = false;
    } else if (role === undefined || !(ROLES as readonly string[]).includes(role)) {
      const node = roleProperty.value ?? roleProperty.key;
      at(node.offset, node.length, 'error', `${where}role must be "system", "user" or "assistant", got ${role !== undefined ? JSON.stringify(role) : kindOf(roleProperty.value)}`);
      ok = false;
    }
    const contentProperty = fieldsOfMessage.get('content');
    let content: string | undefined;
    if (!contentProperty) {
      at(item.offset, 1, 'error', `${where}"content" is missing — add the turn's text`);
      ok = false;
    } else if (contentProperty.value?.type !== 'string') {
      const node = contentProperty.value ?? contentProperty.key;
      at(node.offset, node.length, 'error', `${where}content must be a string, got ${kindOf(contentProperty.value)}`);
      ok = false;
    } else {
      content = contentProperty.value.value as string;
    }
    if (role && content !== undefined) messages.push({ role: role as ChatRole, content });
  });
  if (!ok) return undefined;
  if (!checkTurnOrder(messages, items, at)) return undefined;
  return { format: 'chat', messages };
}

/** An optional system turn first, then user and assistant alternating from user, ending with assistant. */
function checkTurnOrder(messages: ChatMessage[], items: JsonNode[], at: At): boolean {
  const start = messages[0]?.role === 'system' ? 1 : 0;
  for (let i = start; i < messages.length; i += 1) {
    const expected: ChatRole = (i - start) % 2 === 0 ? 'user' : 'assistant';
    if (messages[i].role !== expected) {
      const why = messages[i].role === 'system' ? 'a system turn may only come first' : `roles must alternate user/assistant after an optional system turn`;
      at(items[i].offset, items[i].length, 'error', `messages[${i}] is "${messages[i].role}" but "${expected}" was expected: ${why}`);
      return false;
    }
  }
  const turns = messages.length - start;
  if (turns < 2) {
    at(items[items.length - 1].offset, items[items.length - 1].length, 'error', 'a conversation needs at least one user and one assistant turn');
    return false;
  }
  if (messages[messages.length - 1].role !== 'assistant') {
    const last = items[items.length - 1];
    at(last.offset, last.length, 'error', 'a conversation must end with an assistant turn (the text the model learns to write)');
    return false;
  }
  return true;
}
