// A dataset's text encoding, from its first bytes: datasets are UTF-8 (a UTF-8 byte-order mark is fine); a UTF-16 or
// UTF-32 file (Windows' "Unicode" in Notepad, PowerShell 5's `>` redirection) is refused once, naming the encoding
// and the command that converts it, instead of an error on every line (its NUL bytes are valid UTF-8, so each line
// read as UTF-8 is "malformed JSON"). Detection is the byte-order mark, else RFC 4627 §3's pattern of NUL bytes in
// the first four: JSON text starts with two ASCII characters, so 00 00 00 xx is UTF-32BE, 00 xx 00 xx UTF-16BE,
// xx 00 00 00 UTF-32LE and xx 00 xx 00 UTF-16LE.
import { closeSync, openSync, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { UserError } from '../util/errors';

export type TextEncoding = 'UTF-8' | 'UTF-16LE' | 'UTF-16BE' | 'UTF-32LE' | 'UTF-32BE';

export interface DetectedEncoding {
  encoding: TextEncoding;
  /** Bytes of the byte-order mark at the start (0 when there is none). */
  bomBytes: number;
}

/** How many of a file's first bytes detectEncoding needs. */
export const ENCODING_HEAD_BYTES = 4;

/** The encoding of a file that starts with `head` (its first ENCODING_HEAD_BYTES bytes, or all of a shorter file). */
export function detectEncoding(head: Uint8Array): DetectedEncoding {
  const [a, b, c, d] = [head[0], head[1], head[2], head[3]];
  const n = head.length;
  // UTF-32LE's mark starts with UTF-16LE's: the longer one first.
  if (n >= 4 && a === 0xff && b === 0xfe && c === 0 && d === 0) return { encoding: 'UTF-32LE', bomBytes: 4 };
  if (n >= 4 && a === 0 && b === 0 && c === 0xfe && d === 0xff) return { encoding: 'UTF-32BE', bomBytes: 4 };
  if (n >= 3 && a === 0xef && b === 0xbb && c === 0xbf) return { encoding: 'UTF-8', bomBytes: 3 };
  if (n >= 2 && a === 0xff && b === 0xfe) return { encoding: 'UTF-16LE', bomBytes: 2 };
  if (n >= 2 && a === 0xfe && b === 0xff) return { encoding: 'UTF-16BE', bomBytes: 2 };
  if (n >= 4) {
    // The ASCII characters must not be NUL themselves: a file of zeros (a torn write) is not UTF-32.
    if (a === 0 && b === 0 && c === 0 && d !== 0) return { encoding: 'UTF-32BE', bomBytes: 0 };
    if (a !== 0 && b === 0 && c === 0 && d === 0) return { encoding: 'UTF-32LE', bomBytes: 0 };
    if (a === 0 && b !== 0 && c === 0 && d !== 0) return { encoding: 'UTF-16BE', bomBytes: 0 };
    if (a !== 0 && b === 0 && c !== 0 && d === 0) return { encoding: 'UTF-16LE', bomBytes: 0 };
  }
  return { encoding: 'UTF-8', bomBytes: 0 };
}

/** The encoding of the file at `path` (its first bytes only); undefined when it cannot be read. */
export function fileEncodingSync(path: string): DetectedEncoding | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(ENCODING_HEAD_BYTES);
    return detectEncoding(head.subarray(0, readSync(fd, head, 0, head.length, 0)));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Where an open UTF-8 file's text starts: the byte count of its UTF-8 byte-order mark (0 without one), which is not
 * part of the first line. A UTF-16/32 file throws NotUtf8Error, so it is refused once, not line by line.
 */
export async function utf8Start(handle: FileHandle, path: string): Promise<number> {
  const head = Buffer.alloc(ENCODING_HEAD_BYTES);
  const { bytesRead } = await handle.read(head, 0, head.length, 0);
  const detected = detectEncoding(head.subarray(0, bytesRead));
  if (detected.encoding !== 'UTF-8') throw new NotUtf8Error(path, detected);
  return detected.bomBytes;
}

/** A path as one shell word (quoted only when it needs to be). */
function shellWord(path: string): string {
  return /^[\w./@%+=:,-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

/** The refusal of a dataset that is not UTF-8: the encoding, and the command that converts it beside the file. */
export class NotUtf8Error extends UserError {
  /** What is wrong and the fix, without the file's location (for a report that places it itself). */
  readonly problem: string;

  constructor(readonly file: string, readonly detected: DetectedEncoding) {
    const [bits, order] = detected.encoding.split(/(?=[LB]E$)/);
    const what = `the file is ${bits} (${order === 'LE' ? 'little' : 'big'}-endian${detected.bomBytes === 0 ? ', without a byte-order mark' : ''}); datasets must be UTF-8`;
    const converted = file.replace(/(\.[^./\\]*)?$/, (ext) => `.utf8${ext || '.jsonl'}`);
    const fix = `convert it: iconv -f ${detected.encoding} -t UTF-8 ${shellWord(file)} > ${shellWord(converted)} (or re-save it as UTF-8 in your editor)`;
    super(what, { where: { file }, fix, code: 'not-utf8' });
    this.problem = `${what} — ${fix}`;
  }
}
