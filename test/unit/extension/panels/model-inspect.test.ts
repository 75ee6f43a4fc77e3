// Tests of extension/panels/model-inspect.ts with stand-in readers (the real ones come from native/model).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectModel, layerTemplate } from '../../../../extension/panels/model-inspect';
import type { ModelConfig } from '../../../../native/model/hf-config';
import { modelParameterCount } from '../../../../native/train/estimate';
import { UserError } from '../../../../native/util/errors';

const dir = mkdtempSync(join(tmpdir(), 'lora-model-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const config: ModelConfig = { architecture: 'LlamaForCausalLM', model_type: 'llama', vocab_size: 100, hidden_size: 8, intermediate_size: 16,
  num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4, tie_word_embeddings: false, attention_bias: false,
  qk_norm: false, torch_dtype: 'float32', max_position_embeddings: 64, rms_norm_eps: 1e-6, rope_theta: 10000, rope_scaling: null, hidden_act: 'silu' };
const readers = {
  parseConfig: (json: unknown) => json as ModelConfig,
  linearModules: () => [
    { name: 'q_proj', path: (l: number) => `model.layers.${l}.self_attn.q_proj`, in: 8, out: 8 },
    { name: 'down_proj', path: (l: number) => `model.layers.${l}.mlp.down_proj`, in: 16, out: 8 },
  ],
};

test('reads config.json through the parser and lists modules with layer templates and groups', () => {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const info = inspectModel(dir, readers, modelParameterCount);
  assert.equal(info.architecture, 'LlamaForCausalLM');
  assert.equal(info.totalParams, modelParameterCount(config));
  assert.deepEqual(info.modules, [
    { name: 'q_proj', in: 8, out: 8, pathTemplate: 'model.layers.{layer}.self_attn.q_proj', group: 'attention' },
    { name: 'down_proj', in: 16, out: 8, pathTemplate: 'model.layers.{layer}.mlp.down_proj', group: 'mlp' },
  ]);
  assert.equal(inspectModel(dir, { ...readers, countParams: () => 1234 }, modelParameterCount).totalParams, 1234);
  assert.deepEqual(info.config, config, 'the parsed config travels to the webview, which resolves targets on it');
});

test('missing or broken config.json is a UserError naming the file', () => {
  const empty = mkdtempSync(join(dir, 'e-'));
  assert.throws(() => inspectModel(empty, readers, modelParameterCount), (e: unknown) => e instanceof UserError && /no config\.json/.test(e.message));
  writeFileSync(join(empty, 'config.json'), '{nope');
  assert.throws(() => inspectModel(empty, readers, modelParameterCount), (e: unknown) => e instanceof UserError && e.message.includes('config.json') && /not valid JSON/.test(e.message));
});

test('parser errors pass through unchanged', () => {
  writeFileSync(join(dir, 'config.json'), '{}');
  const parseConfig = () => { throw new UserError('unsupported architecture GPT2; supported: LlamaForCausalLM'); };
  assert.throws(() => inspectModel(dir, { ...readers, parseConfig }, modelParameterCount), /unsupported architecture GPT2/);
});

test('layer template replaces only the layer index', () => {
  assert.equal(layerTemplate('model.layers.0.self_attn.q_proj', 'model.layers.1.self_attn.q_proj'), 'model.layers.{layer}.self_attn.q_proj');
  assert.equal(layerTemplate('a.0.b', 'a.0.b'), 'a.0.b');
});
