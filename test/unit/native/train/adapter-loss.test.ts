// The few-shot loss of changing LoRA tensors (native/train/adapter-loss.ts) is the training program's evaluation loss,
// token-weighted over batches of different shapes, on the stored base or its NF4 copy, and follows the tensors fed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { resolveTargets } from '../../../../native/model/lora';
import { loraAName, loraBName } from '../../../../native/model/llama';
import { createAdapterLoss } from '../../../../native/train/adapter-loss';
import { engineProgram } from '../../../../native/train/engine-program';
import { trainedTokens } from '../../../../native/data/batch';
import { mulberry32 } from '../../../../native/util/random';
import { ensureNf4Cache } from '../../../../native/model/nf4-cache';
import type { MicroBatch } from '../../../../native/train/loop';

const root = mkdtempSync(join(tmpdir(), 'adapter-loss-'));
const model = loadModelFolder(makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 5, std: 0.3 }).dir);
const sites = resolveTargets(model.config, ['q_proj', 'v_proj']);
const cpu = { provider: 'cpu' as const, deviceId: 0 };
const r = 4, scaling = 2;

function batch(rows: number, length: number, seed: number): MicroBatch {
  const random = mulberry32(seed);
  const token = () => Math.floor(random() * 200);
  const inputIds = Array.from({ length: rows }, () => Array.from({ length }, token));
  // A prompt of 3 tokens is masked, the last position has no target, as template.ts labels examples.
  const labels = inputIds.map((ids) => ids.map((_, i) => (i < 3 || i === length - 1 ? -100 : ids[i + 1])));
  return { inputIds, labels, attentionMask: inputIds.map((ids) => ids.map(() => 1)) };
}

function lora(seed: number) {
  const random = mulberry32(seed);
  const values = (n: number) => Float32Array.from({ length: n }, () => (random() - 0.5) * 0.4);
  return new Map(sites.map((s) => [s.baseName, { A: values(r * s.in), B: values(s.out * r) }]));
}

for (const quantization of ['none', 'nf4'] as const) {
  test(`adapter loss (${quantization} base): equals the training program's token-weighted eval loss over batches of two shapes, for any LoRA fed`, async () => {
    const cache = quantization === 'nf4' ? ensureNf4Cache(model, { root: join(root, 'nf4-cache') }) : undefined;
    const batches = [batch(2, 8, 1), batch(1, 12, 2)];
    const evaluator = await createAdapterLoss(model, { sites, r, scaling, batches, device: cpu, quantized: cache && { weights: cache.weights, dir: cache.dir } });
    const programs = await Promise.all(batches.map((b) => engineProgram({
      model, config: model.config, batch: b.inputIds.length, length: b.inputIds[0].length, lora: { r, scaling, sites, dropout: 0 }, device: cpu,
      ...(cache ? { weights: cache.weights, externalDataDir: cache.dir } : {}),
    })));
    try {
      assert.equal(evaluator.tokens, batches.reduce((s, b) => s + trainedTokens(b), 0));
      const seen: number[] = [];
      for (const seed of [1, 2]) {
        const weights = lora(seed);
        const params = new Map([...weights].flatMap(([name, t]) => [[loraAName(name), t.A], [loraBName(name), t.B]] as const));
        let sum = 0;
        for (let i = 0; i < batches.length; i++) sum += (await programs[i].loss(batches[i], params)) * trainedTokens(batches[i]);
        const expected = sum / evaluator.tokens;
        const got = await evaluator.loss(weights);
        assert.ok(Math.abs(got - expected) < 1e-5, `seed ${seed}: ${got} vs ${expected}`);
        seen.push(got);
      }
      assert.notEqual(seen[0], seen[1], 'the loss follows the LoRA tensors fed');
    } finally {
      await evaluator.dispose();
      for (const p of programs) await p.dispose();
    }
  });
}
