// Tests of extension/panels/dataset-summary.ts on small files written by the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarizeDataset } from '../../../../extension/panels/dataset-summary';
import type { DatasetRecord } from '../../../../native/data/records';

const dir = mkdtempSync(join(tmpdir(), 'lora-ds-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n'));
  return path;
}

test('counts records and errors, names the first error by line, detects the format', async () => {
  const path = file('a.jsonl', [
    JSON.stringify({ instruction: 'a', output: 'b' }),
    '',
    '{"instruction": 3, "output": "x"}',
    'not json',
    JSON.stringify({ instruction: 'c', input: 'd', output: 'e' }),
  ]);
  const info = await summarizeDataset(path, 'a.jsonl', { maxSeqLen: 512 });
  assert.equal(info.records, 2);
  assert.equal(info.errors, 2);
  assert.equal(info.format, 'alpaca');
  assert.match(info.firstError ?? '', /^line 3: "instruction" must be a string, got number/);
  assert.equal(info.tokens, undefined);
});

test('mixed and empty files', async () => {
  const mixed = file('m.jsonl', [JSON.stringify({ instruction: 'a', output: 'b' }), JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] })]);
  assert.equal((await summarizeDataset(mixed, 'm', { maxSeqLen: 8 })).format, 'mixed');
  const empty = file('e.jsonl', ['', '']);
  const info = await summarizeDataset(empty, 'e', { maxSeqLen: 8 });
  assert.equal(info.format, 'empty');
  assert.equal(info.records, 0);
});

test('token statistics with a counter, and how many exceed max_seq_len', async () => {
  const path = file('t.jsonl', [10, 20, 30, 40, 50].map((n) => JSON.stringify({ instruction: 'x'.repeat(n), output: 'y' })));
  const countTokens = async (records: DatasetRecord[]) => records.map((r) => (r.format === 'alpaca' ? r.instruction.length : 0));
  const info = await summarizeDataset(path, 't', { countTokens, maxSeqLen: 35 });
  assert.deepEqual(info.tokens, { count: 5, min: 10, median: 30, p95: 48, max: 50, overLimit: 2, limit: 35 });
});

test('a UTF-16 file is summarized as its one error (file, encoding, iconv fix), not thrown nor counted line by line', async () => {
  const path = join(dir, 'unicode.jsonl');
  const text = [1, 2, 3].map((i) => JSON.stringify({ instruction: `q${i}`, output: 'a' })).join('\r\n') + '\r\n';
  writeFileSync(path, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
  let counted = 0;
  const countTokens = async (records: DatasetRecord[]) => { counted += records.length; return records.map(() => 1); };
  const info = await summarizeDataset(path, 'unicode.jsonl', { countTokens, maxSeqLen: 512 });
  assert.equal(info.records, 0);
  assert.equal(info.errors, 1);
  assert.equal(info.format, undefined);
  assert.equal(info.tokens, undefined);
  assert.equal(counted, 0, 'no token pass over a file that is not UTF-8');
  assert.ok(info.fileError?.startsWith(`${path}: the file is UTF-16 (little-endian); datasets must be UTF-8 — convert it: iconv -f UTF-16LE -t UTF-8 `), info.fileError);
});
