// The LISA estimate (native/train/lisa-estimate.ts) against what the trainer really trains and writes: its trainable
// parameters are the tensors lisaTrainedShapes names for a sample of the model's folder (tied and untied heads), and
// its output size is the model's stored tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUN_OPTIONS } from '../../../../native/protocol';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { estimateRun, type EstimateModel } from '../../../../native/train/estimate';
import { lisaSample, lisaTrainedShapes } from '../../../../native/train/lisa';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';

const root = mkdtempSync(join(tmpdir(), 'lisa-estimate-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

for (const arch of ['Qwen2ForCausalLM', 'LlamaForCausalLM'] as const) {
  test(`LISA estimate (${arch}, ${TINY_PRESETS[arch].tie ? 'tied' : 'untied'} head): trainable parameters are the sampled tensors, the output the whole model`, () => {
    const folder = loadModelFolder(makeTinyModel(join(root, arch), { ...TINY_PRESETS[arch], dtype: 'float32', seed: 1 }).dir);
    const stored = folder.weights.names().map((n) => folder.weights.entry(n)!.entry);
    const totalParams = stored.reduce((sum, e) => sum + e.shape.reduce((a, b) => a * b, 1), 0);
    const model: EstimateModel = { ...folder.config, torch_dtype: 'float32' };
    for (const layers of [1, 2]) {
      const run = { ...DEFAULT_RUN_OPTIONS, method: 'lisa' as const, lisa_layers: layers, lisa_period: 20 };
      const estimate = estimateRun(model, run, [], { totalParams });
      const trained = lisaTrainedShapes(folder.weights, folder.config, lisaSample(1, 0, folder.config.num_hidden_layers, layers));
      const counted = [...trained.values()].reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
      assert.equal(estimate.method, 'lisa');
      assert.equal(estimate.trainableParams, counted, `γ = ${layers}`);
      assert.equal(estimate.adapterBytes, stored.reduce((sum, e) => sum + e.length, 0));
      assert.equal(estimate.memory.total, Object.entries(estimate.memory).filter(([k]) => k !== 'total').reduce((a, [, b]) => a + b, 0));
    }
  });
}
