// Tests of native/train/estimate.ts against figures checked by hand and published parameter counts.
import { resolvePrecision } from '../../../../native/engine/precision';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  activationBytes, adaloraFileBytes, adapterFileBytes, estimateRun, methodOfRun, reloraCycles, formatBytes, formatParams, layerParameterCount, linearParameterCount, lossBytes, loraParams, modelParameterCount,
  NF4_BYTES_PER_VALUE, paramsByModule, RUNTIME_BYTES, weightCopyBytes, type EstimateModel, type EstimateTarget,
} from '../../../../native/train/estimate';
import { lossChunkTokens } from '../../../../native/model/block-sizes';
import { adaloraParameterCount } from '../../../../native/model/adalora-settings';

// Qwen2.5-0.5B's config.json (hidden 896, 24 layers, 14 heads, 2 KV heads, intermediate 4864, tied embeddings).
const qwen05: EstimateModel = {
  vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14,
  num_key_value_heads: 2, head_dim: 64, tie_word_embeddings: true, attention_bias: true, qk_norm: false, torch_dtype: 'bfloat16',
};

function targetsOf(m: EstimateModel, modules: string[]): EstimateTarget[] {
  const h = m.hidden_size, q = m.num_attention_heads * m.head_dim, kv = m.num_key_value_heads * m.head_dim, i = m.intermediate_size;
  const shapes: Record<string, [string, number, number]> = {
    q_proj: ['self_attn', h, q], k_proj: ['self_attn', h, kv], v_proj: ['self_attn', h, kv], o_proj: ['self_attn', q, h],
    gate_proj: ['mlp', h, i], up_proj: ['mlp', h, i], down_proj: ['mlp', i, h],
  };
  const targets: EstimateTarget[] = [];
  for (let layer = 0; layer < m.num_hidden_layers; layer++) {
    for (const module of modules) {
      const [block, inF, outF] = shapes[module];
      targets.push({ module, layer, baseName: `model.layers.${layer}.${block}.${module}`, in: inF, out: outF });
    }
  }
  return targets;
}
const ALL = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const run = { r: 16, micro_batch_size: 4, max_seq_len: 512, save_dtype: 'float32' as const, lora_dropout: 0.05 };

test('Qwen2.5-0.5B has 494,032,768 parameters (the published count)', () => {
  assert.equal(modelParameterCount(qwen05), 494_032_768);
  // Untied: the LM head adds vocab × hidden.
  assert.equal(modelParameterCount({ ...qwen05, tie_word_embeddings: false }), 494_032_768 + 151936 * 896);
});

test('Qwen2.5-0.5B r=16 all-linear trains 8,798,208 parameters', () => {
  // Per layer: q,o 16·(896+896)=28,672 each; k,v 16·(896+128)=16,384 each; gate,up,down 16·(896+4864)=92,160 each.
  const perLayer = 2 * 28_672 + 2 * 16_384 + 3 * 92_160;
  assert.equal(perLayer, 366_592);
  const estimate = estimateRun(qwen05, run, targetsOf(qwen05, ALL));
  assert.equal(estimate.trainableParams, 24 * perLayer);
  assert.equal(estimate.trainableParams, 8_798_208);
  assert.ok(Math.abs(estimate.trainablePercent - (8_798_208 / 494_032_768) * 100) < 1e-9);
  assert.equal(estimate.totalParams, 494_032_768);
});

test('per-module counts add up to the total and match r·(in+out)·layers', () => {
  const targets = targetsOf(qwen05, ALL);
  const byModule = paramsByModule(targets, 16);
  assert.equal(byModule.get('q_proj'), 24 * 28_672);
  assert.equal(byModule.get('k_proj'), 24 * 16_384);
  assert.equal(byModule.get('down_proj'), 24 * 92_160);
  assert.equal([...byModule.values()].reduce((a, b) => a + b, 0), 8_798_208);
  assert.equal(loraParams({ in: 10, out: 3 }, 2), 26);
});

test('memory parts: weights in their stored dtype, LoRA once, AdamW + gradients four more times, total = sum', () => {
  const targets = targetsOf(qwen05, ['q_proj', 'v_proj']);
  const trainable = 24 * (8 * (896 + 896) + 8 * (896 + 128));
  const e = estimateRun(qwen05, { ...run, r: 8 }, targets, { weightDtype: 'bfloat16' });
  assert.equal(e.trainableParams, trainable);
  assert.equal(e.memory.weights, 494_032_768 * 2);
  assert.equal(e.memory.lora, trainable * 4);
  // Was 3 copies (gradient + 2 moments); the engine keeps 2 moments, the summed gradient and one micro-batch's: 4 copies.
  assert.equal(e.memory.optimizer, trainable * 16);
  assert.equal(e.memory.runtime, RUNTIME_BYTES);
  const m = e.memory;
  assert.equal(m.total, m.weights + m.weightCopies + m.lora + m.optimizer + m.activations + m.loss + m.runtime);
  // The stored dtype defaults to the config's torch_dtype (was float32 regardless: the engine now keeps bf16 as bf16).
  assert.equal(estimateRun(qwen05, run, targets, { totalParams: 1000 }).memory.weights, 2000);
  assert.equal(estimateRun(qwen05, run, targets, { totalParams: 1000, weightDtype: 'float32' }).memory.weights, 4000);
});

test('float32 copies: one layer + the head for bf16 with checkpointing, every layer without, none for float32', () => {
  const layer = layerParameterCount(qwen05);
  assert.equal(layer * 24 + 151936 * 896 + 896, 494_032_768);
  assert.equal(weightCopyBytes(qwen05, 'bfloat16'), 4 * (layer + 151936 * 896));
  assert.equal(weightCopyBytes(qwen05, 'float16', false), 4 * (24 * layer + 151936 * 896));
  assert.equal(weightCopyBytes(qwen05, 'float32'), 0);
  assert.equal(weightCopyBytes(qwen05, 'float32', false), 0);
});

test('activations and loss follow the documented formulas (tiny shape by hand)', () => {
  const tiny: EstimateModel = { vocab_size: 10, hidden_size: 4, intermediate_size: 8, num_hidden_layers: 2, num_attention_heads: 2,
    num_key_value_heads: 1, head_dim: 2, tie_word_embeddings: true, attention_bias: false, qk_norm: false, torch_dtype: 'float32' };
  const targets = targetsOf(tiny, ['q_proj']); // in 4, out 4 per layer
  const opts = { r: 2, micro_batch_size: 1, max_seq_len: 3, save_dtype: 'float32' as const, lora_dropout: 0.1 };
  // Replaces the old no-checkpointing per-token check. Checkpointing (the default): layer inputs L·B·T·h = 2·3·4 = 24
  // floats; one layer's working set: attention 4·B·heads·T·rows = 4·2·3·3 = 72 (one block of all 3 query rows), plus
  // 30·B·T·max(h, i) = 30·3·8 = 720.
  assert.equal(activationBytes(tiny, opts, targets), 4 * (24 + 72 + 720));
  assert.equal(activationBytes(tiny, { ...opts, gradient_checkpointing: true }, targets), 4 * (24 + 72 + 720));
  // Without: per layer attention 72 + (6h + 4i)·B·T = 56·3 = 168 + the q_proj input 4·3 = 12, times 2 layers.
  assert.equal(activationBytes(tiny, { ...opts, gradient_checkpointing: false }, targets), 4 * 2 * (72 + 168 + 12));
  // Doubling the batch doubles the kept tensors.
  assert.equal(activationBytes(tiny, { ...opts, micro_batch_size: 2, gradient_checkpointing: false }, targets), 2 * 4 * 2 * (72 + 168 + 12));
  // Loss: 5 tensors of chunk × vocab, the chunk capped at B·T.
  assert.equal(lossBytes(tiny, opts, 2), 4 * 5 * 2 * 10);
  assert.equal(lossBytes(tiny, opts, 100), 4 * 5 * 3 * 10);
  assert.equal(lossBytes(tiny, opts), 4 * 5 * 3 * 10); // the engine's default chunk (6.7 M tokens at vocab 10) is capped at 3
  // The engine's default for Qwen's vocabulary: 110 tokens; an estimate without lossChunkTokens uses it.
  assert.equal(lossChunkTokens(151936), 110);
  assert.equal(lossBytes(qwen05, { ...run, micro_batch_size: 1 }), 5 * 110 * 151936 * 4);
  // With checkpointing the peak is one phase — the loss's, a layer's or AdamW's — not their sum: at 4 × 512 tokens the
  // layer's is the largest; at 1 × 512 with all-linear r16 (8.8 M parameters) AdamW's dozen temporaries are.
  const big = estimateRun(qwen05, run, targetsOf(qwen05, ALL)).memory;
  assert.equal(big.loss, 0);
  assert.ok(big.activations > 24 * 4 * 512 * 896 * 4);
  const short = estimateRun(qwen05, { ...run, micro_batch_size: 1 }, targetsOf(qwen05, ALL)).memory;
  assert.deepEqual([short.loss, short.weightCopies], [0, 0]);
  assert.equal(short.optimizer, 16 * 8_798_208 * 4);
  // A head that must be cast is cast in blocks: the loss phase holds one block (32 MiB), not the whole head.
  const longVocab = { ...qwen05, vocab_size: 1_000_000, tie_word_embeddings: false };
  const lossPhase = estimateRun(longVocab, { ...run, micro_batch_size: 1, max_seq_len: 64 }, targetsOf(longVocab, ['q_proj'])).memory;
  assert.ok(lossPhase.loss > 0);
  assert.equal(lossPhase.weightCopies, Math.floor(32 * 2 ** 20 / (896 * 4)) * 896 * 4);
});

// Measured peak RSS of one training step (bench/memory: /usr/bin/time -f %M over 2 steps, 2026-11-29, this 2-core x64
// machine, Node 20, onnxruntime-node 1.30; bench/results/2026-11-29-cpu-memory-lean.txt), gradient checkpointing on, bf16
// weights (NF4 where marked), batch 1, default loss chunks, attention and head blocks. `gb`: 10^9 bytes.
const llama2Shape = (layers: number): EstimateModel => ({
  vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: layers, num_attention_heads: 32,
  num_key_value_heads: 32, head_dim: 128, tie_word_embeddings: false, attention_bias: false, qk_norm: false, torch_dtype: 'bfloat16',
});
const llama3Shape = (layers: number): EstimateModel => ({ ...llama2Shape(layers), vocab_size: 128256, intermediate_size: 14336, num_key_value_heads: 8 });
const MEASURED_CHECKPOINTED = [
  { model: qwen05, modules: ALL, r: 16, tokens: 512, gb: 2.29 },
  { model: qwen05, modules: ALL, r: 16, tokens: 1024, gb: 2.46 },
  { model: qwen05, modules: ALL, r: 16, tokens: 2048, gb: 3.04 },
  { model: qwen05, modules: ALL, r: 16, tokens: 4096, gb: 5.13 },
  { model: llama2Shape(2), modules: ['q_proj', 'v_proj'], r: 8, tokens: 512, gb: 2.11 },
  { model: llama2Shape(4), modules: ['q_proj', 'v_proj'], r: 8, tokens: 512, gb: 3.07 },
  { model: llama2Shape(8), modules: ['q_proj', 'v_proj'], r: 8, tokens: 512, gb: 4.90 },
  { model: llama2Shape(32), modules: ['q_proj', 'v_proj'], r: 8, tokens: 512, gb: 14.76 },
  { model: llama3Shape(2), modules: ['q_proj', 'v_proj'], r: 8, tokens: 512, gb: 3.06 },
  { model: llama3Shape(4), modules: ['q_proj', 'v_proj'], r: 8, tokens: 512, gb: 4.02 },
  { model: llama2Shape(2), modules: ['q_proj', 'v_proj'], r: 8, tokens: 512, gb: 2.12, quantization: 'nf4' as const },
  { model: llama2Shape(4), modules: ['q_proj', 'v_proj'], r: 8, tokens: 512, gb: 2.37, quantization: 'nf4' as const },
  { model: llama2Shape(8), modules: ['q_proj', 'v_proj'], r: 8, tokens: 512, gb: 2.85, quantization: 'nf4' as const },
  { model: llama2Shape(32), modules: ['q_proj', 'v_proj'], r: 8, tokens: 512, gb: 5.99, quantization: 'nf4' as const },
];

test('the estimate is within ±25% of measured peak RSS (checkpointing on; Qwen2.5-0.5B, Llama-2-7B and Llama-3-8B shapes, bf16 and NF4)', () => {
  for (const p of MEASURED_CHECKPOINTED) {
    const e = estimateRun(p.model, { ...run, r: p.r, micro_batch_size: 1, max_seq_len: p.tokens, lora_dropout: 0, gradient_checkpointing: true, quantization: 'quantization' in p ? p.quantization : 'none' }, targetsOf(p.model, p.modules));
    const measured = p.gb * 1e9;
    const error = (e.memory.total - measured) / measured;
    assert.ok(Math.abs(error) <= 0.25, `${p.model.hidden_size}/${p.model.num_hidden_layers}L, ${p.tokens} tokens: estimate ${(e.memory.total / 1e9).toFixed(2)} GB vs measured ${p.gb} GB (${(error * 100).toFixed(1)}%)`);
  }
});

// Peaks of the engine before checkpointing (every layer's activations and float32 weight copies kept, like today's
// checkpointing off, but the loss in ONE chunk of all tokens). Not held to ±25%: the old engine is not today's "off"
// (unchunked loss, different graph), and the "off" model overestimates it as T grows: +6.7% at 128 tokens, +24% at
// 512, +36% at 1,024 (Qwen shape); +28% / +35% for the Llama-2-7B shape at 2 / 4 layers; −18% for the float32 file.
// What is asserted is the side that matters for the panel's out-of-memory warning: it never underestimates by more
// than 25%, fed the old engine's single chunk (and, as a sanity bound, never overestimates by more than 40%).
const llama2: EstimateModel = {
  vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32,
  num_key_value_heads: 32, head_dim: 128, tie_word_embeddings: false, attention_bias: false, qk_norm: false, torch_dtype: 'bfloat16',
};
const MEASURED_OLD_ENGINE = [
  { model: qwen05, modules: ALL, r: 16, layers: 24, tokens: 128, dtype: 'bfloat16' as const, mb: 4090 },
  { model: qwen05, modules: ALL, r: 16, layers: 24, tokens: 512, dtype: 'bfloat16' as const, mb: 6560 },
  { model: qwen05, modules: ALL, r: 16, layers: 24, tokens: 1024, dtype: 'bfloat16' as const, mb: 11530 },
  { model: qwen05, modules: ALL, r: 16, layers: 24, tokens: 128, dtype: 'float32' as const, mb: 4110 },
  { model: llama2, modules: ['q_proj', 'v_proj'], r: 8, layers: 2, tokens: 512, dtype: 'bfloat16' as const, mb: 3680 },
  { model: llama2, modules: ['q_proj', 'v_proj'], r: 8, layers: 4, tokens: 512, dtype: 'bfloat16' as const, mb: 5710 },
];

test('checkpointing off does not underestimate the old keep-everything engine by more than 25%', () => {
  for (const p of MEASURED_OLD_ENGINE) {
    const model = { ...p.model, num_hidden_layers: p.layers, torch_dtype: p.dtype };
    const e = estimateRun(model, { ...run, r: p.r, micro_batch_size: 1, max_seq_len: p.tokens, lora_dropout: 0, gradient_checkpointing: false },
      targetsOf(model, p.modules), { lossChunkTokens: p.tokens });
    const measured = p.mb * 1e6;
    assert.ok(e.memory.total >= 0.75 * measured, `${model.hidden_size}/${p.layers}L/${p.tokens}: estimate ${(e.memory.total / 1e6).toFixed(0)} MB vs measured ${p.mb} MB`);
    assert.ok(e.memory.total <= 1.4 * measured, `${model.hidden_size}/${p.layers}L/${p.tokens}: estimate ${(e.memory.total / 1e6).toFixed(0)} MB vs measured ${p.mb} MB`);
  }
});

test('checkpointing lowers the estimate; the default is on', () => {
  const targets = targetsOf(qwen05, ALL);
  const opts = { ...run, micro_batch_size: 1, max_seq_len: 1024 };
  const on = estimateRun(qwen05, { ...opts, gradient_checkpointing: true }, targets).memory;
  const off = estimateRun(qwen05, { ...opts, gradient_checkpointing: false }, targets).memory;
  assert.deepEqual(estimateRun(qwen05, opts, targets).memory, on);
  assert.ok(off.activations > 5 * on.activations && (off.weightCopies ?? 0) > 3 * (on.weightCopies ?? 0));
  assert.equal(off.loss, lossBytes(qwen05, opts)); // without checkpointing everything adds up; with it, one phase peaks
  assert.ok(off.total > 2 * on.total);
});

test('adapter size: data in save_dtype plus a header naming each PEFT tensor', () => {
  const targets: EstimateTarget[] = [{ module: 'q_proj', layer: 0, baseName: 'model.layers.0.self_attn.q_proj', in: 4, out: 6 }];
  const header = JSON.stringify({
    'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': { dtype: 'F16', shape: [2, 4], data_offsets: [0, 16] },
    'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': { dtype: 'F16', shape: [6, 2], data_offsets: [16, 40] },
  });
  assert.equal(adapterFileBytes(targets, 2, 'float16'), 8 + Math.ceil(header.length / 8) * 8 + 40);
  const big = estimateRun(qwen05, run, targetsOf(qwen05, ALL));
  assert.ok(big.adapterBytes > 8_798_208 * 4 && big.adapterBytes < 8_798_208 * 4 + 100_000);
});

test('formatting', () => {
  assert.equal(formatParams(8_798_208), '8.8 M');
  assert.equal(formatParams(494_032_768), '494 M');
  assert.equal(formatParams(1_543_714_304), '1.5 B');
  assert.equal(formatParams(512), '512');
  assert.equal(formatBytes(35_192_832), '33.6 MiB');
  assert.equal(formatBytes(100), '100 B');
});

test('bf16/fp16 products on CUDA use bf16 weights as stored: no float copies, exactly where the engine runs them for real', () => {
  const targets = targetsOf(qwen05, ALL);
  for (const provider of ['cuda', 'cpu'] as const) {
    for (const precision of ['auto', 'fp32', 'bf16', 'fp16'] as const) {
      const e = estimateRun(qwen05, { ...run, precision }, targets, { weightDtype: 'bfloat16', provider });
      const engine = resolvePrecision(precision, provider);
      const real = engine.low !== 'none' && !engine.emulate;
      assert.equal(e.memory.weightCopies === 0, real, `${precision} on ${provider}`);
    }
  }
});

test('NF4: the linear weights count 0.5625 byte a value, the rest as stored (Llama-2-7B: 3.9 GB of weights read instead of 13.2)', () => {
  const targets = targetsOf(llama2, ['q_proj', 'v_proj']);
  const options = { ...run, r: 8, micro_batch_size: 1, max_seq_len: 512, gradient_checkpointing: true };
  const plain = estimateRun(llama2, options, targets).memory;
  const nf4 = estimateRun(llama2, { ...options, quantization: 'nf4' }, targets).memory;
  const linear = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008);
  assert.equal(linearParameterCount(llama2), linear);
  // The untied embedding table is left out (memory-mapped; only gathered rows are read), with or without NF4.
  const embedding = 32000 * 4096;
  assert.equal(plain.weights, (modelParameterCount(llama2) - embedding) * 2);
  assert.equal(nf4.weights, linear * NF4_BYTES_PER_VALUE + (modelParameterCount(llama2) - linear - embedding) * 2);
  assert.ok(nf4.weights > 3.8e9 && nf4.weights < 4.0e9, `${nf4.weights}`);
  assert.ok(plain.total - nf4.total > 9e9);
  // On CUDA every weight is in device memory, the embedding table too.
  const cuda = estimateRun(llama2, { ...options, quantization: 'nf4' }, targets, { provider: 'cuda' }).memory;
  assert.equal(cuda.weights, nf4.weights + embedding * 2);
});

test('DoRA (use_dora): trainable parameters and the adapter add one magnitude per output feature; memory grows by its norm and kept terms', () => {
  const targets = targetsOf(qwen05, ALL);
  const lora = estimateRun(qwen05, run, targets);
  const dora = estimateRun(qwen05, { ...run, use_dora: true }, targets);
  const outs = targets.reduce((s, t) => s + t.out, 0);
  assert.equal(dora.trainableParams, lora.trainableParams + outs);
  assert.equal(loraParams({ in: 10, out: 3 }, 2, true), 29);
  assert.equal(paramsByModule(targets, 16, true).get('q_proj'), paramsByModule(targets, 16).get('q_proj')! + 24 * 896);
  // Header (names with lora_magnitude_vector, no ".weight") plus 4 bytes a magnitude.
  assert.ok(dora.adapterBytes - lora.adapterBytes > outs * 4);
  assert.ok(dora.memory.total > lora.memory.total);
  const off = { ...run, gradient_checkpointing: false };
  assert.ok(estimateRun(qwen05, { ...off, use_dora: true }, targets).memory.activations > estimateRun(qwen05, off, targets).memory.activations);
});

// One tiny module by hand: q_proj in 4, out 6, one layer; r = 2; float32 files; 4 bytes a float.
const tinyTargets: EstimateTarget[] = [{ module: 'q_proj', layer: 0, baseName: 'model.layers.0.self_attn.q_proj', in: 4, out: 6 }];
const tinyModel: EstimateModel = { vocab_size: 10, hidden_size: 4, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2,
  num_key_value_heads: 1, head_dim: 2, tie_word_embeddings: true, attention_bias: false, qk_norm: false, torch_dtype: 'float32' };
const tinyRun = { r: 2, micro_batch_size: 1, max_seq_len: 3, save_dtype: 'float32' as const, lora_dropout: 0 };
const name = 'base_model.model.model.layers.0.self_attn.q_proj';
const fileOf = (tensors: [string, number[]][]) => {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [key, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[key] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  return 8 + Math.ceil(JSON.stringify(header).length / 8) * 8 + offset;
};

test('methodOfRun: AdaLoRA, DoRA, PiSSA/OLoRA, ReLoRA, else LoRA', () => {
  assert.equal(methodOfRun({}), 'lora');
  assert.equal(methodOfRun({ method: 'adalora' }), 'adalora');
  assert.equal(methodOfRun({ use_dora: true }), 'dora');
  assert.equal(methodOfRun({ init_lora_weights: 'pissa_niter_4' }), 'pissa');
  assert.equal(methodOfRun({ init_lora_weights: 'pissa' }), 'pissa');
  assert.equal(methodOfRun({ init_lora_weights: 'olora' }), 'olora');
  assert.equal(methodOfRun({ init_lora_weights: true, relora_steps: 10 }), 'relora');
  assert.equal(methodOfRun({ relora_steps: 0 }), 'lora');
});

test('LoRA on the tiny module: 2·(4+6) = 20 trainable, no base term, allocator or penalty', () => {
  const e = estimateRun(tinyModel, tinyRun, tinyTargets);
  assert.equal(e.method, 'lora');
  assert.equal(e.trainableParams, 20);
  assert.equal(e.adapterRank, 2);
  assert.equal(e.adapterBytes, fileOf([[`${name}.lora_A.weight`, [2, 4]], [`${name}.lora_B.weight`, [6, 2]]]));
  assert.deepEqual([e.memory.baseTerm, e.memory.allocator, e.memory.penalty], [0, 0, 0]);
  assert.equal(e.reloraCycles, undefined);
  assert.equal(e.adapterMaxBytes, undefined);
});

test('PiSSA/OLoRA: LoRA\'s 20 trainable, a rank-2r (4) adapter, and the frozen start term r·(in+out) = 20 floats', () => {
  const lora = estimateRun(tinyModel, tinyRun, tinyTargets);
  for (const init of ['pissa_niter_4', 'pissa', 'olora'] as const) {
    const e = estimateRun(tinyModel, { ...tinyRun, init_lora_weights: init }, tinyTargets);
    assert.equal(e.trainableParams, 20);
    assert.equal(e.adapterRank, 4);
    assert.equal(e.adapterBytes, fileOf([[`${name}.lora_A.weight`, [4, 4]], [`${name}.lora_B.weight`, [6, 4]]]));
    assert.equal(e.memory.baseTerm, 20 * 4);
    assert.equal(e.memory.total, lora.memory.total + 80, init);
  }
});

test('ReLoRA: k = ⌈steps / relora_steps⌉ cycles save rank k·r; the merged k − 1 cycles are one frozen term', () => {
  const relora = { ...tinyRun, relora_steps: 10 };
  // 25 steps: cycles at 10, 20 and a partial third: k = 3, saved rank 6, the term holds 2 cycles (rank 4: 40 floats).
  const e = estimateRun(tinyModel, relora, tinyTargets, { totalSteps: 25 });
  assert.equal(e.method, 'relora');
  assert.equal(e.trainableParams, 20);
  assert.equal(e.reloraCycles, 3);
  assert.equal(e.adapterRank, 6);
  assert.equal(e.adapterBytes, fileOf([[`${name}.lora_A.weight`, [6, 4]], [`${name}.lora_B.weight`, [6, 6]]]));
  assert.equal(e.memory.baseTerm, 4 * 10 * 4);
  // 20 steps end on a boundary: 2 cycles, no third.
  assert.equal(estimateRun(tinyModel, relora, tinyTargets, { totalSteps: 20 }).reloraCycles, 2);
  assert.equal(reloraCycles(5, 10), 1);
  // Steps unknown: one cycle's figures, and no cycle count claimed.
  const unknown = estimateRun(tinyModel, relora, tinyTargets);
  assert.equal(unknown.reloraCycles, undefined);
  assert.equal(unknown.adapterRank, 2);
  assert.equal(unknown.memory.baseTerm, 0);
});

test('AdaLoRA: init_r·(in+out+1) trainable, a file of target_r triplets at the end (init_r at most), allocator and penalty', () => {
  const ada = { ...tinyRun, method: 'adalora' as const, init_r: 3, target_r: 1 };
  const e = estimateRun(tinyModel, ada, tinyTargets);
  assert.equal(e.method, 'adalora');
  assert.equal(e.trainableParams, 3 * (4 + 6 + 1)); // 33: r is unused, as in PEFT
  assert.equal(e.trainableParams, adaloraParameterCount(tinyTargets, 3));
  assert.equal(e.adapterRank, 1);
  const ada1 = fileOf([[`${name}.lora_A`, [1, 4]], [`${name}.lora_B`, [6, 1]], [`${name}.lora_E`, [1, 1]]]);
  assert.equal(e.adapterBytes, ada1);
  assert.equal(adaloraFileBytes(tinyTargets, 1, 'float32'), ada1);
  assert.equal(e.adapterMaxBytes, fileOf([[`${name}.lora_A`, [3, 4]], [`${name}.lora_B`, [6, 3]], [`${name}.lora_E`, [3, 1]]]));
  assert.equal(e.memory.lora, 33 * 4);
  assert.equal(e.memory.allocator, 3 * 33 * 4);
  // The penalty: 3·(4+6) gradient contributions + 8·3² Gram-side floats.
  assert.equal(e.memory.penalty, (30 + 72) * 4);
  assert.equal(e.memory.baseTerm, 0);
  // PEFT's defaults when absent: init_r 12, target_r 8.
  const d = estimateRun(tinyModel, { ...tinyRun, method: 'adalora' }, tinyTargets);
  assert.equal(d.trainableParams, 12 * 11);
  assert.equal(d.adapterRank, 8);
  const m = e.memory;
  assert.equal(m.total, m.weights + m.weightCopies + m.lora + m.optimizer + m.activations + m.loss + m.runtime + m.baseTerm + m.allocator + m.penalty);
});
