import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreviewSession, UNTRUSTED_NOTE, type RenderSegments } from '../../../../extension/datasets/preview-session';
import { loadPreviewModel, renderer, tokenizersByTemplate } from '../../../../extension/datasets/preview-model';
import type { TemplatePool } from '../../../../native/data/template-pool';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import type { HostMessage } from '../../../../webview/dataset-preview/protocol';

const dir = mkdtempSync(join(tmpdir(), 'preview-session-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function dataset(): string {
  const lines: string[] = [];
  for (let i = 0; i < 300; i++) {
    if (i === 10) lines.push('');
    if (i === 20) lines.push('{"instruction": broken');
    lines.push(JSON.stringify({ instruction: `question ${i}${i % 50 === 7 ? ' Needle' : ''}`, output: 'a'.repeat(i % 40) }));
  }
  const path = join(dir, 'data.jsonl');
  writeFileSync(path, lines.join('\r\n') + '\r\n');
  return path;
}

function session(render: RenderSegments | null = null, trusted?: () => boolean): { s: PreviewSession; inbox: HostMessage[] } {
  const inbox: HostMessage[] = [];
  const s = new PreviewSession({
    path: dataset(), fileName: 'data.jsonl', post: (m) => inbox.push(m),
    render, renderUnavailable: 'no renderer', noModelReason: 'no model', throttleMs: 0, trusted,
  });
  return { s, inbox };
}

function lastOf<T extends HostMessage['type']>(inbox: HostMessage[], type: T): Extract<HostMessage, { type: T }> {
  const found = inbox.filter((m) => m.type === type).at(-1);
  assert.ok(found, `no ${type} message`);
  return found as Extract<HostMessage, { type: T }>;
}

test('open indexes, skips blank lines, and measures valid records in characters', async () => {
  const { s, inbox } = session();
  await s.open();
  assert.deepEqual(lastOf(inbox, 'indexed'), { ...lastOf(inbox, 'indexed'), lines: 302, records: 301, blank: 1 });
  const view = lastOf(inbox, 'view');
  assert.equal(view.total, 301);
  const stats = lastOf(inbox, 'stats');
  assert.equal(stats.complete, true);
  assert.equal(stats.valid, 300);
  assert.equal(stats.invalid, 1);
  const expected = Array.from({ length: 300 }, (_, i) => `question ${i}${i % 50 === 7 ? ' Needle' : ''}`.length + (i % 40));
  assert.equal(stats.stats?.max, Math.max(...expected));
  assert.equal(stats.stats?.min, Math.min(...expected));
  assert.equal(stats.stats?.bins.reduce((n, b) => n + b.count, 0), 300);
  s.dispose();
});

test('rows map view rows to file lines around blank and broken lines', async () => {
  const { s, inbox } = session();
  await s.open();
  const { viewId } = lastOf(inbox, 'view');
  await s.handle({ type: 'rows', viewId, from: 8, count: 14 });
  const rows = lastOf(inbox, 'rows').rows;
  assert.equal(rows.length, 14);
  assert.deepEqual(rows.map((r) => r.line).slice(0, 4), [9, 10, 12, 13], 'line 11 is blank and not a row');
  const broken = rows.find((r) => r.kind === 'invalid');
  assert.equal(broken?.line, 22);
  // A request for a replaced view is ignored.
  const before = inbox.length;
  await s.handle({ type: 'rows', viewId: viewId + 5, from: 0, count: 10 });
  assert.equal(inbox.length, before);
  s.dispose();
});

test('search makes a new view of matching lines; an empty query returns to all records', async () => {
  const { s, inbox } = session();
  await s.open();
  await s.handle({ type: 'search', query: 'needle' });
  const view = lastOf(inbox, 'view');
  assert.equal(view.complete, true);
  assert.equal(view.total, 6);
  await s.handle({ type: 'rows', viewId: view.viewId, from: 0, count: 100 });
  const rows = lastOf(inbox, 'rows').rows;
  assert.deepEqual(rows.map((r) => (r.kind === 'alpaca' ? r.instruction : '')), [7, 57, 107, 157, 207, 257].map((i) => `question ${i} Needle`));
  await s.handle({ type: 'search', query: '' });
  assert.equal(lastOf(inbox, 'view').total, 301);
  assert.ok(lastOf(inbox, 'view').viewId > view.viewId);
  s.dispose();
});

test('detail sends full fields and the renderer\'s segments, or says why there are none', async () => {
  const render: RenderSegments = async (records) => records.map((record) => (record.format === 'alpaca' ? [{ text: `Q: ${record.instruction}\nA: `, train: false }, { text: record.output, train: true }] : []));
  const { s, inbox } = session(render);
  await s.open();
  await s.handle({ type: 'detail', line: 3, template: 'alpaca' });
  const detail = lastOf(inbox, 'detail');
  assert.deepEqual(detail.fields, [{ label: 'instruction', text: 'question 2' }, { label: 'output', text: 'aa' }]);
  assert.deepEqual(detail.segments, [{ text: 'Q: question 2\nA: ', train: false }, { text: 'aa', train: true }]);
  await s.handle({ type: 'detail', line: 22, template: 'alpaca' });
  assert.match(lastOf(inbox, 'detail').note, /Line 22: not valid JSON/);
  s.dispose();

  const bare = session(null);
  await bare.s.open();
  await bare.s.handle({ type: 'detail', line: 3, template: 'alpaca' });
  assert.equal(lastOf(bare.inbox, 'detail').segments, null);
  assert.equal(lastOf(bare.inbox, 'detail').note, 'no renderer');
  bare.s.dispose();
});

test('greet replays the latest state for a reloaded webview', async () => {
  const { s, inbox } = session();
  await s.open();
  inbox.length = 0;
  s.greet(123);
  assert.deepEqual(inbox.map((m) => m.type).sort(), ['indexProgress', 'indexed', 'init', 'stats', 'view'].sort());
  const init = lastOf(inbox, 'init');
  assert.deepEqual(init.tokens, { available: false, reason: 'no model' });
  s.dispose();
});

test('a model folder supplies the chat template; tokens stay off with the reason', async () => {
  const model = join(dir, 'model');
  mkdirSync(model);
  writeFileSync(join(model, 'tokenizer_config.json'), JSON.stringify({ chat_template: '{{ messages }}', bos_token: { content: '<s>' }, eos_token: '</s>' }));
  const loaded = await loadPreviewModel(model);
  assert.equal(loaded.chatTemplate, '{{ messages }}');
  assert.equal(loaded.bosToken, '<s>');
  assert.equal(loaded.eosToken, '</s>');
  const { s, inbox } = session();
  await s.open();
  await s.setModel(loaded);
  const message = lastOf(inbox, 'model');
  assert.deepEqual(message.templates, ['alpaca', 'chat']);
  assert.equal(message.tokens.available, false);
  assert.match(message.tokens.available ? '' : message.tokens.reason, /token counts unavailable: .*tokenizer\.json/);
  await assert.rejects(loadPreviewModel(dir), /no tokenizer_config.json/);
  s.dispose();
});

test('a real model folder turns token counts on and renders records with its chat template, response marked as trained', async () => {
  const tiny = makeTinyModel(join(dir, 'tiny'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 1 });
  const loaded = await loadPreviewModel(tiny.dir);
  assert.ok(loaded.countTokens && loaded.countTokens('Hello world!') > 0);
  assert.ok(tokenizersByTemplate.get(loaded.chatTemplate!));
  // Rendered as the editor does: in a template worker, not in this (the host's) thread.
  const pools = new Map<string, TemplatePool>();
  const [segments] = await renderer(pools)([{ format: 'alpaca', instruction: 'Add 2 and 3.', output: '5' }], { kind: 'chat', chatTemplate: loaded.chatTemplate! });
  for (const pool of pools.values()) await pool.dispose();
  assert.ok(Array.isArray(segments), JSON.stringify(segments));
  assert.equal(pools.size, 1, 'the chat template ran in a pool');
  // Qwen's template writes an empty think block into the assistant turn, and the turn ends with <|im_end|>.
  assert.match(segments.filter((x) => x.train).map((x) => x.text).join(''), /^(<think>\s*<\/think>\s*)?5<\|im_end\|>/);
  assert.match(segments.filter((x) => !x.train).map((x) => x.text).join(''), /Add 2 and 3\./);
});

test('a second search replaces the first without mixing their matches', async () => {
  const { s, inbox } = session();
  await s.open();
  const first = s.handle({ type: 'search', query: 'question' });
  const second = s.handle({ type: 'search', query: 'needle' });
  await Promise.all([first, second]);
  const views = inbox.filter((m) => m.type === 'view');
  const final = views.at(-1);
  assert.ok(final?.type === 'view');
  assert.equal(final.query, 'needle');
  assert.equal(final.total, 6);
  assert.ok(!views.some((v) => v.type === 'view' && v.query === 'question' && v.complete), 'the replaced search never completes');
  s.dispose();
});

test('with a model that counts tokens, statistics switch to tokens of the rendered training text', async () => {
  const render: RenderSegments = async (records) => records.map((record) => (record.format === 'alpaca' ? [{ text: record.instruction, train: false }, { text: record.output, train: true }] : []));
  const { s, inbox } = session(render);
  await s.open();
  // A stand-in tokenizer: one token per whitespace-separated word, plus one per 'a'.
  const countTokens = (text: string): number => text.split(/\s+/).filter(Boolean).length + (text.match(/a/g)?.length ?? 0);
  await s.setModel({ name: 'tiny', countTokens });
  assert.deepEqual(lastOf(inbox, 'model').tokens, { available: true, model: 'tiny' });
  const stats = lastOf(inbox, 'stats');
  assert.equal(stats.unit, 'tokens');
  assert.equal(stats.complete, true);
  const expected = Array.from({ length: 300 }, (_, i) => countTokens(`question ${i}${i % 50 === 7 ? ' Needle' : ''}${'a'.repeat(i % 40)}`));
  assert.equal(stats.stats?.max, Math.max(...expected));
  assert.equal(stats.stats?.min, Math.min(...expected));
  // Asking for characters again goes back to characters.
  await s.handle({ type: 'stats', unit: 'chars' });
  assert.equal(lastOf(inbox, 'stats').unit, 'chars');
  s.dispose();
});

test('dispose cancels a running statistics pass', async () => {
  const { s, inbox } = session();
  const opening = s.open();
  s.dispose();
  await opening;
  assert.equal(inbox.filter((m) => m.type === 'stats' && m.complete).length, 0);
});

test('untrusted workspace: chat templates are not run (detail and token statistics), Alpaca still is; granting trust renders them', async () => {
  const rendered: string[] = [];
  const render: RenderSegments = async (records, template) => {
    rendered.push(template.kind);
    return records.map(() => [{ text: `${template.kind} text`, train: false }]);
  };
  let trusted = false;
  const { s, inbox } = session(render, () => trusted);
  await s.open();
  await s.setModel({ name: 'tiny', chatTemplate: '{{ messages }}', countTokens: (text) => text.length });
  assert.deepEqual(rendered.filter((k) => k === 'chat'), [], 'no chat rendering for statistics');
  await s.handle({ type: 'detail', line: 3, template: 'chat' });
  const detail = lastOf(inbox, 'detail');
  assert.equal(detail.segments, null);
  assert.equal(detail.note, UNTRUSTED_NOTE);
  assert.deepEqual(detail.fields, [{ label: 'instruction', text: 'question 2' }, { label: 'output', text: 'aa' }], 'the record itself is shown');
  assert.match(UNTRUSTED_NOTE, /not trusted.*Trust the workspace/s);
  await s.handle({ type: 'detail', line: 3, template: 'alpaca' });
  assert.deepEqual(lastOf(inbox, 'detail').segments, [{ text: 'alpaca text', train: false }], 'our own Alpaca prompt still renders');
  await s.handle({ type: 'detail', line: 3, template: 'chat' });
  assert.deepEqual(rendered.filter((k) => k === 'chat'), []);
  await s.computeStats('tokens');
  assert.deepEqual([lastOf(inbox, 'stats').valid, lastOf(inbox, 'stats').invalid], [0, 1], 'unrendered records are left out, not counted invalid');
  trusted = true;
  await s.trustGranted();
  assert.deepEqual(lastOf(inbox, 'detail').segments, [{ text: 'chat text', train: false }]);
  assert.ok(rendered.filter((k) => k === 'chat').length >= 2, 'detail and statistics rendered once trusted');
  assert.equal(lastOf(inbox, 'stats').complete, true);
  assert.equal(lastOf(inbox, 'stats').valid, 300);
  s.dispose();
});

/** `text` as a Windows "Unicode" file (UTF-16LE with its byte-order mark), the bytes VS Code shows decoded. */
function utf16(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

test('a UTF-16 file shows its one error (file, encoding, iconv fix), not garbage records', async () => {
  const path = join(dir, 'unicode.jsonl');
  writeFileSync(path, utf16([1, 2, 3].map((i) => JSON.stringify({ instruction: `q${i}`, output: 'a' })).join('\r\n') + '\r\n'));
  const inbox: HostMessage[] = [];
  const s = new PreviewSession({ path, fileName: 'unicode.jsonl', post: (m) => inbox.push(m), render: null, renderUnavailable: '', noModelReason: '', throttleMs: 0 });
  s.greet(100);
  await s.open();
  const errors = inbox.filter((m) => m.type === 'error');
  assert.equal(errors.length, 1);
  assert.match(lastOf(inbox, 'error').message, new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: the file is UTF-16 \\(little-endian\\); datasets must be UTF-8 — convert it: iconv -f UTF-16LE -t UTF-8 `));
  assert.equal(inbox.some((m) => m.type === 'indexed'), false);
  assert.equal(lastOf(inbox, 'view').total, 0);
  await s.handle({ type: 'rows', viewId: lastOf(inbox, 'view').viewId, from: 0, count: 10 });
  await s.handle({ type: 'detail', line: 1, template: 'alpaca' });
  assert.equal(inbox.some((m) => (m.type === 'rows' && m.rows.length > 0) || m.type === 'detail'), false, 'no record is shown');
  // A reloaded webview gets the error again, and no records.
  inbox.length = 0;
  s.greet(100);
  assert.deepEqual(inbox.map((m) => m.type).sort(), ['error', 'init', 'stats', 'view']);
  assert.equal(lastOf(inbox, 'view').total, 0);
  s.dispose();
});

test('a file re-saved as UTF-16 replaces the records shown with the error; re-saved as UTF-8 they come back', async () => {
  const { s, inbox } = session();
  await s.open();
  const path = join(dir, 'data.jsonl');
  const { viewId } = lastOf(inbox, 'view');
  writeFileSync(path, utf16(JSON.stringify({ instruction: 'q', output: 'a' }) + '\n'));
  inbox.length = 0;
  await s.open(); // what the file watcher does
  assert.match(lastOf(inbox, 'error').message, /the file is UTF-16/);
  const view = lastOf(inbox, 'view');
  assert.ok(view.viewId > viewId);
  assert.equal(view.total, 0);
  assert.deepEqual(lastOf(inbox, 'stats'), { type: 'stats', unit: 'chars', fraction: 1, complete: true, valid: 0, invalid: 0, stats: null });
  // Rows asked for by the old view (offsets of the old bytes) are not read from the new file.
  await s.handle({ type: 'rows', viewId, from: 0, count: 5 });
  await s.handle({ type: 'rows', viewId: view.viewId, from: 0, count: 5 });
  assert.equal(inbox.some((m) => m.type === 'rows' && m.rows.length > 0), false);
  writeFileSync(path, JSON.stringify({ instruction: 'q', output: 'a' }) + '\n');
  inbox.length = 0;
  await s.open();
  assert.equal(lastOf(inbox, 'indexed').records, 1);
  inbox.length = 0;
  s.greet(1);
  assert.equal(inbox.some((m) => m.type === 'error'), false, 'a successful re-index supersedes the error');
  s.dispose();
});
