// Tests of webview/training-panel/targets.ts: module selection (PEFT matching), presets, live estimate and fit warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectModel } from '../../../../extension/panels/model-inspect';
import { computeParams, modelReaders } from '../../../../extension/panels/model-readers';
import { parseHfConfig } from '../../../../native/model/hf-config';
import { loraParameterCount, matchTargets, resolveTargets } from '../../../../native/model/lora';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../../../native/protocol';
import type { ModelInfo, ModuleInfo } from '../../../../webview/protocol';
import { deviceFor, panelEstimate, presetModules, runSteps, selectedModules } from '../../../../webview/training-panel/targets';
import { adaloraParameterCount } from '../../../../native/model/adalora-settings';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';

const shape = { vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14,
  num_key_value_heads: 2, head_dim: 64, tie_word_embeddings: true, attention_bias: true, qk_norm: false, torch_dtype: 'bfloat16' as const };
const mod = (name: string, group: 'attention' | 'mlp', inF: number, outF: number): ModuleInfo =>
  ({ name, group, in: inF, out: outF, pathTemplate: `model.layers.{layer}.${group === 'attention' ? 'self_attn' : 'mlp'}.${name}` });
const modules = [mod('q_proj', 'attention', 896, 896), mod('k_proj', 'attention', 896, 128), mod('v_proj', 'attention', 896, 128),
  mod('o_proj', 'attention', 896, 896), mod('gate_proj', 'mlp', 896, 4864), mod('up_proj', 'mlp', 896, 4864), mod('down_proj', 'mlp', 4864, 896)];
// Qwen2.5-0.5B's config.json (the fields parseHfConfig reads), parsed as the host parses it.
const qwenConfig = parseHfConfig({
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864,
  num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 1000000,
  max_position_embeddings: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', bos_token_id: 151643, eos_token_id: 151645, hidden_act: 'silu',
}, 'config.json');
const info: ModelInfo = { dir: '/m', architecture: 'Qwen2ForCausalLM', modelType: 'qwen2', totalParams: 494_032_768, dtype: 'bfloat16',
  layers: 24, hiddenSize: 896, vocabSize: 151936, maxPositions: 32768, shape, modules, config: qwenConfig };
const config = (over: Partial<RunConfig>): RunConfig => ({ ...DEFAULT_RUN_OPTIONS, model: '/m', data: '/d', out: '/o', ...over });

test('presets: attention only and all linear', () => {
  assert.deepEqual(presetModules(modules, 'attention'), ['q_proj', 'k_proj', 'v_proj', 'o_proj']);
  assert.equal(presetModules(modules, 'all-linear').length, 7);
});

test('selection: exact names, dotted suffixes, all-linear, and unknown names reported', () => {
  assert.deepEqual([...selectedModules(info, ['q_proj', 'mlp.down_proj']).names], ['q_proj', 'down_proj']);
  assert.equal(selectedModules(info, 'all-linear').names.size, 7);
  assert.deepEqual(selectedModules(info, ['q_proj', 'query_key_value']).unknown, ['query_key_value']);
  assert.equal(selectedModules(info, ['proj']).names.size, 0, 'a suffix must be a whole dotted part');
});

test('targets expand per layer with their full names', () => {
  const t = matchTargets(info.config, ['v_proj']).targets;
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

// The panel once had its own copy of target matching and per-module counting; these pin it to native/model/lora.ts.
test('the panel counts what training trains: per-module labels and the total equal loraParameterCount of resolveTargets', () => {
  for (const r of [1, 8, 16]) {
    const e = panelEstimate(info, config({ r, target_modules: 'all-linear' }), undefined);
    assert.ok(e);
    assert.deepEqual([...e.perModule.keys()], modules.map((m) => m.name));
    for (const m of modules) assert.equal(e.perModule.get(m.name), loraParameterCount(resolveTargets(qwenConfig, [m.name]), r), m.name);
    assert.equal(e.estimate.trainableParams, loraParameterCount(resolveTargets(qwenConfig, 'all-linear'), r));
  }
  for (const targets of [['q_proj', 'v_proj'], ['self_attn.o_proj', 'down_proj'], ['model.layers.1.self_attn.q_proj']]) {
    assert.equal(panelEstimate(info, config({ target_modules: targets }), undefined)?.estimate.trainableParams,
      loraParameterCount(resolveTargets(qwenConfig, targets), 8), targets.join(','));
  }
});

test('a full module path selects that one layer, as training does (not every layer, and not "unknown")', () => {
  const e = panelEstimate(info, config({ r: 8, target_modules: ['model.layers.1.self_attn.q_proj'] }), undefined);
  assert.deepEqual(e?.unknownTargets, []);
  assert.equal(e?.estimate.trainableParams, 8 * (896 + 896));
  assert.deepEqual([...selectedModules(info, ['model.layers.1.self_attn.q_proj']).names], ['q_proj']);
});

test('on real model folders, the ModelInfo the host sends gives the panel the counts of resolveTargets', () => {
  const root = mkdtempSync(join(tmpdir(), 'lora-targets-'));
  try {
    for (const preset of Object.values(TINY_PRESETS)) {
      const dir = join(root, preset.architecture);
      makeTinyModel(dir, { ...preset, dtype: 'float32', seed: 1 });
      const host = inspectModel(dir, modelReaders, computeParams);
      const sent = JSON.parse(JSON.stringify(host)) as ModelInfo; // what postMessage delivers
      const e = panelEstimate(sent, config({ r: 4, target_modules: ['q_proj', 'mlp.up_proj'] }), undefined);
      assert.ok(e);
      assert.deepEqual([...e.perModule.keys()], sent.modules.map((m) => m.name));
      for (const m of sent.modules) assert.equal(e.perModule.get(m.name), loraParameterCount(resolveTargets(host.config, [m.name]), 4), `${preset.architecture} ${m.name}`);
      assert.equal(e.estimate.trainableParams, loraParameterCount(resolveTargets(host.config, ['q_proj', 'mlp.up_proj']), 4));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the live estimate per method: AdaLoRA counts init_r·(in+out+1) in the total and the toggles; ReLoRA\'s cycles come from the steps', () => {
  const ada = panelEstimate(info, config({ method: 'adalora', init_r: 12, target_r: 8, r: 12 }), undefined);
  assert.ok(ada);
  const targets = resolveTargets(qwenConfig, ['q_proj', 'v_proj']);
  assert.equal(ada.estimate.trainableParams, adaloraParameterCount(targets, 12));
  assert.equal(ada.perModule.get('q_proj'), 24 * 12 * (896 + 896 + 1));
  assert.ok(ada.estimate.memory.allocator > 0 && ada.estimate.adapterMaxBytes! > ada.estimate.adapterBytes);
  assert.equal(panelEstimate(info, config({ method: 'adalora', init_r: 0 }), undefined), undefined, 'no estimate from an invalid init_r');
  const relora = config({ relora_steps: 100 });
  assert.equal(panelEstimate(info, relora, undefined, 250)?.estimate.reloraCycles, 3);
  assert.equal(panelEstimate(info, relora, undefined)?.estimate.reloraCycles, undefined);
  assert.equal(panelEstimate(info, config({ init_lora_weights: 'pissa_niter_4' }), undefined)?.estimate.adapterRank, 16);
  // DoRA's toggles count the magnitudes.
  assert.equal(panelEstimate(info, config({ use_dora: true }), undefined)?.perModule.get('q_proj'), 24 * (8 * 1792 + 896));
});

test('run steps as the loop counts them: max_steps, else epochs × ⌈⌈records / micro-batch⌉ / accumulation⌉ after the eval split', () => {
  assert.equal(runSteps(config({ max_steps: 40 }), 1000), 40);
  assert.equal(runSteps(config({}), undefined), undefined);
  // 10 records, batch 4: 3 micro-batches; accumulation 2: 2 steps; 3 epochs: 6.
  assert.equal(runSteps(config({ micro_batch_size: 4, gradient_accumulation_steps: 2, num_epochs: 3 }), 10), 6);
  // eval_split 0.2 of 10 holds out 2: 8 records, 2 micro-batches, 1 step an epoch.
  assert.equal(runSteps(config({ micro_batch_size: 4, gradient_accumulation_steps: 2, eval_split: 0.2 }), 10), 1);
});
