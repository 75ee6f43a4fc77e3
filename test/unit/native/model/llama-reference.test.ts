// Sanity properties of the float64 reference forward (test/unit/native/model/llama-reference.ts) that do not need the engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomWeights, referenceLogits, referenceLoss, ropeInvFreq, type RefConfig } from './llama-reference';

const cfg: RefConfig = {
  vocab_size: 19, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  head_dim: 4, rms_norm_eps: 1e-6, rope_theta: 10000, rope_scaling: null, tie_word_embeddings: false, attention_bias: true, qk_norm: true,
};

test('reference: causal — logits at t do not depend on later tokens', () => {
  const w = randomWeights(cfg, 1);
  const a = referenceLogits(cfg, w, [[1, 2, 3, 4]], [[1, 1, 1, 1]]);
  const b = referenceLogits(cfg, w, [[1, 2, 3, 9]], [[1, 1, 1, 1]]);
  const V = cfg.vocab_size;
  assert.deepEqual(Array.from(a.subarray(0, 3 * V)), Array.from(b.subarray(0, 3 * V)));
  assert.notDeepEqual(Array.from(a.subarray(3 * V)), Array.from(b.subarray(3 * V)));
});

test('reference: right padding does not change the real positions', () => {
  const w = randomWeights(cfg, 2);
  const a = referenceLogits(cfg, w, [[5, 6, 7]], [[1, 1, 1]]);
  const b = referenceLogits(cfg, w, [[5, 6, 7, 0, 0]], [[1, 1, 1, 0, 0]]);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-12);
});

test('reference: LoRA with B = 0 equals the base model; with B ≠ 0 it differs', () => {
  const w = randomWeights(cfg, 3);
  const base = referenceLogits(cfg, w, [[1, 2, 3]], [[1, 1, 1]]);
  const A = Float64Array.from({ length: 2 * 8 }, (_, i) => Math.sin(i));
  const zero = { weights: new Map([['model.layers.0.self_attn.q_proj', { A, B: new Float64Array(16 * 2) }]]), r: 2, scaling: 2 };
  assert.deepEqual(Array.from(referenceLogits(cfg, w, [[1, 2, 3]], [[1, 1, 1]], zero)), Array.from(base));
  const some = { ...zero, weights: new Map([['model.layers.0.self_attn.q_proj', { A, B: new Float64Array(16 * 2).fill(0.3) }]]) };
  assert.notDeepEqual(Array.from(referenceLogits(cfg, w, [[1, 2, 3]], [[1, 1, 1]], some)), Array.from(base));
});

test('reference: loss ignores -100 and is near log(V) for random weights', () => {
  const w = randomWeights(cfg, 4);
  const logits = referenceLogits(cfg, w, [[1, 2, 3, 4]], [[1, 1, 1, 1]]);
  const l1 = referenceLoss(logits, [[2, 3, 4, -100]], cfg.vocab_size);
  assert.ok(Number.isFinite(l1) && l1 > 0.3 * Math.log(19) && l1 < 3 * Math.log(19), `loss ${l1}`);
  const l2 = referenceLoss(logits, [[2, -100, -100, -100]], cfg.vocab_size);
  assert.notEqual(l1, l2);
});

test('reference: llama3 rope scaling keeps high frequencies and divides low ones by factor', () => {
  const scaled = ropeInvFreq({ ...cfg, head_dim: 64, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } });
  const plain = ropeInvFreq({ ...cfg, head_dim: 64, rope_theta: 500000 });
  assert.equal(scaled[0], plain[0]);
  assert.ok(Math.abs(scaled[31] - plain[31] / 8) < 1e-18);
});
