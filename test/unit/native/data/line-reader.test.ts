// Tests native/data/line-reader.ts: forEachLine gives the lines a whole-file reader would (every chunk size, lines
// longer than a chunk, BOM, CRLF, no final newline), reads linearly (counted, not timed), skips over-long lines and
// stops when asked.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachLine } from '../../../../native/data/line-reader';

const dir = mkdtempSync(join(tmpdir(), 'line-reader-'));
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

/** forEachLine's lines as text (its CR kept, so stripped here as the reference does). */
async function streamedLines(path: string, options: Parameters<typeof forEachLine>[2] = {}): Promise<string[]> {
  const lines: string[] = [];
  let previous = 0;
  await forEachLine(path, (bytes, lineNumber) => {
    assert.ok(lineNumber > previous, `line ${lineNumber} came after ${previous}`);
    previous = lineNumber;
    lines.push(bytes.toString('utf8').replace(/\r$/, ''));
  }, options);
  return lines;
}

test('forEachLine gives the reference lines for every chunk size, lines longer than a chunk included', async () => {
  const long = 'x'.repeat(1000);
  const cases = [
    '', '\n', 'a', 'a\n', '\uFEFFa\r\nb', '\uFEFF' + long, `${long}\n${long}`, `a\n${long}\n\nb\r\n${long}\r\n`,
    `${'y'.repeat(64)}\n${'z'.repeat(63)}\n${'w'.repeat(65)}`, `é${long}ü\n\n`, '\n\n\n', `${long}\n`,
  ];
  for (const content of cases) {
    const path = fixture(content);
    for (const chunkBytes of [1, 2, 3, 7, 64, 1 << 20]) {
      assert.deepEqual(await streamedLines(path, { chunkBytes }), referenceLines(content), `chunk ${chunkBytes}: ${JSON.stringify(content.slice(0, 20))}…`);
    }
  }
});

test('forEachLine is linear in a long line: each byte is read at most about three times and copied at most once', async () => {
  // A line of 1 MB read through 256-byte chunks: growing it by concatenation would copy ~2 GB (4,000 chunks × 0.5 MB).
  const line = 'q'.repeat(1 << 20);
  const content = `short\n${line}\nmiddle\n${line}`;
  const path = fixture(content);
  const stats = { bytesRead: 0, bytesCopied: 0 };
  const lines = await streamedLines(path, { chunkBytes: 256, stats });
  assert.deepEqual(lines.map((l) => l.length), [5, line.length, 6, line.length]);
  assert.ok(stats.bytesRead <= 3 * content.length + 4 * 256, `read ${stats.bytesRead} bytes of a ${content.length}-byte file`);
  assert.ok(stats.bytesCopied <= content.length, `copied ${stats.bytesCopied} bytes of a ${content.length}-byte file`);
});

test('forEachLine hands a line over maxLineBytes to onTooLong by its length and goes on', async () => {
  const path = fixture(`a\n${'b'.repeat(500)}\nc\n${'d'.repeat(300)}`);
  const tooLong: Array<[number, number]> = [];
  const lines = await streamedLines(path, { chunkBytes: 16, maxLineBytes: 200, onTooLong: (n, bytes) => tooLong.push([n, bytes]) });
  assert.deepEqual(lines, ['a', 'c']);
  assert.deepEqual(tooLong, [[2, 500], [4, 300]]);
});

test('forEachLine stops with an AbortError between chunks once aborted or stopRequested', async () => {
  const path = fixture('line\n'.repeat(10_000));
  for (const how of ['signal', 'stopRequested'] as const) {
    const controller = new AbortController();
    let stop = false;
    let seen = 0;
    await assert.rejects(
      forEachLine(path, () => {
        if (++seen === 100) (how === 'signal' ? controller.abort() : (stop = true));
      }, { chunkBytes: 1000, signal: controller.signal, stopRequested: () => stop }),
      (error: Error) => error.name === 'AbortError',
    );
    assert.ok(seen < 400, `${how}: ${seen} lines were visited after the stop at 100 (a chunk holds 200)`);
  }
});
