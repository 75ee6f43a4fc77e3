// jsonc-parser's parseTree, linear on long strings. jsonc-parser decodes a string by appending piece by piece
// (`result += text.substring(…)` around every escape), so a 200 MB record of prose with an `\n` every 80 characters
// becomes a rope of millions of pieces: seconds and gigabytes, and a line dense with escapes exhausts the heap.
//
// So long string literals are cut out before jsonc-parser sees the line: each becomes `""` in a skeleton that keeps the
// structure (keys, nesting, every other token), its value is decoded by JSON.parse (native, linear), and the tree's
// offsets are mapped back to the line's. A long literal JSON.parse refuses is replaced by its first offending piece
// (`"\x"`, a control character, an unfinished `\u`), or by a lone `"` when it never ends, so jsonc-parser reports
// the same error at the same place (a string's errors are located at its opening quote) without reading the rest.
import { parseTree, type Node, type ParseError, type ParseOptions } from 'jsonc-parser';

/** Literals at least this long (in UTF-16 units, quotes included) are decoded natively. */
export const LONG_LITERAL = 1024;

interface Cut {
  /** The literal in the line: [start, end), quotes included (end = the line's end for one that never closes). */
  start: number;
  end: number;
  /** What stands for it in the skeleton. */
  stand: string;
  /** Its decoded value when it is valid. */
  value?: string;
}

/**
 * The end (after the closing quote) of the string literal opening at `start`, or -1 when it never closes: found with
 * indexOf (native speed), a quote being escaped when an odd number of backslashes precede it.
 */
export function literalEnd(text: string, start: number): number {
  for (let close = text.indexOf('"', start + 1); close !== -1; close = text.indexOf('"', close + 1)) {
    let slashes = 0;
    while (text.charCodeAt(close - 1 - slashes) === 92) slashes++;
    if (slashes % 2 === 0) return close + 1;
  }
  return -1;
}

const ESCAPES = new Set([34, 92, 47, 98, 102, 110, 114, 116]); // " \ / b f n r t
const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** The first piece of text[from, to) that is not valid inside a JSON string, as a string jsonc-parser rejects alike. */
function firstBadPiece(text: string, from: number, to: number): string {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20) return text[i];
    if (c !== 92) continue;
    const next = text.charCodeAt(i + 1);
    if (next === 117) {
      for (let k = 2; k < 6; k++) if (!isHex(text.charCodeAt(i + k))) return text.slice(i, i + k);
      i += 5;
    } else if (ESCAPES.has(next)) i++;
    else return text.slice(i, i + 2);
  }
  return '';
}

/** The long literals of `text`, each with its stand-in (and value when valid), in order; strings are found as tooDeep does. */
function longLiterals(text: string): Cut[] {
  const cuts: Cut[] = [];
  for (let i = text.indexOf('"'); i !== -1; ) {
    const end = literalEnd(text, i);
    if (end === -1) {
      if (text.length - i >= LONG_LITERAL) cuts.push({ start: i, end: text.length, stand: '"' });
      break;
    }
    if (end - i >= LONG_LITERAL) {
      const literal = text.slice(i, end);
      try {
        cuts.push({ start: i, end, stand: '""', value: JSON.parse(literal) as string });
      } catch {
        cuts.push({ start: i, end, stand: `"${firstBadPiece(text, i + 1, end - 1)}"` });
      }
    }
    i = text.indexOf('"', end);
  }
  return cuts;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** parseTree(text, errors, options) with long literals decoded natively; same tree, same errors, same offsets. */
export function parseJsonTree(text: string, errors: ParseError[], options: ParseOptions): Node | undefined {
  const cuts = text.length >= LONG_LITERAL ? longLiterals(text) : [];
  if (cuts.length === 0) return parseTree(text, errors, options);
  // The skeleton, and for each cut where it ends there and how many units the line has more up to that point.
  const pieces: string[] = [];
  const skeletonEnds: number[] = [];
  const shift: number[] = [];
  let from = 0;
  let length = 0;
  for (const cut of cuts) {
    pieces.push(text.slice(from, cut.start), cut.stand);
    length += cut.start - from + cut.stand.length;
    skeletonEnds.push(length);
    shift.push(cut.end - length);
    from = cut.end;
  }
  pieces.push(text.slice(from));
  const skeletonErrors: ParseError[] = [];
  const root = parseTree(pieces.join(''), skeletonErrors, options);
  // A skeleton position p maps to p + the shift of the last cut ending at or before p.
  const map = (p: number): number => {
    let lo = 0;
    let hi = skeletonEnds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (skeletonEnds[mid] <= p) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? p : p + shift[lo - 1];
  };
  const startsAt = new Map(cuts.map((cut, k) => [skeletonEnds[k] - cut.stand.length, cut]));
  const visit = (node: Mutable<Node>): void => {
    const cut = node.type === 'string' ? startsAt.get(node.offset) : undefined;
    if (cut?.value !== undefined) node.value = cut.value;
    const end = map(node.offset + node.length);
    node.offset = map(node.offset);
    node.length = end - node.offset;
    if (node.colonOffset !== undefined) node.colonOffset = map(node.colonOffset);
    node.children?.forEach((child) => visit(child as Mutable<Node>));
  };
  if (root) visit(root as Mutable<Node>);
  for (const error of skeletonErrors) {
    const offset = map(error.offset);
    errors.push({ error: error.error, offset, length: map(error.offset + error.length) - offset });
  }
  return root;
}
