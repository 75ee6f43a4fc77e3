// AdaLoRA (method 'adalora') end to end on a tiny real-architecture model: a run learns and leaves PEFT's ADALORA adapter
// (keys, shapes resized by the final rank pattern, config fields with total_step), its metrics carry the rank budget,
// a stopped run resumes to the uninterrupted losses exactly (the importance EMAs and masks are checkpointed), and a
// resume cannot change the AdaLoRA settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '../../../../native/protocol';
import { readMetrics, runPaths } from '../../../../native/train/run-dir';
import { writeJsonAtomic } from '../../../../native/util/atomic-write';
import { openSafetensors } from '../../../../native/model/safetensors';
import { readPeftAdapter } from '../../../../native/model/peft-io';
import { UserError } from '../../../../native/util/errors';
import { runFixture } from './run-fixture';

const { newRun, train } = runFixture('adalora-run-', { method: 'adalora', lora_alpha: 32, lora_dropout: 0.1, init_r: 8, target_r: 4, tinit: 2, tfinal: 2, deltaT: 1 });

test('AdaLoRA: a run on a few records drives the loss down by more than 90% and leaves PEFT\'s ADALORA adapter with its rank pattern', async () => {
  const run = newRun('learn', { max_steps: 80, lora_dropout: 0, lr_scheduler_type: 'cosine', tinit: 10, tfinal: 20 });
  assert.equal(await train(run), 'completed');
  const metrics = readMetrics(run);
  assert.equal(metrics.length, 80);
  const first = metrics[0].loss, last = metrics.slice(-5).reduce((s, m) => s + m.loss, 0) / 5;
  assert.ok(last < 0.1 * first, `loss ${first} → ${last}`);
  // 14 modules (2 layers × 7): budget 112 until tinit, 56 from total − tfinal.
  assert.equal(metrics[0].rank_budget, 112);
  assert.equal(metrics[79].rank_budget, 56);
  assert.ok(metrics.slice(10, 60).every((m, i, all) => i === 0 || m.rank_budget! <= all[i - 1].rank_budget!));
  const config = JSON.parse(readFileSync(join(run, 'adapter_config.json'), 'utf8'));
  assert.equal(config.peft_type, 'ADALORA');
  assert.deepEqual([config.init_r, config.target_r, config.tinit, config.tfinal, config.deltaT, config.beta1, config.beta2, config.orth_reg_weight, config.total_step], [8, 4, 10, 20, 1, 0.85, 0.85, 0.5, 80]);
  const pattern = config.rank_pattern as Record<string, boolean[]>;
  assert.equal(Object.keys(pattern).length, 14);
  const kept = Object.values(pattern).map((p) => p.filter(Boolean).length);
  assert.equal(kept.reduce((a, b) => a + b, 0), 56);
  const weights = openSafetensors(join(run, 'adapter_model.safetensors'));
  assert.equal(weights.entries.size, 3 * 14);
  for (const [key, keep] of Object.entries(pattern)) {
    const base = key.slice(0, -'.lora_E'.length), n = keep.filter(Boolean).length;
    assert.deepEqual(weights.entries.get(`base_model.model.${base}.lora_E`)?.shape, [n, 1]);
    assert.equal(weights.entries.get(`base_model.model.${base}.lora_A`)?.shape[0], n);
    assert.equal(weights.entries.get(`base_model.model.${base}.lora_B`)?.shape[1], n);
  }
  console.log(`AdaLoRA run: loss ${first.toFixed(3)} → ${last.toFixed(4)}; kept ranks ${JSON.stringify(Object.fromEntries(Object.entries(pattern).map(([k, p]) => [k.replace('model.layers.', 'L').replace('.lora_E', ''), p.filter(Boolean).length])))}`);
  assert.ok(readPeftAdapter(run).weights.size === 14);
});

test('AdaLoRA: stopping saves a checkpoint; resuming reproduces the uninterrupted losses exactly; a resume cannot change target_r', async () => {
  const options = { max_steps: 10, save_every: 5, seed: 11, tinit: 1, tfinal: 2, deltaT: 2 };
  const whole = newRun('whole', options);
  await train(whole);
  const parted = newRun('parted', options);
  assert.equal(await train(parted, 5), 'stopped');
  assert.equal(await train(parted), 'completed');
  assert.deepEqual(readMetrics(parted).map((m) => [m.loss, m.rank_budget]), readMetrics(whole).map((m) => [m.loss, m.rank_budget]));
  assert.deepEqual(JSON.parse(readFileSync(join(parted, 'adapter_config.json'), 'utf8')).rank_pattern, JSON.parse(readFileSync(join(whole, 'adapter_config.json'), 'utf8')).rank_pattern);

  const changed = newRun('changed', options);
  assert.equal(await train(changed, 5), 'stopped');
  const config = JSON.parse(readFileSync(runPaths(changed).config, 'utf8')) as RunConfig;
  writeJsonAtomic(runPaths(changed).config, { ...config, target_r: 2 });
  await assert.rejects(train(changed), (e: unknown) => e instanceof UserError && /cannot resume: target_r changed/.test(e.message));
});
