// Tests native/model/tokenizer-speedups.ts: a sped-up tokenizer encodes every text exactly as the untouched library
// does (Qwen's Split + ByteLevel sequence, and a GPT-2 style ByteLevel that splits itself), also past its caches'
// limits, and the speedups are really applied (a refactor of the library that hides its pre-tokenizers would fail here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
