// Chat templates rendered once per conversation shape, not two or three times per record. Splitting a conversation
// into prompt and response pieces (template.ts chatPieces) renders the template for the whole conversation and for
// each assistant turn's prompt: with Qwen3's template that is ~400 µs a record, ten times the encoding, and it capped
// tokenizing at ~2k records/s. Within one shape (the sequence of roles) the template's output is the same text around
// the contents, so the pieces are computed once with stand-in contents and each record's contents are put in their
// place.
//
// That is exact when the template treats contents as opaque text, which it shows in three ways, all required:
//  1. Screening (template-literals.ts): a content that contains a literal the template tests content for, that is
//     a piece of a literal it compares with, starts or ends with whitespace or a stripped character, is empty, or
//     equals another content of the conversation, is rendered for real.
//  2. Two stand-ins per shape: short letters, and a long one with quotes, backslashes, newlines, mixed case and
//     non-ASCII text. The pieces of one with the other substituted must equal the pieces of the other, or the shape is
//     rendered for real (this catches lengths, slices, case changes, escaping).
//  3. The first records of every shape are rendered for real as well and must match (a tripwire: a mismatch turns the
//     shape back to real rendering and is counted).
// Anything that does not fit (a template that fails on stand-ins, a stand-in that appears twice or not at all) falls
// back to rendering each record, which is always right.
import type { ChatMessage } from './records';
import type { TextTokenizer } from '../model/tokenizer';
import { templateLiterals, type TemplateLiterals } from './template-literals';

/** A piece of text and whether its tokens are trained on (a response). */
export interface Piece {
  text: string;
  response: boolean;
}

type PiecesOf = (messages: ChatMessage[]) => Piece[];

/** Records of each shape rendered for real as well, to check the substitution. */
const VERIFIED_PER_SHAPE = 3;
/**
 * Shapes remembered; a dataset of ever new shapes (conversations of every length and role order) renders the rest for
 * real, which is what a new shape costs anyway, with memory bounded.
 */
const MAX_SHAPES = 4096;
/** Private-use characters: no template tests for them, and they cannot be mistaken for text. */
const OPEN = '\uE000';
const CLOSE = '\uE001';
const RICH_BODY = ' Mixed "Quoted" \\back\\slash\nsecond line\twith tab, ünïcödé 文字 and <angle> & {braces} ' + 'long '.repeat(40);

interface Shape {
  /** The pieces with stand-in i where message i's content goes; undefined: render this shape for real. */
  pieces?: { parts: (string | number)[]; response: boolean }[];
  verified: number;
}

export interface SkeletonStats {
  substituted: number;
  rendered: number;
  mismatches: number;
}

export class TemplateSkeletons {
  private readonly literals: TemplateLiterals | undefined;
  private readonly shapes = new Map<string, Shape>();
  readonly stats: SkeletonStats = { substituted: 0, rendered: 0, mismatches: 0 };
  private readonly specials: string[];

  constructor(tok: TextTokenizer, private readonly render: PiecesOf, private readonly verifyPerShape = VERIFIED_PER_SHAPE) {
    let literals: TemplateLiterals | undefined;
    try {
      literals = tok.chatTemplate !== undefined ? templateLiterals(tok.chatTemplate) : undefined;
    } catch {
      literals = undefined; // a template the parser rejects fails for real, with its own message
    }
    this.literals = literals?.unsupported ? undefined : literals;
    this.specials = [tok.bosToken, tok.eosToken].filter((t): t is string => !!t);
  }

  pieces(messages: ChatMessage[]): Piece[] {
    if (!this.literals || !messages.every((m) => this.opaque(m.content) && !hasStandInMarks(m.content)) || new Set(messages.map((m) => m.content)).size !== messages.length) {
      return this.renderedForReal(messages);
    }
    const key = messages.map((m) => m.role).join('\n');
    let shape = this.shapes.get(key);
    if (!shape && this.shapes.size >= MAX_SHAPES) return this.renderedForReal(messages);
    if (!shape) {
      shape = { pieces: this.skeleton(messages.map((m) => m.role)), verified: 0 };
      this.shapes.set(key, shape);
    }
    if (!shape.pieces) return this.renderedForReal(messages);
    const pieces = shape.pieces.map(({ parts, response }) => ({ text: parts.map((p) => (typeof p === 'number' ? messages[p].content : p)).join(''), response }));
    if (shape.verified < this.verifyPerShape) {
      shape.verified += 1;
      const real = this.renderedForReal(messages);
      if (!samePieces(pieces, real)) {
        this.stats.mismatches += 1;
        shape.pieces = undefined;
      }
      return real;
    }
    this.stats.substituted += 1;
    return pieces;
  }

  private renderedForReal(messages: ChatMessage[]): Piece[] {
    this.stats.rendered += 1;
    return this.render(messages);
  }

  /** Whether the template cannot tell this content from a stand-in (template-literals.ts). */
  private opaque(content: unknown): boolean {
    if (typeof content !== 'string' || content.length === 0) return false;
    const { substrings, containers, edgeChars } = this.literals!;
    if (/^\s|\s$/.test(content) || edgeChars.has(content[0]) || edgeChars.has(content[content.length - 1])) return false;
    for (const literal of substrings) if (content.includes(literal)) return false;
    for (const literal of containers) if (literal.includes(content)) return false;
    for (const special of this.specials) if (content.includes(special)) return false;
    return true;
  }

  /** The pieces of a shape with numbered stand-ins, or undefined when substitution would not be exact. */
  private skeleton(roles: ChatMessage['role'][]): Shape['pieces'] {
    const short = (i: number) => `${OPEN}Ab${i}${CLOSE}`;
    const rich = (i: number) => `${OPEN}Rich${i}${RICH_BODY}${CLOSE}`;
    const standIns = [short, rich];
    if (!standIns.every((s) => roles.every((_, i) => this.opaque(s(i))))) return undefined;
    let rendered: Piece[][];
    try {
      rendered = standIns.map((s) => this.render(roles.map((role, i) => ({ role, content: s(i) }))));
    } catch {
      return undefined;
    }
    const [withShort, withRich] = rendered.map((pieces, k) => pieces.map((piece) => ({ parts: splitStandIns(piece.text, standIns[k], roles.length), response: piece.response })));
    // Every stand-in found whole, each exactly once in all the pieces, and the two renderings the same text around them.
    if (withShort.some((p) => p.parts === undefined) || JSON.stringify(withShort) !== JSON.stringify(withRich)) return undefined;
    const counts = new Array<number>(roles.length).fill(0);
    for (const piece of withShort) for (const p of piece.parts!) if (typeof p === 'number') counts[p] += 1;
    if (counts.some((c) => c !== 1)) return undefined;
    return withShort as NonNullable<Shape['pieces']>;
  }
}

/** `text` as literal strings and message indexes where the stand-ins were; undefined if a stand-in was altered. */
function splitStandIns(text: string, standIn: (i: number) => string, count: number): (string | number)[] | undefined {
  const parts: (string | number)[] = [];
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf(OPEN, at);
    if (open < 0) break;
    const close = text.indexOf(CLOSE, open);
    if (close < 0) return undefined;
    const found = text.slice(open, close + 1);
    const index = Array.from({ length: count }, (_, i) => i).find((i) => standIn(i) === found);
    if (index === undefined) return undefined;
    if (open > at) parts.push(text.slice(at, open));
    parts.push(index);
    at = close + 1;
  }
  if (text.indexOf(CLOSE, at) >= 0) return undefined;
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

function hasStandInMarks(content: string): boolean {
  return content.includes(OPEN) || content.includes(CLOSE);
}

function samePieces(a: Piece[], b: Piece[]): boolean {
  return a.length === b.length && a.every((p, i) => p.text === b[i].text && p.response === b[i].response);
}
