import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexLines, readLines, readLineSet, scanChunks, searchLines } from '../../../../native/data/line-index';
import { NotUtf8Error } from '../../../../native/data/text-encoding';

const dir = mkdtempSync(join(tmpdir(), 'line-index-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
function fixture(content: string | Buffer): string {
  const path = join(dir, `f${fileCount++}.jsonl`);
  writeFileSync(path, content);
  return path;
}

/** Independent reference: what a reader that loads the whole file would call its lines. */
function referenceLines(content: string): string[] {
  const text = content.startsWith('\uFEFF') ? content.slice(1) : content;
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => line.replace(/\r$/, ''));
}

async function allLines(path: string, chunkBytes?: number): Promise<string[]> {
  const index = await indexLines(path, { chunkBytes });
  return readLines(index, 0, index.lineCount);
}

test('CRLF, BOM, empty lines and no trailing newline', async () => {
  const cases = ['', '\n', 'a', 'a\n', 'a\r\nb\r\n', '\uFEFF{"x":1}\n{"y":2}', '\uFEFF', 'a\n\n\nb\n', '\r\n\r\nz', 'é\nü\r\n'];
  for (const content of cases) {
    for (const chunk of [3, 4, 5, 64]) {
      assert.deepEqual(await allLines(fixture(content), chunk), referenceLines(content), `${JSON.stringify(content)} @${chunk}`);
    }
  }
});

test('BOM is skipped and reported; blank lines are listed', async () => {
  const index = await indexLines(fixture('\uFEFF{"a":1}\r\n\r\n{"b":2}\n\n'));
  assert.equal(index.bomLength, 3);
  assert.equal(index.lineCount, 4);
  assert.deepEqual([...index.blankLines], [1, 3]);
  assert.equal(index.starts[0], 3);
  assert.deepEqual(await readLines(index, 0, 1), ['{"a":1}']);
});

test('a UTF-16 or UTF-32 file is refused once, as forEachLine does, not indexed into a garbage line per record', async () => {
  const text = '{"instruction":"a","output":"b"}\n{"instruction":"c","output":"d"}\n';
  const utf16be = Buffer.from(text, 'utf16le').swap16();
  const utf32le = Buffer.concat([...text].map((c) => { const b = Buffer.alloc(4); b.writeUInt32LE(c.codePointAt(0) ?? 0); return b; }));
  const cases: [Buffer, string, RegExp][] = [
    [Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'UTF-16LE', /UTF-16 \(little-endian\)/],
    [utf16be, 'UTF-16BE', /UTF-16 \(big-endian, without a byte-order mark\)/],
    [utf32le, 'UTF-32LE', /UTF-32 \(little-endian, without a byte-order mark\)/],
  ];
  for (const [bytes, encoding, what] of cases) {
    const path = fixture(bytes);
    await assert.rejects(indexLines(path), (error: unknown) => {
      assert.ok(error instanceof NotUtf8Error, String(error));
      assert.equal(error.detected.encoding, encoding);
      assert.ok(error.message.startsWith(`${path}: `), error.message);
      assert.match(error.message, what);
      assert.match(error.message, new RegExp(`iconv -f ${encoding} -t UTF-8 `));
      return true;
    });
  }
});

test('random files agree with the whole-file reference at every chunk size', async () => {
  let seed = 7;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const pieces = ['a', 'é', '\n', '\r\n', '\r', '{"k":"v"}', ' ', '😀', '\n\n'];
  for (let trial = 0; trial < 60; trial++) {
    let content = rand(3) === 0 ? '\uFEFF' : '';
    const length = rand(40);
    for (let i = 0; i < length; i++) content += pieces[rand(pieces.length)];
    const path = fixture(content);
    const expected = referenceLines(content);
    for (const chunk of [3, 7, 16, 1 << 20]) assert.deepEqual(await allLines(path, chunk), expected, JSON.stringify(content));
    const index = await indexLines(path, { chunkBytes: 5 });
    const blanks = expected.flatMap((line, i) => (line === '' ? [i] : []));
    assert.deepEqual([...index.blankLines], blanks, JSON.stringify(content));
  }
});

test('readLines and readLineSet read exact ranges and clamp at the end', async () => {
  const content = Array.from({ length: 100 }, (_, i) => `{"n":${i}}`).join('\r\n') + '\r\n';
  const index = await indexLines(fixture(content), { chunkBytes: 13 });
  assert.equal(index.lineCount, 100);
  assert.deepEqual(await readLines(index, 40, 3), ['{"n":40}', '{"n":41}', '{"n":42}']);
  assert.deepEqual(await readLines(index, 98, 10), ['{"n":98}', '{"n":99}']);
  assert.deepEqual(await readLines(index, 100, 5), []);
  assert.deepEqual(await readLineSet(index, [99, 0, 50]), ['{"n":99}', '{"n":0}', '{"n":50}']);
  await assert.rejects(readLineSet(index, [100]), RangeError);
});

test('scanChunks visits every line once, in order, with progress up to 1', async () => {
  const content = Array.from({ length: 1000 }, (_, i) => 'x'.repeat(i % 37) + i).join('\n');
  const index = await indexLines(fixture(content));
  const seen: string[] = [];
  const progress: number[] = [];
  await scanChunks(index, (first, lines) => {
    assert.equal(first, seen.length);
    seen.push(...lines);
  }, { chunkBytes: 100, onProgress: (f) => progress.push(f) });
  assert.deepEqual(seen, referenceLines(content));
  assert.ok(progress.length > 10);
  assert.equal(progress[progress.length - 1], 1);
  // A line longer than a chunk is still read whole.
  const long = await indexLines(fixture(`${'y'.repeat(500)}\nz\n`));
  const got: string[] = [];
  await scanChunks(long, (_first, lines) => got.push(...lines), { chunkBytes: 10 });
  assert.deepEqual(got, ['y'.repeat(500), 'z']);
});

test('search is case-insensitive by default, incremental, and cancellable', async () => {
  const content = Array.from({ length: 5000 }, (_, i) => `{"instruction":"${i % 10 === 3 ? 'Needle' : 'hay'} ${i}"}`).join('\n');
  const index = await indexLines(fixture(content));
  const expected = referenceLines(content).flatMap((line, i) => (line.toLowerCase().includes('needle') ? [i] : []));
  const batches: number[][] = [];
  const result = await searchLines(index, 'NEEDLE', { chunkBytes: 2000, onMatches: (lines) => batches.push([...lines]) });
  assert.equal(result.complete, true);
  assert.deepEqual([...result.lines], expected);
  assert.ok(batches.length > 10, 'matches arrive per chunk');
  assert.deepEqual(batches.flat(), expected);
  assert.equal((await searchLines(index, 'NEEDLE', { caseSensitive: true })).lines.length, 0);
  assert.equal((await searchLines(index, '')).lines.length, 0);

  const controller = new AbortController();
  let chunks = 0;
  const partial = await searchLines(index, 'needle', {
    chunkBytes: 2000,
    signal: controller.signal,
    onMatches: () => {
      if (++chunks === 3) controller.abort();
    },
  });
  assert.equal(partial.complete, false);
  assert.ok(partial.lines.length > 0 && partial.lines.length < expected.length);
  assert.deepEqual([...partial.lines], expected.slice(0, partial.lines.length));
});

test('indexing is cancellable and reports progress', async () => {
  const path = fixture('a\n'.repeat(10000));
  const controller = new AbortController();
  const fractions: number[] = [];
  await assert.rejects(
    indexLines(path, { chunkBytes: 1000, signal: controller.signal, onProgress: (f) => (fractions.push(f), f > 0.4 && controller.abort()) }),
    { name: 'AbortError' },
  );
  assert.ok(fractions.length >= 2 && fractions.length < 20);
});

test('a ~50 MB file indexes quickly with bounded memory', async () => {
  const path = join(dir, 'big.jsonl');
  const fd = openSync(path, 'w');
  const lines = 400_000;
  let batch = '';
  let bytes = 0;
  for (let i = 0; i < lines; i++) {
    batch += `{"instruction":"row ${i}","input":"","output":"${'o'.repeat(60 + (i % 200))}"}\n`;
    if (batch.length > 1 << 20 || i === lines - 1) {
      bytes += writeSync(fd, batch);
      batch = '';
    }
  }
  closeSync(fd);
  assert.ok(bytes > 45e6, `fixture is ${bytes} bytes`);
  global.gc?.();
  const before = process.memoryUsage();
  const started = performance.now();
  let peak = 0;
  const index = await indexLines(path, {
    onProgress: () => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.heapUsed + m.arrayBuffers - before.heapUsed - before.arrayBuffers);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  assert.equal(index.lineCount, lines);
  // 8 bytes per line for the offsets plus one 4 MiB read buffer; far below the 50 MB of the file.
  assert.ok(peak < 16e6, `memory grew by ${(peak / 1e6).toFixed(1)} MB while indexing`);
  assert.ok(seconds < 5, `indexing took ${seconds.toFixed(2)} s`);
  assert.deepEqual(await readLines(index, 123_456, 1), [`{"instruction":"row 123456","input":"","output":"${'o'.repeat(60 + (123_456 % 200))}"}`]);
  assert.equal(index.starts[index.lineCount], bytes);
});

