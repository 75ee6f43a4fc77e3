import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDatasetRecords, validateBytes, validateDocument, validateFile, validateText } from '../../../../native/data/validate';

const alpaca = (i: number) => JSON.stringify({ instruction: `q${i}`, output: `a${i}` });
const chat = JSON.stringify({ messages: [{ role: 'user', content: 'u' }, { role: 'assistant', content: 'a' }] });
const dir = mkdtempSync(join(tmpdir(), 'validate-'));
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

test('CRLF, a BOM and trailing blank lines are accepted; blank lines between records warn but do not count', async () => {
  const report = await validateFile(file('crlf.jsonl', `\ufeff${alpaca(1)}\r\n\r\n${alpaca(2)}\r\n\n\n`));
  assert.equal(report.format, 'alpaca');
  assert.equal(report.records, 2);
  assert.deepEqual(report.errors, []);
  assert.deepEqual(report.warnings.map((w) => [w.line, w.message]), [[2, 'blank line between records is skipped']]);
});

test('U+2028 inside a string is not a line break', async () => {
  const report = await validateFile(file('ls.jsonl', `${JSON.stringify({ instruction: 'a\u2028b', output: 'c' })}\n`));
  assert.equal(report.records, 1);
  assert.deepEqual(report.errors, []);
});

test('mixed formats: records that differ from the first are errors; the file is "mixed"', async () => {
  const report = await validateFile(file('mixed.jsonl', `${alpaca(1)}\n${chat}\n${alpaca(2)}\n`));
  assert.equal(report.format, 'mixed');
  assert.deepEqual(report.errors.map((e) => e.line), [2]);
  assert.match(report.errors[0].message, /chat record but the file's first record \(line 1\) is alpaca/);
});

test('invalid UTF-8 is located by line; an empty file is an error', async () => {
  const bad = Buffer.concat([Buffer.from(`${alpaca(1)}\n{"instruction":"`), Buffer.from([0xff, 0xfe]), Buffer.from('","output":"x"}\n')]);
  const report = await validateFile(file('utf8.jsonl', bad));
  assert.deepEqual(report.errors.map((e) => [e.line, e.message]), [[2, 'the line is not valid UTF-8 — re-save the file as UTF-8']]);
  const empty = await validateFile(file('empty.jsonl', '\n\n'));
  assert.match(empty.errors[0].message, /no records/);
});

test('one bad record does not cascade: the next lines are checked on their own', () => {
  const report = validateText('t.jsonl', `${alpaca(1)}\n{"instruction": "x", "output": \n${alpaca(3)}\n`);
  assert.deepEqual(report.errors.map((e) => e.line), [2]);
  assert.equal(report.validRecords, 2);
});

test('problems beyond the cap are counted, not kept', () => {
  const report = validateText('t.jsonl', Array.from({ length: 30 }, () => '{').join('\n'), { maxProblems: 10 });
  assert.equal(report.errors.length, 10);
  assert.equal(report.omittedErrors, 20);
});

test('readDatasetRecords returns located records, or one UserError listing located problems', async () => {
  const records = await readDatasetRecords(file('ok.jsonl', `${alpaca(1)}\n\n${alpaca(2)}\n`));
  assert.deepEqual(records.map((r) => r.line), [1, 3]);
  await assert.rejects(readDatasetRecords(file('bad.jsonl', `${alpaca(1)}\n{"instruction":1,"output":"x"}\n`)), /bad\.jsonl:2:16: "instruction" must be a string/);
});

test('a record longer than the 4 MiB read chunk is validated whole, between ordinary records', async () => {
  const long = JSON.stringify({ instruction: 'long', output: 'z'.repeat(9 << 20) });
  const report = await validateFile(file('long.jsonl', `${alpaca(1)}\n${long}\n{"instruction":1,"output":"x"}\n${long}`));
  assert.equal(report.records, 4);
  assert.equal(report.validRecords, 3);
  assert.deepEqual(report.errors.map((p) => [p.line, p.column]), [[3, 16]]);
});

test('validateFile stops with an AbortError once its signal is aborted', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(validateFile(file('stop.jsonl', `${alpaca(1)}\n`), { signal: controller.signal }), (error: Error) => error.name === 'AbortError');
});

test('readDatasetRecords ends with an AbortError once its stopRequested says so (a run stopped while reading)', async () => {
  let asked = 0;
  const path = file('many.jsonl', `${alpaca(1)}\n`.repeat(400_000));
  await assert.rejects(readDatasetRecords(path, { stopRequested: () => ++asked > 1 }), (error: Error) => error.name === 'AbortError');
  assert.equal(asked, 2);
});

test('a UTF-16 or UTF-32 file is one error at 1:1 naming the encoding, from the file, its bytes, or an editor\'s text', async () => {
  const records = `${alpaca(1)}\n${alpaca(2)}\n${alpaca(3)}\n`;
  const utf16 = Buffer.from(`\ufeff${records}`, 'utf16le');
  const path = file('utf16.jsonl', utf16);
  for (const report of [await validateFile(path), validateBytes(path, utf16), validateDocument(path, records, { encoding: 'UTF-16LE', bomBytes: 2 })]) {
    assert.deepEqual(report.errors.map((e) => [e.line, e.column]), [[1, 1]]);
    assert.match(report.errors[0].message, /^the file is UTF-16 \(little-endian\); datasets must be UTF-8 — convert it: iconv -f UTF-16LE -t UTF-8 /);
    assert.equal(report.records, 0);
  }
  const bigEndian = await validateFile(file('utf16be.jsonl', Buffer.from(records, 'utf16le').swap16()));
  assert.match(bigEndian.errors.map((e) => e.message).join('\n'), /^the file is UTF-16 \(big-endian, without a byte-order mark\)[^\n]*$/);
  await assert.rejects(readDatasetRecords(path), /utf16\.jsonl: the file is UTF-16 \(little-endian\); datasets must be UTF-8 — convert it/);
  // UTF-8 (with or without its mark) is read as before, whichever way it arrives.
  assert.equal(validateBytes(path, Buffer.from(`\ufeff${records}`)).validRecords, 3);
  assert.equal(validateDocument(path, records, { encoding: 'UTF-8', bomBytes: 3 }).validRecords, 3);
});
