// DoRA (use_dora) end to end on a tiny real-architecture model: a run learns and leaves a PEFT DoRA adapter whose
// magnitudes moved from their start ‖W‖_row, a stopped run resumes to the uninterrupted losses exactly (dropout on, so
// the DoRA term on the dropped-out input is exercised), and a resume cannot flip use_dora.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '../../../../native/protocol';
import { readMetrics, runPaths } from '../../../../native/train/run-dir';
import { writeJsonAtomic } from '../../../../native/util/atomic-write';
import { openSafetensors, readTensorF32 } from '../../../../native/model/safetensors';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { rowNorms } from '../../../../native/model/dora';
import { UserError } from '../../../../native/util/errors';
import { runFixture } from './run-fixture';

const { root, model, newRun, train } = runFixture('dora-run-', { r: 8, lora_alpha: 16, lora_dropout: 0.1, use_dora: true });

test('DoRA: a run on a few records drives the loss down by more than 90% and leaves a PEFT DoRA adapter', async () => {
  const run = newRun('learn', { max_steps: 80, lora_dropout: 0, lr_scheduler_type: 'cosine', r: 16, lora_alpha: 32 });
  assert.equal(await train(run), 'completed');
  const metrics = readMetrics(run);
  assert.equal(metrics.length, 80);
  const first = metrics[0].loss, last = metrics.slice(-5).reduce((s, m) => s + m.loss, 0) / 5;
  assert.ok(last < 0.1 * first, `loss ${first} → ${last}`);
  const config = JSON.parse(readFileSync(join(run, 'adapter_config.json'), 'utf8'));
  assert.equal(config.use_dora, true);
  const weights = openSafetensors(join(run, 'adapter_model.safetensors'));
  assert.equal(weights.entries.size, 3 * 7 * 2);
  const q = 'model.layers.0.self_attn.q_proj';
  const key = `base_model.model.${q}.lora_magnitude_vector`;
  assert.deepEqual(weights.entries.get(key)?.shape, [64]);
  // The magnitudes trained: they left their start, the base weight's row norms.
  const base = loadModelFolder(model).weights.entry(`${q}.weight`)!;
  const start = rowNorms(readTensorF32(base.file, `${q}.weight`), 64, 64);
  const trained = readTensorF32(weights, key);
  assert.ok(trained.some((v, i) => Math.abs(v - start[i]) > 1e-3), 'the magnitudes did not move');
});

test('DoRA: stopping saves a checkpoint; resuming reproduces the uninterrupted losses exactly; a resume cannot flip use_dora', async () => {
  const options = { max_steps: 8, save_every: 4, seed: 11 };
  const whole = newRun('whole', options);
  await train(whole);
  const parted = newRun('parted', options);
  assert.equal(await train(parted, 4), 'stopped');
  assert.equal(await train(parted), 'completed');
  assert.deepEqual(readMetrics(parted).map((m) => m.loss), readMetrics(whole).map((m) => m.loss));

  const flipped = newRun('flipped', options);
  assert.equal(await train(flipped, 4), 'stopped');
  const config = JSON.parse(readFileSync(runPaths(flipped).config, 'utf8')) as RunConfig;
  writeJsonAtomic(runPaths(flipped).config, { ...config, use_dora: false });
  await assert.rejects(train(flipped), (e: unknown) => e instanceof UserError && /cannot resume: use_dora changed/.test(e.message));
});

test('DoRA on an NF4 base (QLoRA + DoRA): magnitudes start at the dequantized weights\' row norms, so the first loss is the NF4 LoRA run\'s; it learns', async () => {
  process.env.LORA_STUDIO_CACHE = join(root, 'nf4-cache');
  try {
    const options = { max_steps: 30, lora_dropout: 0, lr_scheduler_type: 'cosine' as const, r: 16, lora_alpha: 32, quantization: 'nf4' as const };
    const lora = newRun('nf4-lora', { ...options, use_dora: false });
    const dora = newRun('nf4-dora', options);
    assert.equal(await train(lora), 'completed');
    assert.equal(await train(dora), 'completed');
    const [l, d] = [readMetrics(lora), readMetrics(dora)];
    assert.ok(Math.abs(d[0].loss - l[0].loss) < 1e-4 * l[0].loss, `first loss DoRA ${d[0].loss} vs LoRA ${l[0].loss}`);
    assert.ok(d[d.length - 1].loss < 0.5 * d[0].loss, `loss ${d[0].loss} → ${d[d.length - 1].loss}`);
    assert.equal(JSON.parse(readFileSync(join(dora, 'adapter_config.json'), 'utf8')).use_dora, true);
  } finally {
    delete process.env.LORA_STUDIO_CACHE;
  }
});
