// native/data/text-encoding.ts: the encoding from the byte-order mark, else from RFC 4627's NUL pattern, checked on
// text Node itself encodes (so the expected bytes are not ours); the refusal names the encoding and a command that
// converts the file, and the file that command writes is read as the same records (iconv's behaviour, simulated
// with Node's decoder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectEncoding, fileEncodingSync, NotUtf8Error, utf8Start, type TextEncoding } from '../../../../native/data/text-encoding';

const text = '{"instruction":"é?","output":"ok"}\n';
const swap16 = (b: Buffer) => Buffer.from(b).swap16();
const utf32le = (s: string) => {
  const out = Buffer.alloc([...s].length * 4);
  [...s].forEach((ch, i) => out.writeUInt32LE(ch.codePointAt(0)!, i * 4));
  return out;
};
const utf32be = (s: string) => Buffer.from(utf32le(s)).swap32();
const BOM = '\ufeff';

test('byte-order marks name UTF-8, UTF-16 and UTF-32 in either byte order, with the mark\'s length', () => {
  const cases: [Buffer, TextEncoding, number][] = [
    [Buffer.from(BOM + text, 'utf8'), 'UTF-8', 3],
    [Buffer.from(BOM + text, 'utf16le'), 'UTF-16LE', 2],
    [swap16(Buffer.from(BOM + text, 'utf16le')), 'UTF-16BE', 2],
    [utf32le(BOM + text), 'UTF-32LE', 4],
    [utf32be(BOM + text), 'UTF-32BE', 4],
  ];
  for (const [bytes, encoding, bomBytes] of cases) assert.deepEqual(detectEncoding(bytes.subarray(0, 4)), { encoding, bomBytes }, encoding);
});

test('without a mark, the NUL bytes of the first two ASCII characters say UTF-16 or UTF-32 and the byte order', () => {
  const cases: [Buffer, TextEncoding][] = [
    [Buffer.from(text, 'utf8'), 'UTF-8'],
    [Buffer.from(text, 'utf16le'), 'UTF-16LE'],
    [swap16(Buffer.from(text, 'utf16le')), 'UTF-16BE'],
    [utf32le(text), 'UTF-32LE'],
    [utf32be(text), 'UTF-32BE'],
    [Buffer.from('\n' + text, 'utf16le'), 'UTF-16LE'], // a blank first line
  ];
  for (const [bytes, encoding] of cases) assert.deepEqual(detectEncoding(bytes.subarray(0, 4)), { encoding, bomBytes: 0 }, encoding);
});

test('short files, a file of zeros (a torn write) and non-ASCII UTF-8 are UTF-8: their lines are judged one by one', () => {
  for (const bytes of [[], [0x7b], [0x7b, 0x7d], [0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0xc3, 0xa9, 0x7b, 0x00], [0xff]]) {
    assert.equal(detectEncoding(Buffer.from(bytes)).encoding, 'UTF-8', JSON.stringify(bytes));
  }
});

test('the refusal names the encoding, the byte order and an iconv command writing a .utf8 file beside it', () => {
  const error = new NotUtf8Error('/data/my set.jsonl', { encoding: 'UTF-16LE', bomBytes: 2 });
  assert.equal(error.message, "/data/my set.jsonl: the file is UTF-16 (little-endian); datasets must be UTF-8 — convert it: iconv -f UTF-16LE -t UTF-8 '/data/my set.jsonl' > '/data/my set.utf8.jsonl' (or re-save it as UTF-8 in your editor)");
  assert.equal(error.code, 'not-utf8');
  assert.match(new NotUtf8Error('d/train', { encoding: 'UTF-32BE', bomBytes: 0 }).problem, /^the file is UTF-32 \(big-endian, without a byte-order mark\); .*iconv -f UTF-32BE -t UTF-8 d\/train > d\/train\.utf8\.jsonl/);
});

test('fileEncodingSync reads a file\'s first bytes; a missing file is undefined, not a throw', () => {
  const dir = mkdtempSync(join(tmpdir(), 'encoding-'));
  writeFileSync(join(dir, 'a.jsonl'), Buffer.from(BOM + text, 'utf16le'));
  writeFileSync(join(dir, 'short.jsonl'), '{');
  assert.deepEqual(fileEncodingSync(join(dir, 'a.jsonl')), { encoding: 'UTF-16LE', bomBytes: 2 });
  assert.deepEqual(fileEncodingSync(join(dir, 'short.jsonl')), { encoding: 'UTF-8', bomBytes: 0 });
  assert.equal(fileEncodingSync(join(dir, 'missing.jsonl')), undefined);
});

test('utf8Start is where an open UTF-8 file\'s text starts (after its BOM); a UTF-16 file throws NotUtf8Error naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'encoding-'));
  const cases: Array<[string, Buffer, number | TextEncoding]> = [
    ['bom.jsonl', Buffer.from(BOM + text), 3],
    ['plain.jsonl', Buffer.from(text), 0],
    ['empty.jsonl', Buffer.alloc(0), 0],
    ['wide.jsonl', Buffer.from(text, 'utf16le'), 'UTF-16LE'],
  ];
  for (const [name, bytes, expected] of cases) {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    const handle = await open(path, 'r');
    try {
      if (typeof expected === 'number') assert.equal(await utf8Start(handle, path), expected, name);
      else {
        await assert.rejects(utf8Start(handle, path), (error: unknown) => {
          assert.ok(error instanceof NotUtf8Error, name);
          assert.equal(error.file, path);
          assert.equal(error.detected.encoding, expected);
          return true;
        });
      }
    } finally {
      await handle.close();
    }
  }
});
