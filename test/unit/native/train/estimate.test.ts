// Tests of native/train/estimate.ts against figures checked by hand and published parameter counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  activationBytes, adapterFileBytes, estimateRun, formatBytes, formatParams, loraParams, modelParameterCount, paramsByModule,
  type EstimateModel, type EstimateTarget,
} from '../../../../native/train/estimate';

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

test('memory parts: weights by dtype, LoRA once, gradients + AdamW three more times', () => {
  const targets = targetsOf(qwen05, ['q_proj', 'v_proj']);
  const trainable = 24 * (8 * (896 + 896) + 8 * (896 + 128));
  const e = estimateRun(qwen05, { ...run, r: 8 }, targets, { weightDtype: 'bfloat16' });
  assert.equal(e.trainableParams, trainable);
  assert.equal(e.memory.weights, 494_032_768 * 2);
  assert.equal(e.memory.lora, trainable * 4);
  assert.equal(e.memory.optimizer, trainable * 12);
  assert.equal(e.memory.total, e.memory.weights + e.memory.lora + e.memory.optimizer + e.memory.activations);
  assert.equal(estimateRun(qwen05, run, targets, { totalParams: 1000 }).memory.weights, 4000);
});

test('activations follow the documented per-token formula (tiny shape by hand)', () => {
  const tiny: EstimateModel = { vocab_size: 10, hidden_size: 4, intermediate_size: 8, num_hidden_layers: 2, num_attention_heads: 2,
    num_key_value_heads: 1, head_dim: 2, tie_word_embeddings: true, attention_bias: false, qk_norm: false, torch_dtype: 'float32' };
  const targets = targetsOf(tiny, ['q_proj']); // in 4, out 4 per layer
  // tokens = 1·3 = 3. Per layer/token: 4·4 + 2·(4 + 2·2) + 4 + 2·3 + 4·8 = 16 + 16 + 4 + 6 + 32 = 74.
  // LoRA per token: 2 targets × (r 2 + in 4 with dropout) = 12. Logits 2·10 = 20. Total floats/token = 2·74 + 12 + 20 = 180.
  const opts = { r: 2, micro_batch_size: 1, max_seq_len: 3, save_dtype: 'float32' as const, lora_dropout: 0.1 };
  assert.equal(activationBytes(tiny, opts, targets), 4 * 3 * 180);
  // Without dropout the LoRA inputs are the linear's own inputs, not copies.
  assert.equal(activationBytes(tiny, { ...opts, lora_dropout: 0 }, targets), 4 * 3 * (180 - 8));
  // Doubling the batch doubles activations.
  assert.equal(activationBytes(tiny, { ...opts, micro_batch_size: 2 }, targets), 2 * 4 * 3 * 180);
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
