// The engine-backed training program (native/train/engine-program.ts): LoRA gradients of the built graph against
// central differences of the independent float64 reference, and a trainer on a real tiny model folder learning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildTrainingGraph, gradSumName, nextGradSumName } from '../../../../native/train/engine-program';
import { createTrainer } from '../../../../native/train/trainer';
import type { RunConfig } from '../../../../native/protocol';
import type { ModelFolder } from '../../../../native/model/model-folder';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { makeTinyModel } from '../../../fixtures/tiny-model/index';
import { randomWeights, referenceLogits, referenceLoss, seededRandom, type RefLora } from '../model/llama-reference';
import { TINY_CONFIGS } from '../model/tiny-configs';
import { NF4_BLOCK, NF4_LEVELS, quantizeNf4, type Nf4Tensor } from '../../../../native/engine/nf4';
import { linearModules } from '../../../../native/model/linear-modules';
import type { WeightSource } from '../../../../native/engine/onnx-export';
import { auditForCuda, type AuditedNode } from '../../../../native/engine/cuda-kernels';

const device = { provider: 'cpu' as const, deviceId: 0 };
const ids = [[1, 5, 9, 2, 7], [4, 8, 6, 0, 0]];
const mask = [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]];
const labels = [[5, 9, 2, 7, -100], [8, 6, -100, -100, -100]];
const int = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);

// Plain; each layer recomputed in the backward pass with the loss in chunks of 3 tokens (one chunk straddles the two
// rows); and the same with a loss weight of 0.25 added to a non-zero running gradient sum.
const modes = [
  { name: 'plain', checkpointing: false, lossChunkTokens: undefined, weight: 1, sum: 0 },
  { name: 'recomputed layers, loss in 3-token chunks', checkpointing: true, lossChunkTokens: 3, weight: 1, sum: 0 },
  { name: 'recomputed, weighted and accumulated', checkpointing: true, lossChunkTokens: 4, weight: 0.25, sum: 0.5 },
  { name: 'attention in blocks of 2 query rows', checkpointing: true, lossChunkTokens: undefined, attentionRows: 2, weight: 1, sum: 0 },
  // Head blocks: each block's weight copy is made again for the backward (TapeSink.weightCopies); 7 rows leave a short last block.
  { name: 'head in blocks of 7 vocabulary rows, loss in 4-token chunks', checkpointing: true, lossChunkTokens: 4, headRows: 7, weight: 1, sum: 0 },
];
// NF4 needs rows of whole 64-value blocks: every linear layer's input width a multiple of 64.
const NF4_SHAPE = { hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16 };
const cases = [
  ['llama', modes[0]], ['qwen3', modes[0]], ['llama', modes[1]], ['qwen3', modes[1]], ['qwen2', modes[2]], ['mistral', modes[3]], ['llama', modes[3]],
  ['llama', modes[4]], ['qwen2', modes[4]], ['llama', modes[1], 'nf4'], ['qwen2', modes[0], 'nf4'],
] as const;
for (const [arch, mode, quantization] of cases.map((c) => [c[0], c[1], c[2] ?? 'none'] as const)) {
  const what = quantization === 'nf4' ? ', NF4 linear weights (gradients of the dequantized model)' : '';
  test(`engine program (${arch}, float64, ${mode.name}${what}): LoRA gradients match central differences of the reference (rel 1e-6)`, async () => {
    const config = { ...TINY_CONFIGS[arch], num_hidden_layers: 2, ...(quantization === 'nf4' ? NF4_SHAPE : {}) };
    const w = randomWeights(config, 41);
    // The graph reads codes and absmax; the reference reads level × absmax in float64, the same values.
    const quantized = new Map<string, Nf4Tensor>();
    if (quantization === 'nf4') {
      for (const m of linearModules(config)) {
        for (let l = 0; l < config.num_hidden_layers; l++) {
          const name = `${m.path(l)}.weight`;
          const q = quantizeNf4(Float32Array.from(w.get(name)!), [m.out, m.in], name);
          quantized.set(name, q);
          w.set(name, Float64Array.from({ length: q.codes.length * 2 }, (_, i) => NF4_LEVELS[i % 2 ? q.codes[i >> 1] & 15 : q.codes[i >> 1] >> 4] * q.absmax[Math.floor(i / NF4_BLOCK)]));
        }
      }
    }
    const source = (name: string): WeightSource => {
      const q = quantized.get(name);
      return q ? { kind: 'nf4', codes: q.codes, absmax: q.absmax } : { kind: 'data', data: w.get(name)! };
    };
    const E = config.hidden_size, kvOut = config.num_key_value_heads * config.head_dim;
    const sites = [
      { baseName: 'model.layers.0.self_attn.k_proj', in: E, out: kvOut },
      { baseName: 'model.layers.1.mlp.up_proj', in: E, out: config.intermediate_size },
    ];
    const r = 2, scaling = 1.5, rnd = seededRandom(42);
    const params = new Map<string, Float64Array>();
    for (const s of sites) {
      params.set(`${s.baseName}.lora_A`, Float64Array.from({ length: r * s.in }, () => rnd() * 0.5));
      params.set(`${s.baseName}.lora_B`, Float64Array.from({ length: s.out * r }, () => rnd() * 0.5));
    }
    const spec = {
      model: {} as ModelFolder, config, batch: 2, length: 5, lora: { r, scaling, sites, dropout: 0 }, device, dtype: 'float64' as const,
      checkpointing: mode.checkpointing, lossChunkTokens: mode.lossChunkTokens, attentionRows: 'attentionRows' in mode ? mode.attentionRows : undefined,
      headRows: 'headRows' in mode ? mode.headRows : undefined,
    };
    const built = buildTrainingGraph(spec, source, 'train');
    const session = await ort.InferenceSession.create(built.bytes, { graphOptimizationLevel: 'basic' });
    const feeds: Record<string, ort.Tensor> = { input_ids: int(ids), attention_mask: int(mask), labels: int(labels) };
    for (const s of sites) {
      feeds[`${s.baseName}.lora_A`] = new ort.Tensor('float64', params.get(`${s.baseName}.lora_A`)!, [r, s.in]);
      feeds[`${s.baseName}.lora_B`] = new ort.Tensor('float64', params.get(`${s.baseName}.lora_B`)!, [s.out, r]);
    }
    feeds.loss_weight = new ort.Tensor('float64', Float64Array.of(mode.weight), []);
    for (const [name, p] of params) feeds[gradSumName(name)] = new ort.Tensor('float64', new Float64Array(p.length).fill(mode.sum), name.endsWith('lora_A') ? [r, p.length / r] : [p.length / r, r]);
    const out = await session.run(feeds);
    const refLoss = () => {
      const lora: RefLora = { r, scaling, weights: new Map(sites.map((s) => [s.baseName, { A: params.get(`${s.baseName}.lora_A`)!, B: params.get(`${s.baseName}.lora_B`)! }])) };
      return referenceLoss(referenceLogits(config, w, ids, mask, lora), labels, config.vocab_size);
    };
    assert.ok(Math.abs((out.loss.data as Float64Array)[0] - refLoss()) < 1e-9);
    let worst = 0;
    for (const [name, p] of params) {
      const sum = out[nextGradSumName(name)].data as Float64Array;
      const g = sum.map((x) => (x - mode.sum) / mode.weight);
      for (let i = 0; i < p.length; i++) {
        const x = p[i], h = 1e-5;
        p[i] = x + h; const up = refLoss();
        p[i] = x - h; const down = refLoss();
        p[i] = x;
        const fd = (up - down) / (2 * h);
        worst = Math.max(worst, Math.abs(g[i] - fd) / Math.max(1e-3, Math.abs(fd)));
      }
    }
    assert.ok(worst < 1e-6, `worst relative gradient error ${worst}`);
    await session.release();
  });
}

const run = {
  r: 4, lora_alpha: 8, lora_dropout: 0.05, use_rslora: false, loraplus_lr_ratio: 1, learning_rate: 3e-2, weight_decay: 0,
  max_grad_norm: 1.0, seed: 1,
} as RunConfig;

test('trainer on the engine (tiny Qwen2 folder, bf16 weights, f32 LoRA): loss falls; a resumed trainer continues identically', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'p1-train-'));
  try {
    // std 0.5: with tied embeddings the embedding scale bounds the logit margin, so HF's 0.02 could never reach a low loss.
    makeTinyModel(dir, { architecture: 'Qwen2ForCausalLM', layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64, vocab: 600, tie: true, dtype: 'bfloat16', seed: 9, std: 0.5 });
    const model = loadModelFolder(dir);
    const shapes: Record<string, [string, number, number]> = {
      q_proj: ['self_attn', 32, 32], k_proj: ['self_attn', 32, 16], v_proj: ['self_attn', 32, 16], o_proj: ['self_attn', 32, 32],
      gate_proj: ['mlp', 32, 64], up_proj: ['mlp', 32, 64], down_proj: ['mlp', 64, 32],
    };
    const targets = Object.entries(shapes).flatMap(([m, [block, inF, out]]) => [0, 1].map((l) => ({ baseName: `model.layers.${l}.${block}.${m}`, in: inF, out })));
    const batch = { inputIds: [[10, 11, 12, 13, 14, 15, 16, 17], [20, 21, 22, 23, 0, 0, 0, 0]], labels: [[11, 12, 13, 14, 15, 16, 17, -100], [21, 22, 23, -100, -100, -100, -100, -100]], attentionMask: [[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0, 0]] };
    const trainer = await createTrainer(model, run, { device, targets });
    const first = await trainer.evalLoss([batch]);
    const started = performance.now();
    const steps = 40;
    for (let i = 0; i < steps; i++) await trainer.step([batch], run.learning_rate);
    const perStep = (performance.now() - started) / steps;
    const last = await trainer.evalLoss([batch]);
    console.log(`# tiny Qwen2 (2 layers, hidden 32, B=2, T=8, r=4 on all linear): ${perStep.toFixed(1)} ms/step; eval loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    assert.ok(last < 0.3 * first, `loss ${first} → ${last}`);
    const resumed = await createTrainer(model, run, { device, targets, state: trainer.exportState() });
    const a = await trainer.step([batch], run.learning_rate);
    const b = await resumed.step([batch], run.learning_rate);
    assert.equal(b.loss, a.loss);
    assert.deepEqual(resumed.exportState(), trainer.exportState());
    await trainer.dispose();
    await resumed.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trainer on the engine: two accumulated micro-batches step exactly like one batch holding both (token-weighted)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'p1-accum-'));
  try {
    makeTinyModel(dir, { architecture: 'LlamaForCausalLM', layers: 1, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64, vocab: 600, tie: false, dtype: 'float32', seed: 4, std: 0.3, llama3RopeScaling: true });
    const model = loadModelFolder(dir);
    const targets = [{ baseName: 'model.layers.0.self_attn.q_proj', in: 32, out: 32 }, { baseName: 'model.layers.0.mlp.down_proj', in: 64, out: 32 }];
    const noDropout = { ...run, lora_dropout: 0, weight_decay: 0.1, loraplus_lr_ratio: 8 };
    const rowA = { ids: [3, 4, 5, 6, 7, 8], labels: [4, 5, 6, 7, 8, -100], mask: [1, 1, 1, 1, 1, 1] };
    const rowB = { ids: [9, 10, 11, 0, 0, 0], labels: [10, 11, -100, -100, -100, -100], mask: [1, 1, 1, 0, 0, 0] };
    const one = (rows: (typeof rowA)[]) => ({ inputIds: rows.map((r) => r.ids), labels: rows.map((r) => r.labels), attentionMask: rows.map((r) => r.mask) });
    const split = await createTrainer(model, noDropout, { device, targets });
    const whole = await createTrainer(model, noDropout, { device, targets });
    for (let i = 0; i < 3; i++) {
      const a = await split.step([one([rowA]), one([rowB])], 1e-2);
      const b = await whole.step([one([rowA, rowB])], 1e-2);
      assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `step ${i}: loss ${a.loss} vs ${b.loss}`);
      assert.ok(Math.abs(a.gradNorm - b.gradNorm) < 1e-4 * b.gradNorm, `step ${i}: grad norm ${a.gradNorm} vs ${b.gradNorm}`);
      assert.equal(a.tokens, 7);
    }
    const sa = split.exportState().tensors, sb = whole.exportState().tensors;
    for (const [name, t] of sa) for (let i = 0; i < t.length; i++) assert.ok(Math.abs(t[i] - sb.get(name)![i]) < 1e-4, `${name}[${i}]`);
    await split.dispose();
    await whole.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trainer, fp16 (emulated on the CPU): dynamic loss scaling trains, resumes exactly, and skips an overflowing step halving the scale', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'p1-fp16-'));
  try {
    makeTinyModel(dir, { architecture: 'Qwen2ForCausalLM', layers: 1, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64, vocab: 600, tie: true, dtype: 'float16', seed: 5, std: 0.5 });
    const model = loadModelFolder(dir);
    const targets = [{ baseName: 'model.layers.0.self_attn.q_proj', in: 32, out: 32 }, { baseName: 'model.layers.0.mlp.down_proj', in: 64, out: 32 }];
    const fp16 = { ...run, precision: 'fp16' as const, lora_dropout: 0 };
    const batch = { inputIds: [[10, 11, 12, 13, 14, 15]], labels: [[11, 12, 13, 14, 15, -100]], attentionMask: [[1, 1, 1, 1, 1, 1]] };
    const trainer = await createTrainer(model, fp16, { device, targets });
    const first = await trainer.evalLoss([batch]);
    for (let i = 0; i < 15; i++) await trainer.step([batch], 3e-2);
    const last = await trainer.evalLoss([batch]);
    assert.ok(last < 0.5 * first, `loss ${first} → ${last}`);
    const state = trainer.exportState();
    // [scale, clean steps, applied steps]: each skipped step (an f16 overflow, typical of the first steps at 2^16) halved
    // the scale from 2^16; every other step was applied.
    const [scale, clean, applied] = state.tensors.get('loss_scale')!;
    const skipped = 15 - applied;
    assert.ok(applied >= 10, `${applied} of 15 steps applied`);
    assert.equal(scale, 2 ** (16 - skipped));
    assert.ok(clean <= applied);
    const resumed = await createTrainer(model, fp16, { device, targets, state });
    assert.deepEqual(await resumed.step([batch], 3e-2), await trainer.step([batch], 3e-2));
    // A scale so large the scaled gradients overflow f16: the step is skipped (LoRA and AdamW unchanged), the scale halves.
    const huge = { step: 16, tensors: new Map(state.tensors).set('loss_scale', Float32Array.of(2 ** 100, 7, applied)) };
    const overflowing = await createTrainer(model, fp16, { device, targets, state: huge });
    const result = await overflowing.step([batch], 3e-2);
    assert.equal(result.gradNorm, Infinity);
    const after = overflowing.exportState();
    assert.deepEqual([...after.tensors.get('loss_scale')!], [2 ** 99, 0, applied]);
    for (const [name, t] of state.tensors) if (name !== 'loss_scale') assert.deepEqual(after.tensors.get(name), t, name);
    for (const t of [trainer, resumed, overflowing]) await t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the NF4 training graph (recomputed layers, bf16 embedding and head) has a CUDA kernel for every node; each linear weight is dequantized in the graph', () => {
  const config = { ...TINY_CONFIGS.qwen2, ...NF4_SHAPE };
  const linear = new Set(linearModules(config).flatMap((m) => [0, 1].map((l) => `${m.path(l)}.weight`)));
  const file = { location: 'model.safetensors', offset: 0, length: 2 };
  const source = (name: string): WeightSource => (linear.has(name) ? { kind: 'nf4', codes: file, absmax: file } : { kind: 'file', dtype: 'BF16', ...file });
  const sites = [{ baseName: 'model.layers.0.self_attn.q_proj', in: 64, out: 64 }];
  const spec = { model: {} as ModelFolder, config, batch: 1, length: 8, lora: { r: 2, scaling: 1, sites, dropout: 0.1 }, device };
  const built = buildTrainingGraph(spec, source, 'train');
  assert.deepEqual(auditForCuda(built.nodes as AuditedNode[]), []);
  assert.ok(built.nodes!.filter((n) => n.op === 'Cast' && n.type === 'uint8').length >= linear.size, 'every NF4 weight is unpacked in the graph');
});
