// Exact speedups of @huggingface/tokenizers' encode, found by profiling tokenization of a dataset (bench/tokenize):
// its ByteLevel pre-tokenizer spent over a third of encode's time re-encoding every word to UTF-8 and mapping each
// byte to its character (TextEncoder, Array.from, join), and flattening one-element arrays with Array.prototype.flat.
// A word's byte-level form depends on the word alone, so it is remembered (a bounded cache, as the library's BPE
// already has for its merges); the flattening is a plain loop. Outputs are the library's own, token for token
// (test/unit/native/model/tokenizer-speedups.test.ts compares against an untouched tokenizer).

/** The ByteLevel pre-tokenizer's shape in @huggingface/tokenizers (pinned in package-lock.json). */
interface ByteLevelLike {
  byte_encoder: Record<number, string>;
  pre_tokenize_text(text: string, options?: unknown): string[];
  pre_tokenize(text: string | string[], options?: unknown): string[];
}

interface PreTokenizerTree {
  tokenizers?: unknown[];
}

/** Words remembered per pre-tokenizer; past this the cache starts over (memory stays bounded on any data). */
const CACHE_WORDS = 100_000;
/** Longer pieces (whole sections when the pre-tokenizer splits them itself) are not worth remembering. */
const CACHE_CHARS = 256;

/** The library's pre-tokenizers are callable objects: functions carrying the class's prototype. */
function isNode(value: unknown): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

function isByteLevel(value: unknown): value is ByteLevelLike {
  const v = value as Partial<ByteLevelLike> | null;
  return isNode(value) && typeof v!.byte_encoder === 'object' && typeof v!.pre_tokenize_text === 'function' && typeof v!.pre_tokenize === 'function';
}

function speedUpByteLevel(pre: ByteLevelLike, cacheWords: number): void {
  const original = pre.pre_tokenize_text.bind(pre);
  let cache = new Map<string, string[]>();
  pre.pre_tokenize_text = (text, options) => {
    if (text.length > CACHE_CHARS) return original(text, options);
    let words = cache.get(text);
    if (words === undefined) {
      words = original(text, options);
      if (cache.size >= cacheWords) cache = new Map();
      cache.set(text, words);
    }
    return words.slice();
  };
}

/** pre_tokenize as the library writes it (map, then flat), as a loop: the same strings in the same order. */
function flattenByLoop(pre: Pick<ByteLevelLike, 'pre_tokenize_text' | 'pre_tokenize'>): void {
  pre.pre_tokenize = (text, options) => {
    if (!Array.isArray(text)) return pre.pre_tokenize_text(text, options);
    const out: string[] = [];
    for (const piece of text) for (const word of pre.pre_tokenize_text(piece, options)) out.push(word);
    return out;
  };
}

/** The BPE model's shape in @huggingface/tokenizers. */
interface BpeLike {
  encode(tokens: string[]): string[];
  bpe(token: string): string[];
  merges: [string, string][];
  ignore_merges?: boolean;
  end_of_word_suffix?: string;
  continuing_subword_suffix?: string | null;
}

const SPIECE_SPACE = '\u2581';
/** Before a ▁ that follows something else: where SentencePiece-style words start. */
const WORD_STARTS = /(?<!\u2581)(?=\u2581)/u;

/**
 * SentencePiece-style BPE (Llama 2, Mistral v0.x: no pre-tokenizer, spaces written as ▁) runs the library's BPE over
 * a whole section as one word, ~4 µs a character. When no merge joins a symbol that ends in something else to one
 * that starts with ▁, no merge ever crosses the start of a ▁-word, and BPE of the section is BPE of its ▁-words one
 * after the other (ties within a word break by position either way), so each word is encoded alone and remembered.
 */
function speedUpSpaceWordBpe(model: BpeLike, cacheWords: number): boolean {
  if (model.ignore_merges || model.end_of_word_suffix || model.continuing_subword_suffix) return false;
  if (model.merges.some(([left, right]) => right.startsWith(SPIECE_SPACE) && !left.endsWith(SPIECE_SPACE))) return false;
  const original = model.encode.bind(model);
  let cache = new Map<string, string[]>();
  model.encode = (tokens) => {
    const out: string[] = [];
    for (const token of tokens) {
      for (const word of token.split(WORD_STARTS)) {
        let encoded = cache.get(word);
        if (encoded === undefined) {
          encoded = original([word]);
          if (word.length <= CACHE_CHARS) {
            if (cache.size >= cacheWords) cache = new Map();
            cache.set(word, encoded);
          }
        }
        for (const piece of encoded) out.push(piece);
      }
    }
    return out;
  };
  return true;
}

/** The library's Metaspace pre-tokenizer (it keeps no config): replaces spaces, never splits. */
function isMetaspace(value: unknown): boolean {
  const v = value as { replacement?: unknown; prepend_scheme?: unknown } | null;
  return isNode(value) && typeof v!.replacement === 'string' && typeof v!.prepend_scheme === 'string';
}

function isBpe(value: unknown): value is BpeLike {
  const v = value as Partial<BpeLike> | null;
  return isNode(value) && typeof v!.encode === 'function' && typeof v!.bpe === 'function' && Array.isArray(v!.merges);
}

/** Applies the speedups to a Tokenizer's pre-tokenizer tree (a Sequence's members included) and BPE model; returns how many. */
export function speedUpTokenizer(tokenizer: unknown, cacheWords = CACHE_WORDS): number {
  let applied = 0;
  const visit = (node: unknown): void => {
    if (!isNode(node)) return;
    if (isByteLevel(node)) {
      speedUpByteLevel(node, cacheWords);
      applied += 1;
    }
    const pre = node as Partial<ByteLevelLike>;
    if (typeof pre.pre_tokenize === 'function' && typeof pre.pre_tokenize_text === 'function') {
      flattenByLoop(pre as ByteLevelLike);
      applied += 1;
    }
    const members = (node as PreTokenizerTree).tokenizers;
    if (Array.isArray(members)) members.forEach(visit);
  };
  const preTokenizer = (tokenizer as { pre_tokenizer?: unknown }).pre_tokenizer;
  visit(preTokenizer);
  // Only where the model is given whole sections as one word (no pre-tokenizer, or Metaspace, which does not split):
  // after a splitting pre-tokenizer its words are short, and the library's own BPE cache holds them.
  const model = (tokenizer as { model?: unknown }).model;
  const wholeSections = !preTokenizer || isMetaspace(preTokenizer);
  if (wholeSections && isBpe(model) && speedUpSpaceWordBpe(model, cacheWords)) applied += 1;
  return applied;
}
