// Tests native/model/tokenizer-checks.ts: a tokenizer.json that does not fit config.json is refused with the numbers,
// while the normal padded case (vocab_size a little larger than the tokenizer) is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenizerProblems } from '../../../../native/model/tokenizer-checks';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model';
import { UserError } from '../../../../native/util/errors';

const root = mkdtempSync(join(tmpdir(), 'tokenizer-checks-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** A BPE tokenizer.json with ids 0..n-1 in model.vocab and the given added tokens. */
const bpe = (n: number, added: Array<[string, number]> = []) => ({
  model: { type: 'BPE', vocab: Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, i])), merges: [] },
  added_tokens: added.map(([content, id]) => ({ id, content, special: true })),
});

test('a padded vocab_size (Qwen2.5: 151,665 tokens, vocab_size 151,936) and Unigram lists are accepted', () => {
  assert.deepEqual(tokenizerProblems(bpe(151_643, [['<|endoftext|>', 151_643], ['<|im_end|>', 151_645], ['<|im_start|>', 151_644]]), {
    vocab_size: 151_936, eos_token_id: 151_645, bos_token_id: 151_643, generation_eos: [151_645, 151_643],
  }), []);
  const unigram = { model: { type: 'Unigram', vocab: Array.from({ length: 250 }, (_, i) => [`p${i}`, -i]) }, added_tokens: [] };
  assert.deepEqual(tokenizerProblems(unigram, { vocab_size: 256, eos_token_id: 1 }), []);
});

test('a gutted vocabulary, ids past vocab_size, bad ids and EOS/BOS ids the tokenizer lacks are named with their numbers', () => {
  const gutted = tokenizerProblems(bpe(3, [['<|endoftext|>', 151_643], ['<|im_end|>', 151_645]]), { vocab_size: 151_936, eos_token_id: 151_645 });
  assert.deepEqual(gutted, ["it knows 5 token ids (3 in model.vocab, 2 added) but config.json's vocab_size is 151,936: the vocabulary was cut down, or the files are of different models"]);
  const past = tokenizerProblems(bpe(1000, [['<eos>', 1000], ['<x>', 5000]]), { vocab_size: 1000 });
  assert.match(past[0], /^2 token id\(s\) are ≥ config\.json's vocab_size 1,000 \("<eos>" = 1000, "<x>" = 5000; the largest is 5,000\): the embedding has no row for them$/);
  const bad = bpe(10);
  (bad.model.vocab as Record<string, unknown>).t3 = -1;
  (bad.model.vocab as Record<string, unknown>).t4 = 'four';
  assert.deepEqual(tokenizerProblems(bad, { vocab_size: 10 }).slice(0, 2), [
    'model.vocab gives "t3" the id -1, not a whole number ≥ 0', 'model.vocab gives "t4" the id "four", not a whole number ≥ 0',
  ]);
  assert.deepEqual(tokenizerProblems(bpe(100), { vocab_size: 128, eos_token_id: 120, bos_token_id: 1, generation_eos: [2, 126, 127] }), [
    'config.json eos_token_id 120: 120 is not a token of tokenizer.json',
    'generation_config.json eos_token_id [2,126,127]: 126, 127 are not tokens of tokenizer.json',
  ]);
});

test('loadModelFolder refuses a model folder whose tokenizer.json was cut down to a few tokens, naming the file', () => {
  const dir = makeTinyModel(join(root, 'gutted'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 2 }).dir;
  loadModelFolder(dir);
  const tokenizer = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  tokenizer.model.vocab = Object.fromEntries(Object.entries(tokenizer.model.vocab as Record<string, number>).filter(([, id]) => id < 3));
  tokenizer.model.merges = [];
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  assert.throws(() => loadModelFolder(dir), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /tokenizer\.json: tokenizer\.json does not fit config\.json: it knows \d+ token ids \(3 in model\.vocab, \d+ added\) but config\.json's vocab_size is 1,024/);
    assert.match(e.message, /use the tokenizer\.json, config\.json and generation_config\.json of one model/);
    return true;
  });
});
