// The Llama-family graph (native/model/llama.ts), exported forward-only and run by onnxruntime-node, against the
// independent float64 reference (llama-reference.ts): logits and loss, with LoRA, padding and GQA, per architecture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { buildLlamaGraph, loraAName, loraBName, type LoraSite } from '../../../../native/model/llama';
import { uniformReference } from '../../../../native/engine/random';
import { auditForCuda, type AuditedNode } from '../../../../native/engine/cuda-kernels';
import { OnnxGraphSink, type ComputeDtype } from '../../../../native/engine/onnx-export';
import { randomWeights, referenceLogits, referenceLoss, seededRandom, type RefLora } from './llama-reference';
import { TINY_CONFIGS } from './tiny-configs';
import type { ModelConfig } from '../../../../native/model/hf-config';

const ids = [[1, 5, 9, 2, 7, 3], [4, 8, 6, 0, 0, 0]];
const mask = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]];
const labels = [[5, 9, 2, 7, 3, -100], [8, 6, -100, -100, -100, -100]];

function loraFor(config: ModelConfig, seed: number): { sites: LoraSite[]; ref: RefLora } {
  const r = 2, rnd = seededRandom(seed);
  const E = config.hidden_size, qOut = config.num_attention_heads * config.head_dim, vOut = config.num_key_value_heads * config.head_dim;
  const sites: LoraSite[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    sites.push({ baseName: `model.layers.${l}.self_attn.q_proj`, in: E, out: qOut });
    sites.push({ baseName: `model.layers.${l}.self_attn.v_proj`, in: E, out: vOut });
    sites.push({ baseName: `model.layers.${l}.mlp.down_proj`, in: config.intermediate_size, out: E });
  }
  const weights = new Map(sites.map((s) => [s.baseName, {
    A: Float64Array.from({ length: r * s.in }, () => rnd() * 0.5), B: Float64Array.from({ length: s.out * r }, () => rnd() * 0.5),
  }]));
  return { sites, ref: { weights, r, scaling: 1.5 } };
}

async function runGraph(config: ModelConfig, dtype: ComputeDtype, mode: 'loss' | 'logits', seed: number) {
  const w = randomWeights(config, seed);
  const { sites, ref } = loraFor(config, seed + 1);
  const sink = new OnnxGraphSink(dtype, (name) => {
    const data = w.get(name);
    if (!data) throw new Error(`no weight ${name}`);
    return { kind: 'data', data };
  });
  buildLlamaGraph(sink, config, { batch: 2, length: 6, lora: { r: ref.r, scaling: ref.scaling, sites, dropout: 0 }, mode });
  // Fusions (QuickGelu, …) exist only for float32: float64 graphs run with basic optimizations.
  const session = await ort.InferenceSession.create(sink.toBytes(), { graphOptimizationLevel: dtype === 'float64' ? 'basic' : 'all' });
  const floatType = dtype === 'float64' ? 'float64' : 'float32';
  const Arr = dtype === 'float64' ? Float64Array : Float32Array;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.flat().map(BigInt)), [2, 6]),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.flat().map(BigInt)), [2, 6]),
  };
  if (mode === 'loss') feeds.labels = new ort.Tensor('int64', BigInt64Array.from(labels.flat().map(BigInt)), [2, 6]);
  for (const s of sites) {
    const ab = ref.weights.get(s.baseName)!;
    feeds[loraAName(s.baseName)] = new ort.Tensor(floatType, Arr.from(ab.A), [ref.r, s.in]);
    feeds[loraBName(s.baseName)] = new ort.Tensor(floatType, Arr.from(ab.B), [s.out, ref.r]);
  }
  const out = await session.run(feeds);
  const expected = referenceLogits(config, w, ids, mask, ref);
  return { out, expected, V: config.vocab_size };
}

for (const [arch, config] of Object.entries(TINY_CONFIGS)) {
  test(`llama graph (${arch}, float64): logits of real positions and loss match the reference to 1e-9`, async () => {
    const { out, expected, V } = await runGraph(config, 'float64', 'logits', 11);
    const logits = out.logits.data as Float64Array;
    let worst = 0;
    for (let b = 0; b < 2; b++) for (let t = 0; t < 6; t++) {
      if (mask[b][t] === 0) continue;
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(logits[(b * 6 + t) * V + v] - expected[(b * 6 + t) * V + v]));
    }
    assert.ok(worst < 1e-9, `max |Δlogit| ${worst}`);
    const loss = await runGraph(config, 'float64', 'loss', 11);
    const want = referenceLoss(loss.expected, labels, V);
    const got = (loss.out.loss.data as Float64Array)[0];
    assert.ok(Math.abs(got - want) < 1e-9, `loss ${got} vs ${want}`);
  });
  test(`llama graph (${arch}, float32): loss matches the reference to 1e-4`, async () => {
    const { out, expected, V } = await runGraph(config, 'float32', 'loss', 21);
    const want = referenceLoss(expected, labels, V);
    const got = (out.loss.data as Float32Array)[0];
    assert.ok(Math.abs(got - want) < 1e-4 * Math.max(1, Math.abs(want)), `loss ${got} vs ${want}`);
  });
}

test('llama graph (float32 loss graph, every architecture, with LoRA dropout): every node has a CUDA kernel at opset 17', () => {
  for (const config of Object.values(TINY_CONFIGS)) {
    const sink = new OnnxGraphSink('float32', () => ({ kind: 'file', location: 'model.safetensors', dtype: 'BF16', offset: 0, length: 2 }));
    const { sites } = loraFor(config, 1);
    buildLlamaGraph(sink, config, { batch: 2, length: 8, lora: { r: 2, scaling: 1, sites, dropout: 0.1 }, mode: 'loss' });
    assert.ok(sink.nodeList.some((n) => n.op === 'Cast' && n.type === 'bfloat16'), 'bf16 weights are cast in-graph');
    assert.deepEqual(auditForCuda(sink.nodeList as AuditedNode[]), []);
  }
});

test('llama graph (float64): LoRA dropout masks, drawn in the graph from the seed, enter the adapted branch only, as PEFT does', async () => {
  const config = TINY_CONFIGS.qwen3;
  const w = randomWeights(config, 5);
  const { sites, ref } = loraFor(config, 6);
  // Each module draws its own mask (stream = its index among the sites) from the micro-batch's seed.
  const seed = 12345, p = 0.5;
  const masks = new Map(sites.map((s, stream) => [s.baseName, uniformReference(seed, 12 * s.in, stream).map((u) => (u < p ? 0 : 1 / (1 - p)))]));
  const sink = new OnnxGraphSink('float64', (name) => ({ kind: 'data', data: w.get(name)! }));
  buildLlamaGraph(sink, config, { batch: 2, length: 6, lora: { r: ref.r, scaling: ref.scaling, sites, dropout: p }, mode: 'loss' });
  const session = await ort.InferenceSession.create(sink.toBytes(), { graphOptimizationLevel: 'basic' });
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.flat().map(BigInt)), [2, 6]),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.flat().map(BigInt)), [2, 6]),
    labels: new ort.Tensor('int64', BigInt64Array.from(labels.flat().map(BigInt)), [2, 6]),
  };
  for (const s of sites) {
    const ab = ref.weights.get(s.baseName)!;
    feeds[loraAName(s.baseName)] = new ort.Tensor('float64', ab.A, [ref.r, s.in]);
    feeds[loraBName(s.baseName)] = new ort.Tensor('float64', ab.B, [s.out, ref.r]);
  }
  feeds.dropout_seed = new ort.Tensor('int64', BigInt64Array.of(BigInt(seed)), []);
  const got = ((await session.run(feeds)).loss.data as Float64Array)[0];
  // Reference: the batch is processed row by row, so each row gets its slice of the [B·T, in] mask.
  let row = 0;
  const dropout = (baseName: string, x: Float64Array, rows: number, cols: number) => {
    const m = masks.get(baseName)!, offset = (row % 2) * rows * cols;
    return x.map((v, i) => v * m[offset + i]);
  };
  const per = [0, 1].map((b) => {
    row = b;
    return referenceLogits(config, w, [ids[b]], [mask[b]], { ...ref, dropout });
  });
  const logits = new Float64Array(per[0].length * 2);
  logits.set(per[0]); logits.set(per[1], per[0].length);
  const want = referenceLoss(logits, labels, config.vocab_size);
  assert.ok(Math.abs(got - want) < 1e-9, `loss ${got} vs ${want}`);
  const noDropout = referenceLoss(referenceLogits(config, w, ids, mask, ref), labels, config.vocab_size);
  assert.ok(Math.abs(noDropout - want) > 1e-6, 'the masks must matter');
});
