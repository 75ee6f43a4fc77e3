// The trainer's step logic (native/train/trainer.ts) with a micro-batch program backed by the float64 reference
// (central differences) and the real AdamW graph, so token weighting, accumulation, clipping, AdamW, LoRA+ and state
// export are checked against an independent computation without the model's engine graph.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTrainer } from '../../../../native/train/trainer';
import type { MicroBatchProgram, ProgramFactory } from '../../../../native/train/engine-program';
import type { MicroBatch } from '../../../../native/train/loop';
import type { RunConfig } from '../../../../native/protocol';
import type { ModelFolder } from '../../../../native/model/model-folder';
import { randomWeights, referenceLogits, referenceLoss, type RefLora } from '../model/llama-reference';
import { TINY_CONFIGS } from '../model/tiny-configs';

const config = { ...TINY_CONFIGS.qwen2, num_hidden_layers: 1 };
const weights = randomWeights(config, 31);
const model = { config } as ModelFolder; // the reference program reads only the config
const targets = [
  { baseName: 'model.layers.0.self_attn.q_proj', in: 16, out: 16 },
  { baseName: 'model.layers.0.self_attn.v_proj', in: 16, out: 8 },
];
const run = {
  r: 2, lora_alpha: 4, lora_dropout: 0, use_rslora: false, loraplus_lr_ratio: 4, learning_rate: 1e-2, weight_decay: 0.01,
  max_grad_norm: 1.0, seed: 3,
} as RunConfig;

function refLoss(batch: MicroBatch, params: Map<string, Float32Array | Float64Array>): number {
  const lora: RefLora = { r: run.r, scaling: run.lora_alpha / run.r, weights: new Map() };
  for (const t of targets) {
    lora.weights.set(t.baseName, { A: Float64Array.from(params.get(`${t.baseName}.lora_A`)!), B: Float64Array.from(params.get(`${t.baseName}.lora_B`)!) });
  }
  return referenceLoss(referenceLogits(config, weights, batch.inputIds, batch.attentionMask, lora), batch.labels, config.vocab_size);
}

/** d loss / d param by central differences in float64. */
function refGrads(batch: MicroBatch, params: Map<string, Float32Array>): Map<string, Float64Array> {
  const p64 = new Map([...params].map(([n, t]) => [n, Float64Array.from(t)]));
  const grads = new Map<string, Float64Array>();
  const h = 1e-5;
  for (const [n, t] of p64) {
    const g = new Float64Array(t.length);
    for (let i = 0; i < t.length; i++) {
      const x = t[i];
      t[i] = x + h; const up = refLoss(batch, p64);
      t[i] = x - h; const down = refLoss(batch, p64);
      t[i] = x;
      g[i] = (up - down) / (2 * h);
    }
    grads.set(n, g);
  }
  return grads;
}

const referenceProgram: ProgramFactory = async () => {
  const program: MicroBatchProgram = {
    async accumulate(batch, params, gradSum, weight) {
      for (const [n, g] of refGrads(batch, params)) gradSum.set(n, gradSum.get(n)!.map((x, i) => x + weight * g[i]));
      return refLoss(batch, params);
    },
    async loss(batch, params) { return refLoss(batch, params); },
    async dispose() {},
  };
  return program;
};

const batchA: MicroBatch = { inputIds: [[1, 2, 3, 4]], labels: [[2, 3, 4, -100]], attentionMask: [[1, 1, 1, 1]] };
const batchB: MicroBatch = { inputIds: [[5, 6, 0, 0]], labels: [[6, 7, -100, -100]], attentionMask: [[1, 1, 0, 0]] };
const device = { provider: 'cpu' as const, deviceId: 0 };

test('trainer: one step equals an independent AdamW step on token-weighted, clipped reference gradients', async () => {
  const trainer = await createTrainer(model, run, { device, targets, program: referenceProgram, maxPrograms: Infinity });
  const before = trainer.exportState().tensors;
  // Independent expectation, float64: grads weighted 3:2 by trained tokens, clipped to norm 1, then AdamW step 1.
  const params = new Map([...before].filter(([n]) => !n.includes('exp_avg')));
  const gA = refGrads(batchA, params), gB = refGrads(batchB, params);
  const g = new Map([...gA].map(([n, a]) => [n, a.map((x, i) => (3 * x + 2 * gB.get(n)![i]) / 5)]));
  const norm = Math.sqrt([...g.values()].reduce((s, t) => s + t.reduce((u, x) => u + x * x, 0), 0));
  const clip = Math.min(1, run.max_grad_norm / (norm + 1e-6));
  const result = await trainer.step([batchA, batchB], run.learning_rate);
  assert.ok(Math.abs(result.gradNorm - norm) < 1e-4 * norm, `grad norm ${result.gradNorm} vs ${norm}`);
  assert.equal(result.tokens, 5);
  const after = trainer.exportState();
  assert.equal(after.step, 1);
  for (const [n, p] of params) {
    const lr = n.endsWith('lora_B') ? run.learning_rate * run.loraplus_lr_ratio : run.learning_rate;
    for (let i = 0; i < p.length; i++) {
      const gi = g.get(n)![i] * clip;
      const m = 0.1 * gi, v = 0.001 * gi * gi;
      const want = p[i] * (1 - lr * run.weight_decay) - (lr / 0.1) * (m / (Math.sqrt(v) / Math.sqrt(0.001) + 1e-8));
      assert.ok(Math.abs(after.tensors.get(n)![i] - want) < 1e-6, `${n}[${i}]: ${after.tensors.get(n)![i]} vs ${want}`);
    }
  }
  await trainer.dispose();
});

test('trainer: a few steps drive the loss down; exported state resumes to the same next loss', async () => {
  const trainer = await createTrainer(model, run, { device, targets, program: referenceProgram, maxPrograms: Infinity });
  const first = await trainer.evalLoss([batchA]);
  for (let i = 0; i < 4; i++) await trainer.step([batchA], run.learning_rate);
  const later = await trainer.evalLoss([batchA]);
  assert.ok(later < first - 0.05, `loss ${first} → ${later}`);
  const resumed = await createTrainer(model, run, { device, targets, program: referenceProgram, maxPrograms: Infinity, state: trainer.exportState() });
  const a = await trainer.step([batchA], run.learning_rate);
  const b = await resumed.step([batchA], run.learning_rate);
  assert.equal(b.loss, a.loss);
  assert.deepEqual(resumed.exportState(), trainer.exportState());
  assert.deepEqual([...trainer.stateShapes().keys()].sort(), [...trainer.exportState().tensors.keys()].sort());
  assert.deepEqual(trainer.stateShapes().get('model.layers.0.self_attn.v_proj.lora_B'), [8, 2]);
});

test('trainer: a state from other targets or another rank is refused, naming the tensor', async () => {
  const trainer = await createTrainer(model, run, { device, targets, program: referenceProgram, maxPrograms: Infinity });
  const state = trainer.exportState();
  const missing = { step: 1, tensors: new Map([...state.tensors].filter(([n]) => !n.startsWith('model.layers.0.self_attn.v_proj'))) };
  await assert.rejects(createTrainer(model, run, { device, targets, program: referenceProgram, maxPrograms: Infinity, state: missing }), /no tensor model\.layers\.0\.self_attn\.v_proj\.lora_A/);
  await assert.rejects(createTrainer(model, { ...run, r: 3 }, { device, targets, program: referenceProgram, maxPrograms: Infinity, state }), /has 32 values, expected 48/);
});

test('trainer: one program per (batch, length) bucket, cached; beyond maxPrograms the least recently used is disposed', async () => {
  const made: string[] = [], disposed: string[] = [];
  const counting: ProgramFactory = async (spec) => {
    const key = `${spec.batch}x${spec.length}`;
    made.push(key);
    const inner = await referenceProgram(spec);
    return { ...inner, async dispose() { disposed.push(key); } };
  };
  const trainer = await createTrainer(model, run, { device, targets, program: counting, maxPrograms: 2 });
  const short: MicroBatch = { inputIds: [[1, 2]], labels: [[2, 3]], attentionMask: [[1, 1]] };
  await trainer.step([batchA], 1e-3);
  await trainer.step([batchA, batchB], 1e-3); // same 1x4 bucket: reused
  await trainer.step([short], 1e-3);
  await trainer.evalLoss([batchA]); // touches 1x4, so 1x2 is now the least recently used
  assert.deepEqual(made, ['1x4', '1x2']);
  const two: MicroBatch = { inputIds: [[1, 2], [3, 4]], labels: [[2, 3], [4, 5]], attentionMask: [[1, 1], [1, 1]] };
  await trainer.step([two], 1e-3);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(made, ['1x4', '1x2', '2x2']);
  assert.deepEqual(disposed, ['1x2']);
  await trainer.dispose();
  assert.deepEqual(disposed.sort(), ['1x2', '1x4', '2x2']);
});
