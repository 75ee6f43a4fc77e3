// A faster encode for the tokenizers most models ship (Qwen, Llama 3, DeepSeek, Mistral Nemo: a regex Split, then
// ByteLevel, then BPE), with the same ids as @huggingface/tokenizers' encode(text, { add_special_tokens: false }).
// The library spends ~1 µs per character: every piece the regex cuts goes through array-of-arrays flattening, an LRU
// cache that deletes and re-inserts on every hit, and a string-to-id lookup per token, which capped tokenizing a
// dataset at a few thousand records a second. Here each piece the Split regex cuts is looked up in a map from piece to
// ids (the Rust tokenizers' word cache); only a piece not seen before goes through the library's own remaining
// pre-tokenizers and BPE model, so the result is the library's by construction:
//  - added tokens split the text exactly as in the library's encode_text (its own splitters, lstrip/rstrip rules),
//    and the normalizer is the library's;
//  - the Split's regex is applied as its regex_split does (matches and the gaps between them, in order);
//  - everything after the Split in the sequence (ByteLevel, Digits) and the model act on one piece at a time, so a
//    piece's ids do not depend on its neighbours.
// Any other layout (Metaspace, whose output depends on the section; an inverted or removing Split; lowercasing) gets
// no fast path and uses the library (test/unit/native/model/fast-encode.test.ts compares both on hostile text).

interface Callable<A extends unknown[], R> {
  (...args: A): R;
}
interface AddedTokenLike {
  id: number;
  lstrip?: boolean;
  rstrip?: boolean;
}
interface PreTokenizerLike extends Callable<[string | string[], unknown?], string[]> {
  config?: { type?: string; invert?: boolean; behavior?: string };
  pattern?: RegExp | null;
  tokenizers?: (PreTokenizerLike | null)[];
  pre_tokenize(text: string[], options?: unknown): string[];
}
/** The library's splitter at added tokens: a trie of characters whose nodes name a complete token in `end`. */
interface DictionarySplitterLike {
  trie: TrieNode;
  split(text: string): string[];
}
interface TrieNode {
  end?: string;
  [char: string]: TrieNode | string | undefined;
}

/** The parts of @huggingface/tokenizers' Tokenizer this reads (the version is pinned in package-lock.json). */
interface LibraryTokenizer {
  splitter_unnormalized: DictionarySplitterLike;
  splitter_normalized: DictionarySplitterLike;
  added_tokens_map: Map<string, AddedTokenLike>;
  remove_space?: boolean;
  do_lowercase_and_remove_accent?: boolean;
  normalizer: Callable<[string], string> | null;
  pre_tokenizer: PreTokenizerLike | null;
  model: Callable<[string[]], string[]> & { tokens_to_ids: Map<string, number>; unk_token_id?: number; fuse_unk?: boolean };
}

/** Pieces remembered; past this the cache starts over (memory stays bounded on any data). */
const CACHE_PIECES = 200_000;
/** Longer pieces (a run of whitespace, a long number) are not worth remembering. */
const CACHE_CHARS = 128;
/** Members after the Split that act on each piece alone (Metaspace does not: it looks at the section's index). */
const PIECEWISE = new Set(['ByteLevel', 'Digits', 'Split', 'Punctuation', 'WhitespaceSplit', 'Whitespace']);

/** encode(text) without special tokens, or undefined when this tokenizer's layout has no exact fast path. */
export function fastEncoder(library: unknown): ((text: string) => number[]) | undefined {
  const tok = library as Partial<LibraryTokenizer>;
  const pre = tok.pre_tokenizer;
  // A Sequence carries its members and no config of its own.
  const members = pre && Array.isArray(pre.tokenizers) ? pre.tokenizers : undefined;
  const split = members?.[0];
  const rest = members?.slice(1) ?? [];
  if (!tok.splitter_unnormalized || !tok.splitter_normalized || !(tok.added_tokens_map instanceof Map) || !tok.model?.tokens_to_ids) return undefined;
  // fuse_unk joins unknown tokens across pieces, which a per-piece cache cannot see.
  if (tok.remove_space === true || tok.do_lowercase_and_remove_accent === true || tok.model.fuse_unk) return undefined;
  if (split?.config?.type !== 'Split' || split.config.invert || split.config.behavior?.toLowerCase() === 'removed' || !(split.pattern instanceof RegExp)) return undefined;
  if (!split.pattern.global || !rest.every((m) => m !== null && PIECEWISE.has(m.config?.type ?? '') && !(m.config?.type === 'Split' && m.config.invert))) return undefined;
  const lib = tok as LibraryTokenizer;
  const splitUnnormalized = splitterAt(lib.splitter_unnormalized);
  const splitNormalized = splitterAt(lib.splitter_normalized);
  if (!splitUnnormalized || !splitNormalized) return undefined;
  const pattern = new RegExp(split.pattern.source, split.pattern.flags);
  const addedTokens = lib.added_tokens_map;
  const model = lib.model;
  const idOf = (token: string) => addedTokens.get(token)?.id ?? model.tokens_to_ids.get(token) ?? model.unk_token_id;
  let cache = new Map<string, number[]>();

  const pieceIds = (piece: string, out: number[]) => {
    let ids = cache.get(piece);
    if (ids === undefined) {
      let words = [piece];
      for (const member of rest) words = member!.pre_tokenize(words);
      ids = model(words).map(idOf) as number[];
      if (piece.length <= CACHE_CHARS) {
        if (cache.size >= CACHE_PIECES) cache = new Map();
        cache.set(piece, ids);
      }
    }
    for (const id of ids) out.push(id);
  };
  // regex_split of the library: the gap before each match, then the match (if not empty), then what is left.
  const encodePieces = (text: string, out: number[]) => {
    pattern.lastIndex = 0;
    let previous = 0;
    let match: RegExpExecArray | null;
    while ((match = pattern.exec(text)) !== null) {
      const matched = match[0];
      if (previous < match.index) pieceIds(text.slice(previous, match.index), out);
      if (matched.length > 0) pieceIds(matched, out);
      previous = match.index + matched.length;
      if (matched.length === 0) pattern.lastIndex = advance(text, pattern.lastIndex, pattern.unicode);
    }
    if (previous < text.length) pieceIds(text.slice(previous), out);
  };

  return (text: string) => {
    const out: number[] = [];
    const sections = stripAroundAddedTokens(splitUnnormalized(text), addedTokens);
    for (let i = 0; i < sections.length; i += 1) {
      const section = sections[i];
      if (section.length === 0) continue;
      const added = addedTokens.get(section);
      if (added) {
        out.push(added.id);
        continue;
      }
      const normalized = lib.normalizer !== null ? lib.normalizer(section) : section;
      if (normalized.length === 0) continue;
      const subsections = stripAroundAddedTokens(splitNormalized(normalized), addedTokens);
      for (const subsection of subsections) {
        if (subsection.length === 0) continue;
        const addedInside = addedTokens.get(subsection);
        if (addedInside) out.push(addedInside.id);
        else encodePieces(subsection, out);
      }
    }
    return out;
  };
}

/**
 * The splitter's split as one regular expression: its trie walks character by character through object lookups (a
 * fifth of encode's time); the same leftmost-longest matches come from an alternation of its words, longest first.
 */
function splitterAt(splitter: DictionarySplitterLike): ((text: string) => string[]) | undefined {
  if (typeof splitter.trie !== 'object' || splitter.trie === null) return undefined;
  const words: string[] = [];
  const collect = (node: TrieNode) => {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'end' && typeof value === 'string') words.push(value);
      else if (key.length === 1 && typeof value === 'object' && value !== null) collect(value);
    }
  };
  collect(splitter.trie);
  const tokens = words.filter((w) => w.length > 0).sort((a, b) => b.length - a.length);
  if (tokens.length === 0) return (text) => (text.length > 0 ? [text] : []);
  const pattern = new RegExp(tokens.map((w) => w.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'g');
  return (text) => {
    const result: string[] = [];
    let start = 0;
    pattern.lastIndex = 0;
    let match: RegExpExecArray | null;
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > start) result.push(text.slice(start, match.index));
      result.push(match[0]);
      start = match.index + match[0].length;
    }
    if (start < text.length) result.push(text.slice(start));
    return result;
  };
}

/** The library's lstrip/rstrip of the text beside an added token, in place, in the same order. */
function stripAroundAddedTokens(sections: string[], addedTokens: Map<string, AddedTokenLike>): string[] {
  for (let i = 0; i < sections.length; i += 1) {
    const added = addedTokens.get(sections[i]);
    if (!added) continue;
    if (added.lstrip && i > 0) sections[i - 1] = sections[i - 1].trimEnd();
    if (added.rstrip && i < sections.length - 1) sections[i + 1] = sections[i + 1].trimStart();
  }
  return sections;
}

/** Where a global regex continues after an empty match (AdvanceStringIndex: one code point in unicode mode). */
function advance(text: string, index: number, unicode: boolean): number {
  if (!unicode || index + 1 >= text.length) return index + 1;
  const code = text.charCodeAt(index);
  return code >= 0xd800 && code <= 0xdbff && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00 ? index + 2 : index + 1;
}
