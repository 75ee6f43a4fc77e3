// Tests of webview/training-panel/targets.ts: module selection (PEFT matching), presets, live estimate and fit warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../../../native/protocol';
import type { ModelInfo, ModuleInfo } from '../../../../webview/protocol';
import { deviceFor, expandTargets, panelEstimate, presetModules, selectedModules } from '../../../../webview/training-panel/targets';

const shape = { vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14,
  num_key_value_heads: 2, head_dim: 64, tie_word_embeddings: true, attention_bias: true, qk_norm: false, torch_dtype: 'bfloat16' as const };
const mod = (name: string, group: 'attention' | 'mlp', inF: number, outF: number): ModuleInfo =>
  ({ name, group, in: inF, out: outF, pathTemplate: `model.layers.{layer}.${group === 'attention' ? 'self_attn' : 'mlp'}.${name}` });
const modules = [mod('q_proj', 'attention', 896, 896), mod('k_proj', 'attention', 896, 128), mod('v_proj', 'attention', 896, 128),
  mod('o_proj', 'attention', 896, 896), mod('gate_proj', 'mlp', 896, 4864), mod('up_proj', 'mlp', 896, 4864), mod('down_proj', 'mlp', 4864, 896)];
const info: ModelInfo = { dir: '/m', architecture: 'Qwen2ForCausalLM', modelType: 'qwen2', totalParams: 494_032_768, dtype: 'bfloat16',
  layers: 24, hiddenSize: 896, vocabSize: 151936, maxPositions: 32768, shape, modules };
const config = (over: Partial<RunConfig>): RunConfig => ({ ...DEFAULT_RUN_OPTIONS, model: '/m', data: '/d', out: '/o', ...over });

test('presets: attention only and all linear', () => {
  assert.deepEqual(presetModules(modules, 'attention'), ['q_proj', 'k_proj', 'v_proj', 'o_proj']);
  assert.equal(presetModules(modules, 'all-linear').length, 7);
});

test('selection: exact names, dotted suffixes, all-linear, and unknown names reported', () => {
  assert.deepEqual([...selectedModules(modules, ['q_proj', 'mlp.down_proj']).names], ['q_proj', 'down_proj']);
  assert.equal(selectedModules(modules, 'all-linear').names.size, 7);
  assert.deepEqual(selectedModules(modules, ['q_proj', 'query_key_value']).unknown, ['query_key_value']);
  assert.equal(selectedModules(modules, ['proj']).names.size, 0, 'a suffix must be a whole dotted part');
});

test('targets expand per layer with their full names', () => {
  const t = expandTargets(info, new Set(['v_proj']));
  assert.equal(t.length, 24);
  assert.deepEqual(t[3], { module: 'v_proj', layer: 3, baseName: 'model.layers.3.self_attn.v_proj', in: 896, out: 128 });
});

test('live estimate: r=16 all-linear is 8,798,208 trainable (1.78 %), per-module labels, fit warning', () => {
  const e = panelEstimate(info, config({ r: 16, target_modules: 'all-linear' }), { id: 'cuda:0', label: 'GPU 0', freeBytes: 40 * 2 ** 30 });
  assert.ok(e);
  assert.equal(e.estimate.trainableParams, 8_798_208);
  assert.equal(e.estimate.trainablePercent.toFixed(2), '1.78');
  assert.equal(e.perModule.get('gate_proj'), 24 * 16 * (896 + 4864));
  assert.equal(e.warning, undefined);
  const tight = panelEstimate(info, config({ r: 16, micro_batch_size: 16, max_seq_len: 2048 }), { id: 'cuda:0', label: 'GPU 0', freeBytes: 4 * 2 ** 30 });
  assert.match(tight?.warning ?? '', /needs about [\d.]+ GiB but GPU 0 has 4\.0 GiB free/);
  assert.equal(panelEstimate(info, config({ r: 0 }), undefined), undefined);
  // Default targets q_proj, v_proj at r 8: 24 · 8 · ((896+896) + (896+128)).
  assert.equal(panelEstimate(info, config({}), undefined)?.estimate.trainableParams, 24 * 8 * (1792 + 1024));
});

test('auto means GPU 0 (as the worker resolves it), else the CPU', () => {
  const cpu = { id: 'cpu' as const, label: 'CPU', freeBytes: 8e9 };
  const g0 = { id: 'cuda:0' as const, label: 'A', freeBytes: 1e9 };
  const g1 = { id: 'cuda:1' as const, label: 'B', freeBytes: 2e9 };
  assert.equal(deviceFor([cpu, g1, g0], 'auto'), g0);
  assert.equal(deviceFor([cpu], 'auto'), cpu);
  assert.equal(deviceFor([cpu, g0, g1], 'cuda'), g0);
  assert.equal(deviceFor([cpu, g0, g1], 'cuda:1'), g1);
});
