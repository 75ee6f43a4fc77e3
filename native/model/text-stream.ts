// Streaming detokenization (pure): generated ids in, text pieces out, never a piece that a later token would change.
// A token is not a character: byte-level BPE splits an emoji or a CJK character into byte tokens, and decoding a
// prefix that ends inside a character gives U+FFFD for the missing bytes. So, like Hugging Face's TextStreamer, the
// stream decodes all ids so far and emits only the new stable part of the text, holding back a tail that may still
// change: a trailing U+FFFD (an unfinished character), and the start of a pattern that the decoder's
// clean_up_tokenization_spaces rewrites once the next token arrives (" ." becomes ".", " n't" becomes "n't"; the
// tokenizers library applies it unless tokenizer_config.json turns it off, and Llama 3's turns it on). The pieces
// concatenate to the decode of all ids at once — including a U+FFFD the model itself made (a byte sequence that is
// not UTF-8 stays one in the full decode too).

/**
 * Proper prefixes of the patterns clean_up_tokenization_spaces rewrites (" .", " ?", " !", " ,", " ' ", " n't",
 * " 'm", " 's", " 've", " 're" in transformers' tokenization_utils_base.py): a text ending in one may lose its space.
 */
const CLEANUP_PREFIXES = [' ', " '", ' n', " n'", " 'v", " 'r"];

/** Characters from this index on may still change when more tokens arrive. */
export function unstableTailStart(text: string): number {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0xfffd) end--;
  const space = text.lastIndexOf(' ', end - 1);
  return space >= 0 && CLEANUP_PREFIXES.includes(text.slice(space, end)) ? space : end;
}

export class TextStream {
  private readonly ids: number[] = [];
  private emitted = '';

  /** `decode`: the tokenizer's decode of a whole id sequence (special tokens skipped or not, as the caller wants). */
  constructor(private readonly decode: (ids: number[]) => string) {}

  /** Adds a generated id; returns the text it makes final ('' while a character or a word boundary is unfinished). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.decode(this.ids);
    const stable = text.slice(0, unstableTailStart(text));
    // A decoder that rewrote text already emitted (none known does, outside the held-back tail) waits for the end.
    if (stable.length <= this.emitted.length || !stable.startsWith(this.emitted)) return '';
    const piece = stable.slice(this.emitted.length);
    this.emitted = stable;
    return piece;
  }

  /** After the last id: the rest of the text, so that all pieces concatenate to the decode of all ids. */
  end(): string {
    // No ids (the model stopped at once): nothing to decode (tokenizers.js refuses an empty list).
    if (this.ids.length === 0) return '';
    const text = this.decode(this.ids);
    let common = 0;
    while (common < this.emitted.length && text.charCodeAt(common) === this.emitted.charCodeAt(common)) common++;
    this.emitted = text;
    return text.slice(common);
  }
}
