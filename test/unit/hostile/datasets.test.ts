// Hostile and clumsy datasets through `validate` and `train`: encodings (BOM, CRLF, UTF-16, bad UTF-8), empty and
// blank files, a folder or a missing file as the data, records with nothing to train on, JSON nested thousands deep,
// a record far longer than --max-seq-len and a very long line. Each ends with a located error or a correct run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEW_RECORDS } from '../native/train/run-fixture';
import { assertUnchanged, cli, expectOutcome, hostileFixture, snapshot, TINY_TRAIN } from './hostile-cli';

const fx = hostileFixture('datasets');
const lines = FEW_RECORDS.map((r) => JSON.stringify(r));
const trainOn = (data: string, ...flags: string[]) => cli(['train', '--model', fx.model, '--data', data, '--out', fx.path('run'), ...TINY_TRAIN, ...flags]);

test('a JSON line nested 5,000 levels deep is a located error in validate and in train, not a stack overflow', () => {
  const deep = fx.file('deep.jsonl', `${lines[0]}\n{"instruction":"x","output":"y","extra":${'['.repeat(5000)}${']'.repeat(5000)}}\n`);
  expectOutcome(cli(['validate', deep]), 1, /deep-\d+\.jsonl:2:\d+/, /nest/i);
  expectOutcome(trainOn(deep), 1, /deep-\d+\.jsonl:2:\d+/, /nest/i);
});

test('a UTF-8 byte-order mark and CRLF line ends are read as the records they are (exit 0)', () => {
  const bom = fx.file('bom.jsonl', '\uFEFF' + lines.join('\n') + '\n');
  const crlf = fx.file('crlf.jsonl', lines.join('\r\n') + '\r\n');
  for (const data of [bom, crlf]) {
    expectOutcome(cli(['validate', data]), 0, /4 records, 0 errors/);
    expectOutcome(trainOn(data), 0, /tokenized 4 training/, /done after 2 steps/);
  }
});

test('a UTF-16 or UTF-32 file (with or without a byte-order mark) is refused once, naming the encoding and iconv', () => {
  const text = lines.join('\n') + '\n';
  const utf32le = (s: string) => Buffer.concat([...s].map((ch) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(ch.codePointAt(0)!);
    return b;
  }));
  const files: [string, string][] = [
    [fx.file('utf16.jsonl', Buffer.from('\uFEFF' + text, 'utf16le')), 'UTF-16 \\(little-endian\\)'],
    [fx.file('utf16be.jsonl', Buffer.from('\uFEFF' + text, 'utf16le').swap16()), 'UTF-16 \\(big-endian\\)'],
    [fx.file('utf16nobom.jsonl', Buffer.from(text, 'utf16le')), 'UTF-16 \\(little-endian, without a byte-order mark\\)'],
    [fx.file('utf32.jsonl', utf32le('\uFEFF' + text)), 'UTF-32 \\(little-endian\\)'],
  ];
  for (const [data, encoding] of files) {
    const validated = cli(['validate', data]);
    expectOutcome(validated, 1, new RegExp(`${data}:1:1: error: the file is ${encoding}; datasets must be UTF-8 — convert it: iconv -f UTF-(16|32)[LB]E -t UTF-8 ${data} > `), /0 records, 1 error\b/);
    assert.equal(validated.stdout.split('\n').filter((l) => l.includes(': error:')).length, 1, 'one error, not one per line');
    const trained = trainOn(data);
    expectOutcome(trained, 1, new RegExp(`${data}: the file is ${encoding}; datasets must be UTF-8`));
    assert.doesNotMatch(trained.stderr, /:2:1:/, 'one error, not one per line');
  }
});

test('a line of invalid UTF-8 is refused at its line, saying to save as UTF-8', () => {
  const latin1 = fx.file('latin1.jsonl', Buffer.concat([Buffer.from(lines[0] + '\n'), Buffer.from('{"instruction":"Caf\xe9?","output":"oui"}\n', 'latin1')]));
  expectOutcome(cli(['validate', latin1]), 1, /latin1-\d+\.jsonl:2:1: .*not valid UTF-8.*save the file as UTF-8/);
});

test('an empty file and a file of blank lines have no records: said, exit 1', () => {
  for (const data of [fx.file('empty.jsonl', ''), fx.file('blank.jsonl', '\n\n   \n\t\n')]) {
    expectOutcome(cli(['validate', data]), 1, /has no records.*one JSON object per line/);
    expectOutcome(trainOn(data), 1, /has no records/);
  }
});

test('records with 0 trainable tokens are refused: an empty response, or every response truncated away', () => {
  const empty = fx.file('empty-output.jsonl', '{"instruction":"x","output":""}\n{"instruction":"y","output":""}\n');
  expectOutcome(trainOn(empty), 1, /empty-output-\d+\.jsonl:1:\d+: "output" is empty/);
  // Prompts longer than 8 tokens: with --max-seq-len 8 no response token is left in any record.
  const long = fx.file('long-prompts.jsonl', FEW_RECORDS.map((r) => JSON.stringify({ ...r, instruction: `${r.instruction} ${'Please think carefully. '.repeat(4)}` })).join('\n'));
  expectOutcome(trainOn(long, '--max-seq-len', '8'), 1, /no trainable examples in .*long-prompts/, /--max-seq-len/);
});

test('a folder or a missing path as the data is named, exit 1', () => {
  const folder = join(fx.root, 'a-folder.jsonl');
  mkdirSync(folder);
  expectOutcome(cli(['validate', folder]), 1, /a-folder\.jsonl is not a file/);
  expectOutcome(trainOn(folder), 1, /data: .*a-folder\.jsonl is a folder, not a file/);
  expectOutcome(trainOn(join(fx.root, 'missing.jsonl')), 1, /data: file not found: .*missing\.jsonl/);
  expectOutcome(cli(['validate', join(fx.root, 'missing.jsonl')]), 1, /missing\.jsonl/);
});

test('a pretty-printed JSON array instead of JSONL, and a chat record with an unknown role, are located errors', () => {
  const array = fx.file('array.json', JSON.stringify(FEW_RECORDS, null, 2));
  expectOutcome(cli(['validate', array]), 1, /array-\d+\.json:1:\d+/);
  expectOutcome(trainOn(array), 1, /array-\d+\.json:1:\d+/);
  const role = fx.file('role.jsonl', '{"messages":[{"role":"wizard","content":"hi"},{"role":"assistant","content":"yo"}]}\n');
  expectOutcome(cli(['validate', role]), 1, /role-\d+\.jsonl:1:\d+: .*role must be "system", "user" or "assistant", got "wizard"/);
});

test('a malformed --eval-data file is named as the eval file, and the training data stays intact', () => {
  const before = snapshot(fx.data);
  const evalData = fx.file('eval.jsonl', `${lines[0]}\n{"instruction": "x", "output": \n`);
  expectOutcome(trainOn(fx.data, '--eval-data', evalData), 1, /eval-\d+\.jsonl:2:\d+/);
  assertUnchanged(before, fx.data);
});

// Rendering this 2 MB record takes about 2 s of CPU; the chat template's wall-clock budget (5 s) refuses it when
// the machine is loaded, so the same data trains or not by the load (the budget is helper A's, native/data/template-*).
test('a 400k-token record with --max-seq-len 64 is truncated to 64 tokens and trains (exit 0), without growing memory', () => {
  const huge = fx.file('huge.jsonl', JSON.stringify({ instruction: 'Repeat.', output: 'word '.repeat(400_000) }) + '\n' + lines[0] + '\n');
  const result = trainOn(huge, '--max-seq-len', '64');
  expectOutcome(result, 0, /1 truncated to 64 tokens/, /done after 2 steps/);
  const peakMiB = Math.max(...readFileSync(join(result.stdout.match(/adapter: (.+)/)![1], 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).memory_mb as number));
  assert.ok(peakMiB < 2048, `peak ${peakMiB} MiB`);
});

test('one 50 MB line validates in bounded time (linear reading), exit 0', () => {
  const big = fx.file('big-line.jsonl', JSON.stringify({ instruction: 'Summarize.', output: 'x'.repeat(50 * 2 ** 20) }) + '\n');
  const started = Date.now();
  expectOutcome(cli(['validate', big], { timeoutMs: 60_000 }), 0, /1 record, 0 errors/);
  assert.ok(Date.now() - started < 60_000);
});

test('validate never writes to the files it checks', () => {
  const file = fx.file('checked.jsonl', `${lines[0]}\n{"broken": \n`);
  const before = snapshot(file);
  expectOutcome(cli(['validate', file]), 1, /checked-\d+\.jsonl:2:\d+/);
  assertUnchanged(before, file);
  writeFileSync(file, lines.join('\n')); // no final newline: still the records they are
  expectOutcome(cli(['validate', file]), 0, /4 records, 0 errors/);
});

test('a NUL byte, a second byte-order mark and curly quotes are named so they can be found (not "at \'\'")', () => {
  const nul = fx.file('nul.jsonl', `${lines[0]}\u0000\n`);
  const bom = fx.file('bom-twice.jsonl', `\uFEFF\uFEFF${lines[0]}\n`);
  const curly = fx.file('curly.jsonl', '{\u201cinstruction\u201d: \u201cHi\u201d, \u201coutput\u201d: \u201cHello\u201d}\n');
  expectOutcome(cli(['validate', nul]), 1, /nul-\d+\.jsonl:1:\d+: error: malformed JSON: .* at U\+0000 \(an invisible character: remove it\)/);
  expectOutcome(cli(['validate', bom]), 1, /bom-twice-\d+\.jsonl:1:1: error: .* at U\+FEFF \(a byte-order mark inside the line: remove it\)/);
  expectOutcome(cli(['validate', curly]), 1, /curly-\d+\.jsonl:1:2: error: .*typographic quote: JSON needs straight " quotes/);
});
