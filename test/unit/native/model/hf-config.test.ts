// Tests native/model/hf-config.ts: the four architectures, GQA, head_dim, Llama 3 rope scaling, and located errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHfConfig } from '../../../../native/model/hf-config';
import { UserError } from '../../../../native/util/errors';

const FILE = '/models/x/config.json';

/** Trimmed real configs (values as published on the Hub). */
const llama32_1b = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 128256, hidden_size: 2048, intermediate_size: 8192,
  num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, rms_norm_eps: 1e-5, rope_theta: 500000,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  max_position_embeddings: 131072, tie_word_embeddings: true, torch_dtype: 'bfloat16', bos_token_id: 128000, eos_token_id: [128001, 128008, 128009],
  attention_bias: false, hidden_act: 'silu',
};
const qwen25_05b = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864,
  num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 1000000,
  max_position_embeddings: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', bos_token_id: 151643, eos_token_id: 151645, hidden_act: 'silu',
};
const qwen3_06b = {
  architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', vocab_size: 151936, hidden_size: 1024, intermediate_size: 3072,
  num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128, rms_norm_eps: 1e-6, rope_theta: 1000000,
  attention_bias: false, max_position_embeddings: 40960, tie_word_embeddings: true, torch_dtype: 'bfloat16', eos_token_id: 151645, hidden_act: 'silu',
};
const mistral7b = {
  architectures: ['MistralForCausalLM'], model_type: 'mistral', vocab_size: 32768, hidden_size: 4096, intermediate_size: 14336,
  num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, rms_norm_eps: 1e-5, rope_theta: 1000000,
  max_position_embeddings: 32768, tie_word_embeddings: false, torch_dtype: 'bfloat16', bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu',
};

function userError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UserError, `expected UserError, got ${String(error)}`);
    for (const part of parts) assert.ok(error.message.includes(part), `"${error.message}" lacks "${part}"`);
    return true;
  });
}

test('Llama 3.2: GQA, explicit head_dim, llama3 rope scaling, EOS list, tied', () => {
  const c = parseHfConfig(llama32_1b, FILE);
  assert.equal(c.architecture, 'LlamaForCausalLM');
  assert.equal(c.num_key_value_heads, 8);
  assert.equal(c.head_dim, 64);
  assert.deepEqual(c.rope_scaling, { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 });
  assert.deepEqual(c.eos_token_id, [128001, 128008, 128009]);
  assert.equal(c.tie_word_embeddings, true);
  assert.equal(c.attention_bias, false);
  assert.equal(c.qk_norm, false);
  assert.equal(c.torch_dtype, 'bfloat16');
});

test('Qwen2.5: q/k/v bias implied, head_dim derived (896/14 = 64)', () => {
  const c = parseHfConfig(qwen25_05b, FILE);
  assert.equal(c.attention_bias, true);
  assert.equal(c.head_dim, 64);
  assert.equal(c.num_key_value_heads, 2);
  assert.equal(c.rope_scaling, null);
});

test('Qwen3: q/k norm, head_dim 128 ≠ hidden/heads (64)', () => {
  const c = parseHfConfig(qwen3_06b, FILE);
  assert.equal(c.qk_norm, true);
  assert.equal(c.head_dim, 128);
  assert.equal(c.attention_bias, false);
});

test('Mistral: untied, defaults for absent optional fields', () => {
  const c = parseHfConfig(mistral7b, FILE);
  assert.equal(c.tie_word_embeddings, false);
  assert.equal(c.head_dim, 128);
  const { rope_theta: _r, rms_norm_eps: _e, num_key_value_heads: _k, tie_word_embeddings: _t, ...bare } = mistral7b;
  const d = parseHfConfig(bare, FILE);
  assert.equal(d.rope_theta, 10000);
  assert.equal(d.rms_norm_eps, 1e-6);
  assert.equal(d.num_key_value_heads, 32, 'no num_key_value_heads means multi-head attention');
  assert.equal(d.tie_word_embeddings, false, 'transformers defaults these architectures to untied');
});

test('unsupported architecture names itself and the supported list', () => {
  userError(() => parseHfConfig({ ...qwen25_05b, architectures: ['GPT2LMHeadModel'] }, FILE),
    FILE, 'architectures', 'unsupported architecture GPT2LMHeadModel; supported: LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, MistralForCausalLM');
});

test('bad fields are located: file and field named', () => {
  userError(() => parseHfConfig({ ...qwen25_05b, hidden_size: undefined }, FILE), FILE, 'hidden_size', 'missing');
  userError(() => parseHfConfig({ ...qwen25_05b, num_hidden_layers: 2.5 }, FILE), 'num_hidden_layers', 'whole number');
  // 1e8 layers grew memory until the process was killed (issue 19): bounded before any per-layer list is built.
  userError(() => parseHfConfig({ ...qwen25_05b, num_hidden_layers: 1e8 }, FILE), 'num_hidden_layers', 'at most 1024, got 100000000');
  userError(() => parseHfConfig({ ...qwen25_05b, num_key_value_heads: 3 }, FILE), 'num_key_value_heads', 'does not divide');
  userError(() => parseHfConfig({ ...llama32_1b, rope_scaling: { rope_type: 'yarn', factor: 4 } }, FILE), 'rope_scaling.rope_type', 'yarn');
  userError(() => parseHfConfig({ ...llama32_1b, rope_scaling: { ...llama32_1b.rope_scaling, factor: undefined } }, FILE), 'factor', 'missing');
  userError(() => parseHfConfig({ ...qwen25_05b, torch_dtype: 'int8' }, FILE), 'torch_dtype', 'int8');
  userError(() => parseHfConfig({ ...qwen25_05b, hidden_act: 'gelu' }, FILE), 'hidden_act', 'gelu');
  userError(() => parseHfConfig({ ...qwen25_05b, eos_token_id: 'x' }, FILE), 'eos_token_id');
  userError(() => parseHfConfig({ ...llama32_1b, mlp_bias: true }, FILE), 'mlp_bias');
  userError(() => parseHfConfig([], FILE), FILE);
  userError(() => parseHfConfig({ ...qwen25_05b, architectures: undefined }, FILE), 'architectures', 'missing');
});

test('rope_scaling of type "default" or legacy key "type" are understood', () => {
  assert.equal(parseHfConfig({ ...llama32_1b, rope_scaling: { rope_type: 'default' } }, FILE).rope_scaling, null);
  const { rope_type: _t, ...legacy } = llama32_1b.rope_scaling;
  assert.equal(parseHfConfig({ ...llama32_1b, rope_scaling: { ...legacy, type: 'llama3' } }, FILE).rope_scaling?.factor, 32);
});
