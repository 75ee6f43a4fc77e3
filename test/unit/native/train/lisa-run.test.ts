// LISA (native/train/lisa.ts, lisa-trainer.ts, lisa-output.ts) end to end on the tiny Qwen2 (2 layers, tied
// embeddings; an untied Llama head too): a run trains only the embeddings, head and sampled layers (the rest bit-identical),
// learns, writes a Hugging Face model folder equal to its trained state that our generate decodes as that state does,
// and a resume reproduces the uninterrupted losses exactly; the sampler is seeded and uniform.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readMetrics } from '../../../../native/train/run-dir';
import { openWeights, readTensorBytes } from '../../../../native/model/safetensors';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { loadCheckpoint } from '../../../../native/train/checkpoint';
import { latestCheckpoint } from '../../../../native/train/run-dir';
import { generate, generateIds } from '../../../../native/model/generate';
import { storeWeightSources } from '../../../../native/model/weight-sources';
import { lisaSample } from '../../../../native/train/lisa';
import { LISA_MODEL_DIR } from '../../../../native/train/lisa-output';
import { LISA_SAMPLE } from '../../../../native/train/lisa-trainer';
import { validateRunConfig } from '../../../../native/train/config';
import { DEFAULT_RUN_OPTIONS, type RunConfig, type WorkerEvent } from '../../../../native/protocol';
import { trainOwnedRun } from '../../../../native/train/owned-run';
import { runFixture } from './run-fixture';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';

const { root, model, data, newRun, train, trainEvents } = runFixture('lisa-run-', { method: 'lisa', lora_dropout: 0, learning_rate: 1e-2 });

const bytesByName = (dir: string) => {
  const store = openWeights(dir);
  return new Map(store.names().map((name) => {
    const found = store.entry(name)!;
    return [name, Buffer.from(readTensorBytes(found.file, name))];
  }));
};

test('LISA trains only the embeddings and the sampled layer, learns, and writes a model folder that generate decodes as the trained weights', async () => {
  // One period (K > steps): one layer of two is sampled, the other never.
  const run = newRun('only', { lisa_layers: 1, lisa_period: 100, max_steps: 12, seed: 5, warmup_steps: 0 });
  assert.equal(await train(run), 'completed');
  const [sampled] = lisaSample(5, 0, 2, 1);
  const out = join(run, LISA_MODEL_DIR);
  const base = bytesByName(model), trained = bytesByName(out);
  assert.deepEqual([...trained.keys()], [...base.keys()], 'same tensors, same order (a tied model gets no lm_head)');
  for (const [name, bytes] of base) {
    const inSample = name.startsWith(`model.layers.${sampled}.`) || name === 'model.embed_tokens.weight';
    if (inSample) assert.ok(!bytes.equals(trained.get(name)!), `${name} trained but did not change`);
    else assert.ok(bytes.equals(trained.get(name)!), `${name} is frozen but changed`);
  }
  // Companion files copied as merge copies them.
  for (const file of readdirSync(model).filter((f) => !f.endsWith('.safetensors'))) assert.ok(existsSync(join(out, file)), `${file} copied`);
  assert.ok(!existsSync(join(run, 'adapter_model.safetensors')), 'no adapter: the output is a model');

  const losses = readMetrics(run).map((m) => m.loss);
  const tail = losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
  assert.ok(tail < 0.5 * losses[0], `loss ${losses[0]} → ${tail}`);

  // The folder holds exactly the final state's float32 values (the fixture is float32), and our generate decodes it
  // as the same weights given in memory do.
  const state = loadCheckpoint(latestCheckpoint(run)!.path).trainer.tensors;
  assert.deepEqual([...state.get(LISA_SAMPLE)!], [0, sampled]);
  const outStore = openWeights(out);
  for (const [name, values] of state) {
    if (name.includes('.exp_avg') || name === LISA_SAMPLE) continue;
    assert.ok(Buffer.from(values.buffer, values.byteOffset, values.byteLength).equals(trained.get(name)!), `${name} in the folder is the trained state`);
    assert.ok(outStore.entry(name));
  }
  const folder = loadModelFolder(out);
  let fromFolder: number[] = [];
  for await (const _ of generate({ model: folder, prompt: 'Reverse the word. orbit', maxNewTokens: 6, temperature: 0, topP: 1, seed: 0, onStats: (s) => { fromFolder = s.tokens; } })) void _;
  const baseFolder = loadModelFolder(model);
  const sources = storeWeightSources(baseFolder.weights, baseFolder.dir);
  const inMemory: number[] = [];
  const weights = (name: string) => (state.has(name) ? { kind: 'data' as const, data: state.get(name)! } : sources.weights(name));
  for await (const id of generateIds({ config: baseFolder.config, weights, externalDataDir: sources.externalDataDir, dtype: 'float32' }, baseFolder.tokenizer.encode('Reverse the word. orbit', true), { maxNewTokens: 6, temperature: 0, topP: 1, seed: 0, stopIds: [] })) inMemory.push(id);
  assert.ok(fromFolder.length > 0);
  assert.deepEqual(fromFolder, inMemory.slice(0, fromFolder.length));
});

test('LISA resumes exactly: a run stopped mid-period and resumed has the uninterrupted losses, bit for bit, and the same model', async () => {
  const options: Partial<RunConfig> = { lisa_layers: 1, lisa_period: 2, max_steps: 7, seed: 2, eval_data: data, eval_every: 7 };
  const whole = newRun('whole', options);
  const events = await trainEvents(whole);
  assert.equal(events.outcome, 'completed');
  const parts = newRun('parts', options);
  assert.equal(await train(parts, 3), 'stopped'); // step 3 is the first of the second period's two
  assert.equal(await train(parts), 'completed');
  assert.deepEqual(readMetrics(parts).map((m) => m.loss), readMetrics(whole).map((m) => m.loss));
  assert.equal(readMetrics(parts).at(-1)!.eval_loss, readMetrics(whole).at(-1)!.eval_loss);
  const a = bytesByName(join(whole, LISA_MODEL_DIR)), b = bytesByName(join(parts, LISA_MODEL_DIR));
  for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `${name} differs after the resume`);
  // The samples over the run's 4 periods: the status lines say which layers trained.
  const said = events.events.filter((e) => e.type === 'status' && e.message.startsWith('LISA: training layers')).length;
  assert.equal(said, 4);
});

test('the sampler is a function of seed and period, draws γ distinct layers, and is uniform', () => {
  assert.deepEqual(lisaSample(7, 3, 24, 2), lisaSample(7, 3, 24, 2));
  const draws = new Set(Array.from({ length: 20 }, (_, p) => lisaSample(7, p, 24, 2).join(',')));
  assert.ok(draws.size > 10, 'periods draw different layers');
  const N = 8, gamma = 3, periods = 8000;
  const counts = new Array<number>(N).fill(0);
  for (let p = 0; p < periods; p++) {
    const sample = lisaSample(11, p, N, gamma);
    assert.equal(new Set(sample).size, gamma);
    assert.ok(sample.every((l) => l >= 0 && l < N));
    for (const l of sample) counts[l]++;
  }
  // Each layer is drawn with probability γ/N = 3/8: 3000 of 8000 expected, σ ≈ 43; allow 5σ.
  for (const c of counts) assert.ok(Math.abs(c - (periods * gamma) / N) < 220, `counts ${counts}`);
});

test('LISA options: refused on other methods, checked on lisa, and LoRA-only options refused with it', () => {
  const problems = (config: Partial<RunConfig>) => validateRunConfig({ ...DEFAULT_RUN_OPTIONS, model, data, out: '/tmp/lisa-options', ...config }).map((p) => p.field);
  assert.deepEqual(problems({ method: 'lora', lisa_layers: 2 }), ['lisa_layers']);
  assert.deepEqual(problems({ method: 'lisa', lisa_layers: 0, lisa_period: 1.5 }), ['lisa_layers', 'lisa_period']);
  assert.deepEqual(problems({ method: 'lisa', use_dora: true, quantization: 'nf4' }), ['use_dora', 'quantization']);
  assert.deepEqual(problems({ method: 'lisa', lisa_layers: 2, lisa_period: 20 }), []);
});

test('an untied head (Llama) trains beside the embeddings, once each; the final norm stays frozen', async () => {
  const llama = makeTinyModel(join(root, 'llama'), { ...TINY_PRESETS.LlamaForCausalLM, dtype: 'float32', seed: 3, std: 0.3 }).dir;
  const run = newRun('llama', { model: llama, lisa_layers: 1, max_steps: 3 });
  assert.equal(await train(run), 'completed');
  const base = bytesByName(llama), trained = bytesByName(join(run, LISA_MODEL_DIR));
  for (const name of ['model.embed_tokens.weight', 'lm_head.weight']) assert.ok(!base.get(name)!.equals(trained.get(name)!), `${name} trained`);
  assert.ok(base.get('model.norm.weight')!.equals(trained.get('model.norm.weight')!));
});

test('a LISA run\'s done event names its model folder (the adapter field stays the run folder, to resume from)', async () => {
  const run = newRun('owned', { lisa_layers: 1, max_steps: 2 });
  const events: WorkerEvent[] = [];
  assert.equal((await trainOwnedRun(run, { onEvent: (e) => events.push(e), log: () => {} })).outcome, 'completed');
  const done = events.find((e) => e.type === 'done');
  assert.deepEqual(done && done.type === 'done' ? [done.model, done.adapter] : undefined, [join(run, LISA_MODEL_DIR), run]);
});

test('a LISA run with more layers to sample than the model has is refused by name', async () => {
  const run = newRun('too-many', { lisa_layers: 3, max_steps: 1 });
  await assert.rejects(train(run), /lisa_layers 3 is more than the 2 decoder layers/);
});
