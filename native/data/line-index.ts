// Line index of a text file of any size: one streaming pass records the byte offset of every line start, then lines
// are read on demand (only their bytes) and scans (search, statistics) walk the file chunk by chunk, cancellably.
// Nothing here ever holds the whole file: a 1 GB JSONL file costs 8 bytes per line plus one chunk buffer. Reading a
// file's lines in order, once, is line-reader.ts's forEachLine. Both refuse a UTF-16/32 file the same way (one
// NotUtf8Error, text-encoding.ts): indexed by LF bytes it would show a garbage line per record.
import { open, type FileHandle } from 'node:fs/promises';
import { utf8Start } from './text-encoding';

const NEWLINE = 0x0a;
const CR = 0x0d;
/** 4 MiB reads: large enough that syscalls are negligible, small enough to keep the resident set flat. */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

export interface LineIndex {
  readonly path: string;
  /** File size in bytes and modification time when indexed (to notice a file that changed underneath). */
  readonly size: number;
  readonly mtimeMs: number;
  /** 3 when the file starts with a UTF-8 byte order mark (line 0 then starts after it), else 0. */
  readonly bomLength: number;
  readonly lineCount: number;
  /**
   * Byte offset of the start of each line (0-based line i at starts[i]); starts[lineCount] is the end of the file,
   * so line i spans [starts[i], starts[i+1]) including its newline. Float64 keeps offsets exact past 4 GiB.
   */
  readonly starts: Float64Array;
  /** 0-based numbers of the lines with no content (empty, or a lone CR): JSONL readers skip them. */
  readonly blankLines: Uint32Array;
}

export interface ScanOptions {
  chunkBytes?: number;
  signal?: AbortSignal;
  /** Called after each chunk with the fraction done (0..1). */
  onProgress?: (fraction: number) => void;
}

/** Thrown (as an Error named AbortError) when an index pass is cancelled through its signal. */
export function abortError(): Error {
  const error = new Error('cancelled');
  error.name = 'AbortError';
  return error;
}

/** Growable typed array: doubling keeps pushes amortised O(1) without a JS array of boxed numbers. */
class GrowableF64 {
  data: Float64Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new Float64Array(Math.max(16, capacity));
  }
  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  /** The exact-length result; copies only when the slack is large (a trim costs a copy of the whole array). */
  finish(): Float64Array {
    const used = this.data.subarray(0, this.length);
    return this.length < this.data.length * 0.75 ? used.slice() : used;
  }
}

/**
 * Streams `path` once and indexes its lines. Handles a UTF-8 BOM, CRLF, empty lines and a missing final newline; a
 * UTF-16 or UTF-32 file throws NotUtf8Error before any line.
 */
export async function indexLines(path: string, options: ScanOptions = {}): Promise<LineIndex> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const handle = await open(path, 'r');
  try {
    const stat = await handle.stat();
    const size = stat.size;
    // A guess of ~256 bytes per record saves most of the doublings on typical datasets.
    const starts = new GrowableF64(Math.min(1 << 22, Math.ceil(size / 256) + 1));
    const blanks: number[] = [];
    const buffer = Buffer.allocUnsafe(chunkBytes);
    // A UTF-8 byte order mark is not part of line 0; another encoding is refused before any line.
    const bomLength = await utf8Start(handle, path);
    let lineStart = bomLength;
    let previousByte = -1;
    let position = 0;
    while (position < size) {
      if (options.signal?.aborted) throw abortError();
      const { bytesRead } = await handle.read(buffer, 0, Math.min(chunkBytes, size - position), position);
      if (bytesRead === 0) break; // The file shrank while we read it; index what exists.
      const chunk = buffer.subarray(0, bytesRead);
      for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) {
        const newline = position + i;
        const length = newline - lineStart;
        const before = i > 0 ? chunk[i - 1] : previousByte;
        if (length === 0 || (length === 1 && before === CR)) blanks.push(starts.length);
        starts.push(lineStart);
        lineStart = newline + 1;
      }
      previousByte = chunk[bytesRead - 1];
      position += bytesRead;
      options.onProgress?.(position / size);
    }
    // `position` is what was actually read: less than `size` only if the file shrank during the pass.
    const end = Math.max(position, lineStart);
    if (lineStart < end) {
      // A last line without a final newline (a lone CR there still counts as blank).
      if (end - lineStart === 1 && previousByte === CR) blanks.push(starts.length);
      starts.push(lineStart);
    }
    const lineCount = starts.length;
    starts.push(end);
    return {
      path,
      size,
      mtimeMs: stat.mtimeMs,
      bomLength,
      lineCount,
      starts: starts.finish(),
      blankLines: Uint32Array.from(blanks),
    };
  } finally {
    await handle.close();
  }
}

/** The text of one line as stored between offsets: without its LF or CRLF. */
function stripEol(text: string): string {
  if (text.endsWith('\n')) text = text.slice(0, -1);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  return text;
}

/** Splits decoded text that covers whole lines [from, from+n) into exactly n lines. */
function splitWholeLines(text: string, n: number): string[] {
  const parts = text.split('\n');
  // Whole lines end with '\n' except possibly the file's last, so split leaves one trailing '' to drop.
  if (parts.length > n) parts.length = n;
  return parts.map((part) => (part.endsWith('\r') ? part.slice(0, -1) : part));
}

/** Bytes [start, end) of an open file (fewer only if the file shrank). */
export async function readRange(handle: FileHandle, start: number, end: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(end - start);
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, start + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

/** Reads `count` lines from 0-based line `from` (clamped to the file), fetching only their bytes. */
export async function readLines(index: LineIndex, from: number, count: number): Promise<string[]> {
  const first = Math.max(0, Math.min(from, index.lineCount));
  const last = Math.max(first, Math.min(from + count, index.lineCount));
  if (last === first) return [];
  const handle = await open(index.path, 'r');
  try {
    const bytes = await readRange(handle, index.starts[first], index.starts[last]);
    return splitWholeLines(bytes.toString('utf8'), last - first);
  } finally {
    await handle.close();
  }
}

/** Reads a set of (not necessarily adjacent) 0-based lines, e.g. the visible rows of a search result. */
export async function readLineSet(index: LineIndex, lines: ArrayLike<number>): Promise<string[]> {
  const handle = await open(index.path, 'r');
  try {
    const out: string[] = [];
    for (let k = 0; k < lines.length; k++) {
      const line = lines[k];
      if (line < 0 || line >= index.lineCount) throw new RangeError(`line ${line} is outside 0..${index.lineCount - 1}`);
      out.push(stripEol((await readRange(handle, index.starts[line], index.starts[line + 1])).toString('utf8')));
    }
    return out;
  } finally {
    await handle.close();
  }
}

/**
 * Visits the lines [from, to) in order, reading chunks of whole lines: `visitChunk` receives the first line number
 * of the chunk and its lines. A line longer than the chunk size is read alone. Throws AbortError when cancelled.
 */
export async function scanChunks(
  index: LineIndex,
  visitChunk: (firstLine: number, lines: string[]) => unknown,
  options: ScanOptions & { from?: number; to?: number } = {},
): Promise<void> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const from = Math.max(0, options.from ?? 0);
  const to = Math.min(index.lineCount, options.to ?? index.lineCount);
  const { starts } = index;
  const totalBytes = Math.max(1, starts[to] - starts[from]);
  const handle = await open(index.path, 'r');
  try {
    for (let line = from; line < to; ) {
      if (options.signal?.aborted) throw abortError();
      const last = lastLineWithin(starts, line, to, starts[line] + chunkBytes);
      const bytes = await readRange(handle, starts[line], starts[last]);
      // Awaited: a visitor may hand the chunk to a worker (the preview renders chat templates out of the host's thread).
      await visitChunk(line, splitWholeLines(bytes.toString('utf8'), last - line));
      line = last;
      options.onProgress?.((starts[line] - starts[from]) / totalBytes);
      // Yield to the event loop so the host stays responsive and cancellation can arrive between chunks.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    await handle.close();
  }
}

/** The largest end line e in (line, to] with starts[e] <= limit (binary search), at least line + 1. */
function lastLineWithin(starts: Float64Array, line: number, to: number, limit: number): number {
  let lo = line + 1;
  let hi = to;
  if (starts[lo] > limit) return lo;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid] <= limit) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export interface SearchOptions extends ScanOptions {
  caseSensitive?: boolean;
  /** Receives each chunk's matches (0-based line numbers, ascending) as soon as that chunk is scanned. */
  onMatches?: (lines: number[], fraction: number) => void;
}

export interface SearchResult {
  lines: Uint32Array;
  /** False when the signal cancelled the search; `lines` then holds what was found so far. */
  complete: boolean;
}

/** Finds the lines whose text contains `query`, scanning the file in chunks. An empty query matches nothing. */
export async function searchLines(index: LineIndex, query: string, options: SearchOptions = {}): Promise<SearchResult> {
  const found: number[] = [];
  if (query.length === 0) return { lines: new Uint32Array(0), complete: true };
  const needle = options.caseSensitive ? query : query.toLowerCase();
  let batch: number[] = [];
  const visit = (firstLine: number, lines: string[]): void => {
    batch = [];
    for (let k = 0; k < lines.length; k++) {
      const text = options.caseSensitive ? lines[k] : lines[k].toLowerCase();
      if (text.includes(needle)) batch.push(firstLine + k);
    }
    for (const line of batch) found.push(line);
  };
  try {
    await scanChunks(index, visit, {
      ...options,
      onProgress: (fraction) => {
        options.onMatches?.(batch, fraction);
        options.onProgress?.(fraction);
      },
    });
  } catch (error) {
    if (error instanceof Error && error.name === 'AbortError') return { lines: Uint32Array.from(found), complete: false };
    throw error;
  }
  return { lines: Uint32Array.from(found), complete: true };
}
