// LoRAHub end to end on a constructed task (native/train/compose.ts): one adapter trained on the few-shot task, two
// noise adapters of the same shape and size. The search must beat uniform weights and weigh the right adapter most;
// the folder it writes is a PEFT adapter holding exactly the composition it reports, with its record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFixture } from './run-fixture';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { peftConfigFor, readPeftAdapter, writePeftAdapter } from '../../../../native/model/peft-io';
import { resolveTargets } from '../../../../native/model/lora';
import { composeLora, loadHubAdapters } from '../../../../native/model/lorahub';
import { composeAdapters } from '../../../../native/train/compose';
import { LORAHUB_RECORD, type ComposeRecord } from '../../../../native/train/compose-output';
import type { ComposeEvent } from '../../../../native/train/compose-events';
import { mulberry32 } from '../../../../native/util/random';
import { UserError } from '../../../../native/util/errors';

const { root, model, data, newRun, train } = runFixture('compose-', { r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: ['q_proj', 'v_proj', 'down_proj'] });
const cpu = { provider: 'cpu' as const, deviceId: 0 };

/** An adapter shaped like `like` whose tensors are noise of the same Frobenius norm, module by module. */
function noiseAdapter(like: string, name: string, seed: number): string {
  const source = readPeftAdapter(like);
  const random = mulberry32(seed);
  const noise = (x: Float32Array) => {
    const n = Float32Array.from(x, () => random() - 0.5);
    const scale = Math.hypot(...x) / Math.hypot(...n);
    return n.map((v) => v * scale);
  };
  const folder = loadModelFolder(model);
  const targets = resolveTargets(folder.config, source.config.target_modules as string[]);
  const dir = join(root, name);
  writePeftAdapter(dir, { config: { ...source.config, use_dora: false }, baseModel: model, targets, weights: new Map([...source.weights].map(([k, t]) => [k, { A: noise(t.A), B: noise(t.B) }])), dtype: 'float32' });
  return dir;
}

const trained = (async () => {
  const run = newRun('right', { max_steps: 30, lr_scheduler_type: 'cosine' });
  assert.equal(await train(run), 'completed');
  return run;
})();

test('compose: on a task one adapter was trained for, the search beats uniform weights and weighs that adapter most', async () => {
  const right = await trained;
  const adapters = [noiseAdapter(right, 'noise-1', 1), right, noiseAdapter(right, 'noise-2', 2)];
  const events: ComposeEvent[] = [];
  const out = join(root, 'composed');
  const result = await composeAdapters({ model, adapters, data, out, steps: 40, l1: 0.05, seed: 0, maxSeqLen: 64, device: cpu, quantization: 'none', emit: (e) => events.push(e) });

  const weights = result.adapters.map((a) => a.weight);
  assert.ok(result.loss < result.uniform_loss, `found ${result.loss} at ${weights}, uniform ${result.uniform_loss}`);
  assert.ok(result.loss < result.base_loss, `found ${result.loss}, base ${result.base_loss}`);
  assert.equal(weights.indexOf(Math.max(...weights)), 1, `weights ${weights}`);

  // Progress: one step event per evaluation, the best never getting worse, the first at w = 0 (the base model).
  const steps = events.filter((e): e is Extract<ComposeEvent, { type: 'step' }> => e.type === 'step');
  assert.deepEqual(steps.map((s) => s.step), Array.from({ length: 40 }, (_, i) => i + 1));
  assert.deepEqual(steps[0].weights, [0, 0, 0]);
  assert.equal(steps[0].loss, result.base_loss);
  steps.slice(1).forEach((s, i) => assert.ok(s.best_objective <= steps[i].best_objective));
  // The weights found, up to the global sign element-wise composition cannot see (reported with the largest positive).
  const found = steps.at(-1)!.best_weights;
  assert.ok(found.every((w, i) => w === weights[i]) || found.every((w, i) => w === -weights[i]), `${found} vs ${weights}`);
  assert.ok(Math.abs(result.objective - (result.loss + 0.05 * weights.reduce((s, w) => s + Math.abs(w), 0))) < 1e-9);

  // The folder: PEFT's files (the config with PEFT's keys only), the composition at the weights found, the record.
  assert.deepEqual(readdirSync(out).sort(), ['README.md', 'adapter_config.json', 'adapter_model.safetensors', LORAHUB_RECORD].sort());
  const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  const hub = loadHubAdapters(adapters, loadModelFolder(model));
  assert.deepEqual(Object.keys(config).sort(), Object.keys(peftConfigFor({ r: 4, lora_alpha: 8, lora_dropout: 0, use_rslora: false }, model, hub.targets)).sort());
  assert.deepEqual(config.target_modules, ['q_proj', 'v_proj', 'down_proj']);
  const written = readPeftAdapter(out);
  for (const [name, t] of composeLora(hub.adapters, weights)) {
    assert.deepEqual(written.weights.get(name)!.A, t.A);
    assert.deepEqual(written.weights.get(name)!.B, t.B);
  }
  const record = JSON.parse(readFileSync(join(out, LORAHUB_RECORD), 'utf8')) as ComposeRecord;
  assert.deepEqual(record.adapters.map((a) => a.weight), weights);
  assert.deepEqual(record.adapters.map((a) => a.path), adapters);
  assert.equal(record.examples, 4);
  const readme = readFileSync(join(out, 'README.md'), 'utf8');
  for (const w of weights) assert.ok(readme.includes(w.toFixed(4)), `README lacks weight ${w.toFixed(4)}`);
});

test('compose: cancelling between evaluations writes nothing; a non-empty --out is refused before any work', async () => {
  const right = await trained;
  const adapters = [right, noiseAdapter(right, 'noise-3', 3)];
  const out = join(root, 'cancelled');
  let evaluations = 0;
  await assert.rejects(
    composeAdapters({ model, adapters, data, out, steps: 40, l1: 0.05, seed: 0, maxSeqLen: 64, device: cpu, quantization: 'none', emit: (e) => { if (e.type === 'step') evaluations += 1; }, cancelled: () => evaluations >= 3 }),
    (e: unknown) => e instanceof UserError && /compose cancelled; nothing was written/.test(e.message),
  );
  assert.equal(evaluations, 3);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(root).filter((n) => n.includes('composing')), [], 'no staging folder left');

  await assert.rejects(
    composeAdapters({ model, adapters, data, out: right, steps: 40, l1: 0.05, seed: 0, maxSeqLen: 64, device: cpu, quantization: 'none', emit: () => assert.fail('no progress before the check') }),
    (e: unknown) => e instanceof UserError && /is not empty — choose a new or empty folder/.test(e.message),
  );
  await assert.rejects(
    composeAdapters({ model, adapters, data, out, steps: 1, l1: 0.05, seed: 0, maxSeqLen: 64, device: cpu, quantization: 'none', emit: () => {} }),
    (e: unknown) => e instanceof UserError && /--steps must be a whole number ≥ 2, got 1/.test(e.message),
  );
});
