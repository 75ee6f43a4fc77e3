// PiSSA (init_lora_weights 'pissa_niter_N') and ReLoRA (relora_steps) end to end on a tiny real-architecture model:
// the saved adapter is PEFT's plain LoRA of rank 2r (PiSSA) or k·r (ReLoRA, k cycles) for the original base, and a
// plain LoRA trainer fed it gives the trained model's eval loss; a PiSSA run starts at the base model's loss; a
// ReLoRA run restarts the learning rate, resumes across a cycle boundary to the uninterrupted losses, and learns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '../../../../native/protocol';
import { readMetrics, runPaths } from '../../../../native/train/run-dir';
import { writeJsonAtomic } from '../../../../native/util/atomic-write';
import { openSafetensors } from '../../../../native/model/safetensors';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { resolveTargets } from '../../../../native/model/lora';
import { peftTensorName, readPeftAdapter } from '../../../../native/model/peft-io';
import { readDatasetRecords } from '../../../../native/data/validate';
import { tokenizeRecordsBounded } from '../../../../native/data/template-pool';
import { planMicroBatches } from '../../../../native/data/batch';
import { createTrainer } from '../../../../native/train/trainer';
import { UserError } from '../../../../native/util/errors';
import { runFixture } from './run-fixture';

const { model, data, newRun, train } = runFixture('pissa-relora-', { r: 4, lora_alpha: 8, lora_dropout: 0 });

/** The eval loss of a plain LoRA trainer fed the run folder's saved adapter, on the original base (float32). */
async function adapterEvalLoss(runDir: string): Promise<number> {
  const folder = loadModelFolder(model);
  const adapter = readPeftAdapter(runDir);
  const targets = resolveTargets(folder.config, 'all-linear');
  const config: RunConfig = { ...(JSON.parse(readFileSync(runPaths(runDir).config, 'utf8')) as RunConfig), r: adapter.config.r, lora_alpha: adapter.config.lora_alpha };
  delete config.init_lora_weights;
  delete config.relora_steps;
  const tensors = new Map<string, Float32Array>();
  for (const t of targets) {
    const w = adapter.weights.get(t.baseName)!;
    for (const [name, values] of [[`${t.baseName}.lora_A`, w.A], [`${t.baseName}.lora_B`, w.B]] as const) {
      tensors.set(name, values);
      tensors.set(`${name}.exp_avg`, new Float32Array(values.length));
      tensors.set(`${name}.exp_avg_sq`, new Float32Array(values.length));
    }
  }
  const trainer = await createTrainer(folder, config, { device: { provider: 'cpu', deviceId: 0 }, targets, state: { step: 0, tensors } });
  try {
    const records = await readDatasetRecords(data);
    const tokenized = await tokenizeRecordsBounded(folder.tokenizer, records, { trainOnPrompt: false, maxSeqLen: 64 });
    if (tokenized === 'stopped') throw new Error('tokenizing stopped without a stop request');
    const { examples } = tokenized;
    return await trainer.evalLoss(planMicroBatches(examples, { microBatchSize: 2, seed: config.seed, padId: folder.tokenizer.padId, epoch: 0, lengthGrouped: true }));
  } finally {
    await trainer.dispose();
  }
}

test('PiSSA: starts at the base model, learns, and saves PEFT\'s converted rank-2r adapter that reproduces the trained model on the original base', async () => {
  const plain = newRun('plain-start', { max_steps: 1, eval_data: data });
  await train(plain);
  const run = newRun('pissa', { init_lora_weights: 'pissa_niter_4', max_steps: 60, lr_scheduler_type: 'cosine', learning_rate: 5e-3, eval_data: data, eval_every: 60 });
  assert.equal(await train(run), 'completed');
  const metrics = readMetrics(run);
  // Step 1's loss is taken before any update: the residual base plus the PiSSA adapter is the base model.
  assert.ok(Math.abs(metrics[0].loss - readMetrics(plain)[0].loss) < 1e-4 * metrics[0].loss, `first loss ${metrics[0].loss} vs plain LoRA ${readMetrics(plain)[0].loss}`);
  const first = metrics[0].loss, last = metrics.slice(-5).reduce((s, m) => s + m.loss, 0) / 5;
  assert.ok(last < 0.1 * first, `loss ${first} → ${last}`);

  const config = JSON.parse(readFileSync(join(run, 'adapter_config.json'), 'utf8'));
  assert.equal(config.r, 8);
  assert.equal(config.lora_alpha, 16);
  assert.equal(config.init_lora_weights, true);
  const weights = openSafetensors(join(run, 'adapter_model.safetensors'));
  const q = 'model.layers.0.self_attn.q_proj';
  assert.deepEqual(weights.entries.get(peftTensorName(q, 'A'))?.shape, [8, 64]);
  assert.deepEqual(weights.entries.get(peftTensorName(q, 'B'))?.shape, [64, 8]);
  assert.equal(weights.entries.size, 2 * 7 * 2);
  const trainedEval = metrics.at(-1)!.eval_loss!;
  const fromAdapter = await adapterEvalLoss(run);
  assert.ok(Math.abs(fromAdapter - trainedEval) < 1e-4 * trainedEval, `trained eval loss ${trainedEval} vs the saved adapter on the original base ${fromAdapter}`);
});

test('ReLoRA: the learning rate restarts with a jagged warmup; a resume across a cycle boundary reproduces the losses; the saved rank-k·r adapter is the trained model', async () => {
  const options: Partial<RunConfig> = { max_steps: 11, relora_steps: 4, relora_warmup_steps: 2, relora_prune: 0.9, lr_scheduler_type: 'constant', warmup_steps: 0, save_every: 4, eval_data: data, eval_every: 11, lora_dropout: 0.1 };
  const whole = newRun('relora-whole', options);
  await train(whole);
  const metrics = readMetrics(whole);
  // Steps 5 and 9 open cycles 2 and 3: the rate is 0, then half, then the schedule's again.
  assert.deepEqual(metrics.map((m) => m.lr), [2e-2, 2e-2, 2e-2, 2e-2, 0, 1e-2, 2e-2, 2e-2, 0, 1e-2, 2e-2]);
  const parted = newRun('relora-parted', options);
  assert.equal(await train(parted, 6), 'stopped');
  assert.equal(await train(parted), 'completed');
  assert.deepEqual(readMetrics(parted).map((m) => m.loss), metrics.map((m) => m.loss));

  // Three cycles (4 + 4 + a partial 3): rank 3·4, lora_alpha 3·8 keeps the scaling 2.
  const config = JSON.parse(readFileSync(join(whole, 'adapter_config.json'), 'utf8'));
  assert.equal(config.r, 12);
  assert.equal(config.lora_alpha, 24);
  assert.deepEqual(openSafetensors(join(whole, 'adapter_model.safetensors')).entries.get(peftTensorName('model.layers.1.mlp.down_proj', 'B'))?.shape, [64, 12]);
  const trainedEval = metrics.at(-1)!.eval_loss!;
  const fromAdapter = await adapterEvalLoss(whole);
  assert.ok(Math.abs(fromAdapter - trainedEval) < 1e-4 * trainedEval, `trained eval loss ${trainedEval} vs the saved adapter on the original base ${fromAdapter}`);

  const flipped = newRun('relora-flipped', options);
  assert.equal(await train(flipped, 4), 'stopped');
  writeJsonAtomic(runPaths(flipped).config, { ...(JSON.parse(readFileSync(runPaths(flipped).config, 'utf8')) as RunConfig), relora_steps: 5 });
  await assert.rejects(train(flipped), (e: unknown) => e instanceof UserError && /cannot resume: relora_steps changed/.test(e.message));
});

test('ReLoRA: a run on a few records drives the loss down by more than 90%', async () => {
  const run = newRun('relora-learn', { max_steps: 80, relora_steps: 20, relora_warmup_steps: 2, lr_scheduler_type: 'cosine', r: 8, lora_alpha: 16 });
  assert.equal(await train(run), 'completed');
  const metrics = readMetrics(run);
  const first = metrics[0].loss, last = metrics.slice(-5).reduce((s, m) => s + m.loss, 0) / 5;
  assert.ok(last < 0.1 * first, `loss ${first} → ${last}`);
  assert.equal(JSON.parse(readFileSync(join(run, 'adapter_config.json'), 'utf8')).r, 32);
});
