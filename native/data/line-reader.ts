// Reading a text file's lines in order, once: the one line reader of JSONL files (validate, the trainer's record
// reading, the training panel's dataset summary). It yields to the event loop after every chunk and is cancellable.
//
// Linear in the line length: a line longer than a chunk is never grown by concatenation (Buffer.concat of the head of
// a 200 MB line once per 4 MiB chunk is quadratic: 120 s reported); its end is found first and then it is read once
// into a buffer of its exact size, so memory is the line plus one chunk.
import { constants as bufferConstants } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { abortError, DEFAULT_CHUNK_BYTES, readRange, type ScanOptions } from './line-index';
import { utf8Start } from './text-encoding';

const NEWLINE = 0x0a;

/** The longest line forEachLine decodes: V8's longest string (a UTF-8 byte is at most one UTF-16 unit). */
export const MAX_LINE_BYTES = bufferConstants.MAX_STRING_LENGTH;

export interface LineReadOptions extends ScanOptions {
  /** Lines longer than this are not read: onTooLong receives their number and length instead (default MAX_LINE_BYTES). */
  maxLineBytes?: number;
  onTooLong?: (lineNumber: number, bytes: number) => void;
  /** Filled in as the file is read: what a test counts to see the reading is linear. */
  stats?: LineReadStats;
  /** Polled with the signal after every chunk (a run's stop flag, set by a signal handler or a window's `stop`). */
  stopRequested?: () => boolean;
}

export interface LineReadStats {
  /** Bytes read from the file (a line longer than a chunk is read twice: once to find its end, once to keep). */
  bytesRead: number;
  /** Bytes moved inside memory (the unfinished line at the end of a chunk, moved to the chunk's start). */
  bytesCopied: number;
}

/**
 * Calls `visit` with each line of `path` in order: its bytes without LF (a CR before it is kept, for the caller to
 * judge) and its 1-based number. A UTF-8 BOM at the start is dropped; a UTF-16 or UTF-32 file throws NotUtf8Error
 * before any line. `line` is only valid during the call (it may view the chunk buffer). Throws AbortError when the
 * signal is aborted; the signal is checked after every chunk.
 */
export async function forEachLine(path: string, visit: (line: Buffer, lineNumber: number) => void, options: LineReadOptions = {}): Promise<number> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  const stats = options.stats ?? { bytesRead: 0, bytesCopied: 0 };
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const chunk = Buffer.allocUnsafe(chunkBytes);
    let lineNumber = 0;
    // chunk[0, held) holds the file's bytes [position - held, position): the unfinished line from the last read.
    let held = 0;
    // A UTF-16/32 file is refused once, not line by line; a UTF-8 byte order mark is not part of the first line.
    let position = await utf8Start(handle, path);
    const pause = async () => {
      options.onProgress?.(Math.min(1, position / Math.max(1, size)));
      await nextTurn();
      if (options.signal?.aborted || options.stopRequested?.()) throw abortError();
    };
    if (options.signal?.aborted || options.stopRequested?.()) throw abortError();
    for (;;) {
      const { bytesRead } = await handle.read(chunk, held, chunkBytes - held, position);
      stats.bytesRead += bytesRead;
      position += bytesRead;
      const filled = held + bytesRead;
      const view = chunk.subarray(0, filled);
      let start = 0;
      for (let newline = view.indexOf(NEWLINE, start); newline !== -1; newline = view.indexOf(NEWLINE, start)) {
        visit(view.subarray(start, newline), ++lineNumber);
        start = newline + 1;
      }
      if (bytesRead === 0) {
        // End of file (or it shrank): what is held is the last line, without a final newline.
        if (start < filled) visit(view.subarray(start), ++lineNumber);
        return lineNumber;
      }
      if (start > 0 || filled < chunkBytes) {
        if (start > 0 && start < filled) {
          chunk.copy(chunk, 0, start, filled);
          stats.bytesCopied += filled - start;
        }
        held = filled - start;
      } else {
        // The chunk is one unfinished line: find where it ends, then read it whole, once, into a buffer of its size.
        const lineStart = position - filled;
        const { end, newline } = await findLineEnd(handle, chunk, position, stats, pause);
        if (end - lineStart > maxLineBytes) options.onTooLong?.(++lineNumber, end - lineStart);
        else {
          const line = await readRange(handle, lineStart, end);
          stats.bytesRead += line.length;
          visit(line, ++lineNumber);
        }
        if (!newline) return lineNumber;
        position = end + 1;
        held = 0;
      }
      await pause();
    }
  } finally {
    await handle.close();
  }
}

/** Where the line continuing at `from` ends: the offset of its LF, or the end of the file when it has none. */
async function findLineEnd(handle: FileHandle, chunk: Buffer, from: number, stats: LineReadStats, pause: () => Promise<void>): Promise<{ end: number; newline: boolean }> {
  for (let position = from; ; ) {
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
    stats.bytesRead += bytesRead;
    if (bytesRead === 0) return { end: position, newline: false };
    const newline = chunk.subarray(0, bytesRead).indexOf(NEWLINE);
    if (newline !== -1) return { end: position + newline, newline: true };
    position += bytesRead;
    await pause();
  }
}
