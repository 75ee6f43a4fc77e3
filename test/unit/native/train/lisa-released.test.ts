// A released LISA layer (native/train/lisa-released.ts) on a bf16 model: held in the stored dtype in a run-local file
// the next programs read as external data (no float32 copy, no in-memory initializer), with values that are the bf16
// rounding of what it trained to; and a run that releases layers writes them so, and resumes bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../../../native/protocol';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { bf16ToF32, f32ToBf16, openWeights, readTensorBytes } from '../../../../native/model/safetensors';
import { weightValues } from '../../../../native/model/weight-values';
import type { ProgramSpec } from '../../../../native/train/engine-program';
import type { MicroBatch } from '../../../../native/train/loop';
import { layerTensors, lisaSample } from '../../../../native/train/lisa';
import { createLisaTrainer, LISA_SAMPLE } from '../../../../native/train/lisa-trainer';
import { LISA_WEIGHTS_DIR } from '../../../../native/train/lisa-released';
import { LISA_MODEL_DIR } from '../../../../native/train/lisa-output';
import { loadCheckpoint } from '../../../../native/train/checkpoint';
import { listCheckpoints, readMetrics } from '../../../../native/train/run-dir';
import { runFixture } from './run-fixture';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';

const { root, newRun, train } = runFixture('lisa-released-', { method: 'lisa', lora_dropout: 0, learning_rate: 1e-2, warmup_steps: 0 });
const bf16Model = makeTinyModel(join(root, 'bf16'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'bfloat16', seed: 3, std: 0.3 }).dir;
/** A seed whose first two periods (γ = 1 of 2 layers) sample different layers, so period 0's layer is released. */
const seed = Array.from({ length: 100 }, (_, s) => s).find((s) => lisaSample(s, 0, 2, 1)[0] !== lisaSample(s, 1, 2, 1)[0])!;
const [releasedLayer] = lisaSample(seed, 0, 2, 1);
const roundBf16 = (values: Float32Array) => bf16ToF32(f32ToBf16(values));

test('a released layer is held in the stored dtype (bf16): its file holds the rounding of its trained values, and no program or host copy holds float32', async () => {
  const model = loadModelFolder(bf16Model);
  const runDir = join(root, 'direct');
  const config: RunConfig = { ...DEFAULT_RUN_OPTIONS, model: bf16Model, data: '', out: runDir, method: 'lisa', lisa_layers: 1, lisa_period: 1, seed, learning_rate: 1e-2 };
  const compiled: ProgramSpec[] = [];
  // A stand-in program: a fixed gradient for every trained tensor, so AdamW moves each of them by about the learning rate.
  const program = async (spec: ProgramSpec) => {
    compiled.push(spec);
    return {
      accumulate: async (_b: MicroBatch, _p: Map<string, Float32Array>, gradSum: Map<string, Float32Array>, weight: number) => {
        for (const g of gradSum.values()) for (let i = 0; i < g.length; i++) g[i] += weight * ((i % 5) - 2) * 0.01;
        return 1;
      },
      loss: async () => 1,
      dispose: async () => {},
    };
  };
  const trainer = await createLisaTrainer(model, config, { device: { provider: 'cpu', deviceId: 0 }, runDir, program });
  const batch: MicroBatch = { inputIds: [[1, 2, 3]], labels: [[1, 2, 3]], attentionMask: [[1, 1, 1]] };
  const names = layerTensors(model.weights, releasedLayer);
  try {
    await trainer.step([batch], 1e-2); // period 0: the layer trains in float32
    assert.deepEqual(trainer.activeLayers(), [releasedLayer]);
    const trained = new Map(names.map((n) => [n, trainer.updatedWeights().get(n)!]));
    await trainer.step([batch], 1e-2); // period 1: the other layer trains, this one is released
    assert.notDeepEqual(trainer.activeLayers(), [releasedLayer]);
    const spec = compiled.at(-1)!;
    let rounded = 0;
    for (const name of names) {
      const source = spec.weights!(name);
      assert.equal(source.kind, 'file', `${name} is external data, not an in-memory initializer`);
      assert.ok(source.kind === 'file' && source.dtype === 'BF16' && source.location.includes(LISA_WEIGHTS_DIR), `${name}: ${JSON.stringify(source)}`);
      const held = weightValues(source, spec.externalDataDir!);
      assert.deepEqual(held, roundBf16(trained.get(name)!), `${name} holds the bf16 rounding of its trained values`);
      assert.deepEqual(trainer.updatedWeights().get(name), held, `${name}: the state is what the programs read`);
      if (held.some((x, i) => x !== trained.get(name)![i])) rounded += 1;
    }
    assert.ok(rounded > 0, 'the trained float32 values were not all bf16 values: rounding happened');
    // No frozen tensor of the programs is float32 in memory; the file is 2 bytes a parameter.
    for (const name of model.weights.names()) if (!spec.trainWeights!.has(name)) assert.notEqual(spec.weights!(name).kind, 'data', name);
    const params = names.reduce((sum, n) => sum + model.weights.entry(n)!.entry.shape.reduce((a, b) => a * b, 1), 0);
    const file = join(runDir, LISA_WEIGHTS_DIR, `layer-${releasedLayer}.safetensors`);
    assert.ok(statSync(file).size < 2 * params + 4096, `${statSync(file).size} bytes for ${params} bf16 parameters`);
    assert.equal(trainer.exportState().tensors.get(names[0])!.length, trained.get(names[0])!.length);
  } finally {
    await trainer.dispose();
  }
  assert.ok(!existsSync(join(runDir, LISA_WEIGHTS_DIR)), 'the scratch folder goes with the trainer');
});

test('a bf16 LISA run writes released layers as the rounding of what they trained to, and resumes bit for bit', async () => {
  const options: Partial<RunConfig> = { model: bf16Model, lisa_layers: 1, lisa_period: 2, max_steps: 6, seed, save_every: 2, save_total_limit: 5 };
  const whole = newRun('bf16-whole', options);
  assert.equal(await train(whole), 'completed');
  const checkpoints = listCheckpoints(whole);
  const stateAt = (step: number) => loadCheckpoint(checkpoints.find((c) => c.step === step)!.path).trainer.tensors;
  const endOfPeriod0 = stateAt(2);
  assert.deepEqual([...endOfPeriod0.get(LISA_SAMPLE)!], [0, releasedLayer]);
  const out = openWeights(join(whole, LISA_MODEL_DIR));
  const baseStore = openWeights(bf16Model);
  const sampledLater = lisaSample(seed, 2, 2, 1)[0] === releasedLayer;
  for (const name of layerTensors(baseStore, releasedLayer)) {
    const trained = endOfPeriod0.get(name)!;
    // Released at step 3, in bf16 from then on: the step-4 state holds its rounding (period 1 trains the other layer).
    assert.deepEqual(stateAt(4).get(name), roundBf16(trained), name);
    if (sampledLater) continue;
    const bytes = Buffer.from(readTensorBytes(out.entry(name)!.file, name));
    assert.ok(bytes.equals(Buffer.from(f32ToBf16(trained).buffer)), `${name} in the output is its released value`);
    assert.ok(!bytes.equals(Buffer.from(readTensorBytes(baseStore.entry(name)!.file, name))), `${name} trained`);
  }
  const parts = newRun('bf16-parts', options);
  assert.equal(await train(parts, 3), 'stopped'); // mid period 1, with the layer released
  assert.equal(await train(parts), 'completed');
  assert.deepEqual(readMetrics(parts).map((m) => m.loss), readMetrics(whole).map((m) => m.loss));
  const a = openWeights(join(whole, LISA_MODEL_DIR)), b = openWeights(join(parts, LISA_MODEL_DIR));
  for (const name of a.names()) {
    assert.ok(Buffer.from(readTensorBytes(a.entry(name)!.file, name)).equals(Buffer.from(readTensorBytes(b.entry(name)!.file, name))), `${name} differs after the resume`);
  }
});
