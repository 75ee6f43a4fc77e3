// Mixed precision (native/engine/precision.ts): the real bf16/f16 training graph (what CUDA runs) passes the CUDA kernel
// audit for every architecture and uses bf16 weights as stored; the CPU runs the same graph emulated, whose loss and
// gradients are those of float32 up to bf16/f16 rounding, and not equal to them (the rounding is really there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { resolvePrecision, type MatmulPrecision } from '../../../../native/engine/precision';
import { auditForCuda, type AuditedNode } from '../../../../native/engine/cuda-kernels';
import { buildTrainingGraph, gradSumName, nextGradSumName, type ProgramSpec } from '../../../../native/train/engine-program';
import type { ModelFolder } from '../../../../native/model/model-folder';
import { randomWeights, seededRandom } from '../model/llama-reference';
import { TINY_CONFIGS } from '../model/tiny-configs';

test('auto is bf16 on CUDA and float32 on the CPU; bf16/fp16 on the CPU are emulated', () => {
  assert.deepEqual(resolvePrecision('auto', 'cuda'), { low: 'bf16', emulate: false });
  assert.deepEqual(resolvePrecision('auto', 'cpu'), { low: 'none' });
  assert.deepEqual(resolvePrecision('fp16', 'cuda'), { low: 'fp16', emulate: false });
  assert.deepEqual(resolvePrecision('bf16', 'cpu'), { low: 'bf16', emulate: true });
  assert.deepEqual(resolvePrecision('fp32', 'cuda'), { low: 'none' });
});

const device = { provider: 'cpu' as const, deviceId: 0 };

function spec(arch: keyof typeof TINY_CONFIGS, precision: MatmulPrecision, dropout = 0): ProgramSpec {
  const config = { ...TINY_CONFIGS[arch], num_hidden_layers: 2 };
  const E = config.hidden_size;
  const sites = [0, 1].flatMap((l) => [
    { baseName: `model.layers.${l}.self_attn.q_proj`, in: E, out: config.num_attention_heads * config.head_dim },
    { baseName: `model.layers.${l}.mlp.down_proj`, in: config.intermediate_size, out: E },
  ]);
  return { model: {} as ModelFolder, config, batch: 2, length: 6, lora: { r: 2, scaling: 2, sites, dropout }, device, precision, lossChunkTokens: 5 };
}

for (const low of ['bf16', 'fp16'] as const) {
  test(`the real ${low} training graph of every architecture has a CUDA kernel for every node`, () => {
    for (const arch of Object.keys(TINY_CONFIGS)) {
      const built = buildTrainingGraph(spec(arch, { low, emulate: false }, 0.1), () => ({ kind: 'file', location: 'model.safetensors', dtype: 'BF16', offset: 0, length: 2 }), 'train');
      const nodes = built.nodes as AuditedNode[];
      assert.ok(nodes.some((n) => (n.op === 'Gemm' || n.op === 'MatMul') && n.type === (low === 'bf16' ? 'bfloat16' : 'float16')), `${arch}: products run in ${low}`);
      assert.deepEqual(auditForCuda(nodes), [], arch);
    }
  });
}

test('real bf16: bf16 projection and head weights feed the products as stored (no float copy), under float32 they are cast', () => {
  const consumers = (precision: MatmulPrecision) => {
    const built = buildTrainingGraph(spec('llama', precision), () => ({ kind: 'file', location: 'model.safetensors', dtype: 'BF16', offset: 0, length: 2 }), 'train');
    const graph = fromBinary(ModelProtoSchema, built.bytes).graph!;
    const weights = graph.initializer.map((t) => t.name).filter((n) => n.endsWith('_proj.weight') || n === 'lm_head.weight');
    return new Set(graph.node.filter((n) => n.input.some((i) => weights.includes(i))).map((n) => n.opType));
  };
  assert.deepEqual([...consumers({ low: 'bf16', emulate: false })], ['Gemm']);
  assert.ok(!consumers({ low: 'none' }).has('Gemm'), 'float32 products use cast copies');
});

async function lossAndGrads(s: ProgramSpec, w: Map<string, Float64Array>) {
  const built = buildTrainingGraph(s, (name) => ({ kind: 'data', data: Float32Array.from(w.get(name)!) }), 'train');
  const session = await ort.InferenceSession.create(built.bytes);
  const int = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
  const feeds: Record<string, ort.Tensor> = {
    input_ids: int([[1, 5, 9, 2, 7, 3], [4, 8, 6, 0, 0, 0]]), attention_mask: int([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]]),
    labels: int([[5, 9, 2, 7, 3, -100], [8, 6, -100, -100, -100, -100]]), loss_weight: new ort.Tensor('float32', Float32Array.of(1), []),
  };
  const rnd = seededRandom(3);
  for (const site of s.lora.sites) {
    for (const [suffix, shape] of [['.lora_A', [2, site.in]], ['.lora_B', [site.out, 2]]] as const) {
      const size = shape[0] * shape[1];
      feeds[site.baseName + suffix] = new ort.Tensor('float32', Float32Array.from({ length: size }, () => rnd() * 0.3), [...shape]);
      feeds[gradSumName(site.baseName + suffix)] = new ort.Tensor('float32', new Float32Array(size), [...shape]);
    }
  }
  const out = await session.run(feeds);
  const grads = built.params.flatMap((p) => [...(out[nextGradSumName(p)].data as Float32Array)]);
  return { loss: (out.loss.data as Float32Array)[0], grads };
}

for (const low of ['bf16', 'fp16'] as const) {
  test(`emulated ${low} (CPU): loss and LoRA gradients are float32's up to ${low} rounding, and not equal to them`, async () => {
    const s = spec('qwen2', { low: 'none' });
    const w = randomWeights(s.config, 17);
    const exact = await lossAndGrads(s, w);
    const mixed = await lossAndGrads({ ...s, precision: { low, emulate: true } }, w);
    const rel = Math.abs(mixed.loss - exact.loss) / Math.abs(exact.loss);
    assert.ok(rel < 2e-2, `loss ${mixed.loss} vs ${exact.loss}`);
    assert.ok(mixed.loss !== exact.loss, 'the rounding must be there');
    let dot = 0, a2 = 0, b2 = 0;
    exact.grads.forEach((g, i) => { dot += g * mixed.grads[i]; a2 += g * g; b2 += mixed.grads[i] ** 2; });
    const cosine = dot / Math.sqrt(a2 * b2);
    assert.ok(cosine > 0.995, `gradient cosine ${cosine}`);
    assert.ok(exact.grads.some((g, i) => g !== mixed.grads[i]));
  });
}
