// Tests prompt and prefix tuning in the Llama graph (native/model/llama.ts with `virtual`, native/model/prompt-learning.ts):
// the forward against the float64 reference that runs them as PEFT's PeftModelForCausalLM.forward does
// (llama-reference.ts: prompts prepended to the input embeddings with ones in the mask and -100 labels; prefix
// keys/values as past_key_values, unrotated, the tokens at positions N …), on grouped-query shapes (KV < H, KV = 1),
// and prompt_embeddings' gradient of the training graph against central differences of that reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { buildLlamaGraph } from '../../../../native/model/llama';
import { OnnxGraphSink } from '../../../../native/engine/onnx-export';
import { buildTrainingGraph, gradSumName, nextGradSumName } from '../../../../native/train/engine-program';
import type { ModelFolder } from '../../../../native/model/model-folder';
import { PROMPT_EMBEDDINGS, initVirtualTokens, prefixKeyValues, virtualWidth, type VirtualKind } from '../../../../native/model/prompt-learning';
import { randomWeights, referenceLogits, referenceLoss, seededRandom, type RefVirtual } from './llama-reference';
import { TINY_CONFIGS } from './tiny-configs';
import { auditForCuda, type AuditedNode } from '../../../../native/engine/cuda-kernels';

const ids = [[1, 5, 9, 2, 7], [4, 8, 6, 0, 0]];
const mask = [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]];
const labels = [[5, 9, 2, 7, -100], [8, 6, -100, -100, -100]];
const int = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
const N_VIRTUAL = 3;

/** The reference's labels for prompt tuning: -100 before each row (PEFT's prefix_labels), pre-shifted as ours are. */
const withVirtualLabels = (kind: VirtualKind) => (kind === 'prompt' ? labels.map((row) => [...new Array<number>(N_VIRTUAL).fill(-100), ...row]) : labels);

function virtualFor(config: (typeof TINY_CONFIGS)[string], kind: VirtualKind, seed: number): RefVirtual {
  const rnd = seededRandom(seed);
  return { kind, tokens: N_VIRTUAL, embeddings: Float64Array.from({ length: N_VIRTUAL * virtualWidth(config, kind) }, () => rnd()) };
}

for (const kind of ['prompt', 'prefix'] as const) {
  for (const arch of ['llama', 'qwen2', 'mistral', 'qwen3'] as const) {
    test(`${kind} tuning, llama graph (${arch}, float64): logits and loss equal PEFT's forward (reference) to 1e-9`, async () => {
      const config = TINY_CONFIGS[arch];
      const w = randomWeights(config, 51);
      const virtual = virtualFor(config, kind, 52);
      const lora = { r: 1, scaling: 0, sites: [], dropout: 0, virtual: { kind, tokens: N_VIRTUAL } };
      const run = async (mode: 'logits' | 'loss') => {
        const sink = new OnnxGraphSink('float64', (name) => ({ kind: 'data', data: w.get(name)! }));
        const params = buildLlamaGraph(sink, config, { batch: 2, length: 5, lora, mode });
        assert.deepEqual(params, [PROMPT_EMBEDDINGS]);
        const session = await ort.InferenceSession.create(sink.toBytes(), { graphOptimizationLevel: 'basic' });
        const feeds: Record<string, ort.Tensor> = {
          input_ids: int(ids), attention_mask: int(mask), [PROMPT_EMBEDDINGS]: new ort.Tensor('float64', virtual.embeddings, [N_VIRTUAL, virtualWidth(config, kind)]),
        };
        if (mode === 'loss') feeds.labels = int(labels);
        const out = await session.run(feeds);
        await session.release();
        return out;
      };
      const logits = (await run('logits')).logits.data as Float64Array;
      const expected = referenceLogits(config, w, ids, mask, undefined, virtual);
      const T = 5 + (kind === 'prompt' ? N_VIRTUAL : 0);
      assert.equal(logits.length, 2 * T * config.vocab_size);
      let worst = 0;
      for (let b = 0; b < 2; b++) for (let t = 0; t < T; t++) {
        const token = t - (T - 5);
        if (token >= 0 && mask[b][token] === 0) continue; // padded query rows: any finite values
        for (let v = 0; v < config.vocab_size; v++) worst = Math.max(worst, Math.abs(logits[(b * T + t) * config.vocab_size + v] - expected[(b * T + t) * config.vocab_size + v]));
      }
      assert.ok(worst < 1e-9, `worst logit difference ${worst}`);
      // The virtual tokens change the result (the test could not pass with them ignored).
      const plain = referenceLogits(config, w, ids, mask);
      assert.ok(Math.abs(plain[0] - expected[(T - 5) * config.vocab_size]) > 1e-6);
      const loss = ((await run('loss')).loss.data as Float64Array)[0];
      const refLoss = referenceLoss(expected, withVirtualLabels(kind), config.vocab_size);
      assert.ok(Math.abs(loss - refLoss) < 1e-9, `loss ${loss} vs ${refLoss}`);
    });
  }

  for (const [arch, checkpointing] of [['llama', false], ['mistral', true], ['qwen2', true]] as const) {
    test(`${kind} tuning, training graph (${arch}, float64${checkpointing ? ', recomputed layers, loss in 4-token chunks' : ''}): prompt_embeddings' gradient matches central differences of the reference (rel 1e-6)`, async () => {
      const config = TINY_CONFIGS[arch];
      const w = randomWeights(config, 61);
      const virtual = virtualFor(config, kind, 62);
      const width = virtualWidth(config, kind);
      const spec = {
        model: {} as ModelFolder, config, batch: 2, length: 5, lora: { r: 1, scaling: 0, sites: [], dropout: 0, virtual: { kind, tokens: N_VIRTUAL } },
        device: { provider: 'cpu' as const, deviceId: 0 }, dtype: 'float64' as const, checkpointing, lossChunkTokens: checkpointing ? 4 : undefined,
      };
      const built = buildTrainingGraph(spec, (name) => ({ kind: 'data', data: w.get(name)! }), 'train');
      assert.deepEqual(built.params, [PROMPT_EMBEDDINGS]);
      const session = await ort.InferenceSession.create(built.bytes, { graphOptimizationLevel: 'basic' });
      const out = await session.run({
        input_ids: int(ids), attention_mask: int(mask), labels: int(labels), loss_weight: new ort.Tensor('float64', Float64Array.of(1), []),
        [PROMPT_EMBEDDINGS]: new ort.Tensor('float64', virtual.embeddings, [N_VIRTUAL, width]),
        [gradSumName(PROMPT_EMBEDDINGS)]: new ort.Tensor('float64', new Float64Array(N_VIRTUAL * width), [N_VIRTUAL, width]),
      });
      await session.release();
      const refLoss = () => referenceLoss(referenceLogits(config, w, ids, mask, undefined, virtual), withVirtualLabels(kind), config.vocab_size);
      assert.ok(Math.abs((out.loss.data as Float64Array)[0] - refLoss()) < 1e-9);
      const g = out[nextGradSumName(PROMPT_EMBEDDINGS)].data as Float64Array;
      const p = virtual.embeddings;
      let worst = 0, largest = 0;
      // Every 3rd element (every layer's keys and values are among them for prefix tuning): the reference is slow.
      for (let i = 0; i < p.length; i += 3) {
        const x = p[i], h = 1e-5;
        p[i] = x + h; const up = refLoss();
        p[i] = x - h; const down = refLoss();
        p[i] = x;
        const fd = (up - down) / (2 * h);
        largest = Math.max(largest, Math.abs(fd));
        worst = Math.max(worst, Math.abs(g[i] - fd) / Math.max(1e-3, Math.abs(fd)));
      }
      assert.ok(largest > 1e-4, 'the loss depends on the virtual tokens');
      assert.ok(worst < 1e-6, `worst relative gradient error ${worst}`);
    });
  }
}

test('prefixKeyValues: layer l\'s keys are rows 2l, values 2l+1 of each token\'s [L·2, KV, D] view, head-major [KV, N, D]', () => {
  const config = { num_hidden_layers: 2, num_key_value_heads: 2, head_dim: 3 };
  const width = 2 * 2 * 2 * 3;
  const table = Float32Array.from({ length: 2 * width }, (_, i) => i);
  const kv = prefixKeyValues(table, config, 2);
  // token n, row (2l + which), head h, dim d sits at n·width + ((2l + which)·KV + h)·D + d.
  const at = (n: number, row: number, h: number, d: number) => n * width + (row * 2 + h) * 3 + d;
  assert.equal(kv[1].keys[(1 * 2 + 0) * 3 + 2], at(0, 2, 1, 2));
  assert.equal(kv[1].values[(0 * 2 + 1) * 3 + 0], at(1, 3, 0, 0));
  assert.equal(kv[0].keys[(0 * 2 + 1) * 3 + 1], at(1, 0, 0, 1));
});

test('initVirtualTokens: text init cuts or repeats the text\'s embedding rows to N (PEFT PromptEmbedding); random is N(0, 1) and seeded', () => {
  const row = (id: number) => Float32Array.of(id, -id);
  assert.deepEqual([...initVirtualTokens(5, 2, 1, { ids: [7, 8], embeddingRow: row })], [7, -7, 8, -8, 7, -7, 8, -8, 7, -7]);
  assert.deepEqual([...initVirtualTokens(1, 2, 1, { ids: [7, 8, 9], embeddingRow: row })], [7, -7]);
  const random = initVirtualTokens(100, 40, 3);
  assert.deepEqual(random, initVirtualTokens(100, 40, 3));
  const mean = random.reduce((a, b) => a + b, 0) / random.length;
  const variance = random.reduce((a, b) => a + (b - mean) ** 2, 0) / random.length;
  assert.ok(Math.abs(mean) < 0.05 && Math.abs(variance - 1) < 0.05, `mean ${mean}, variance ${variance}`);
});

test('prompt and prefix tuning graphs (training, recomputed layers, bf16 weights; prompt tuning\'s KV prefill): every node has a CUDA kernel at opset 17', () => {
  const bf16 = () => ({ kind: 'file' as const, location: 'model.safetensors', dtype: 'BF16' as const, offset: 0, length: 2 });
  for (const kind of ['prompt', 'prefix'] as const) {
    for (const config of Object.values(TINY_CONFIGS)) {
      const spec = {
        model: {} as ModelFolder, config, batch: 2, length: 8, lora: { r: 1, scaling: 0, sites: [], dropout: 0, virtual: { kind, tokens: 4 } },
        device: { provider: 'cuda' as const, deviceId: 0 }, checkpointing: true, lossChunkTokens: 5,
      };
      const built = buildTrainingGraph(spec, bf16, 'train');
      assert.deepEqual(auditForCuda(built.nodes!), [], `${kind} tuning, ${config.architecture}`);
    }
  }
  const sink = new OnnxGraphSink('float32', bf16);
  buildLlamaGraph(sink, TINY_CONFIGS.qwen2, { batch: 1, length: 5, lora: { r: 1, scaling: 0, sites: [], dropout: 0, virtual: { kind: 'prompt', tokens: 4 } }, mode: 'logits', kv: { past: 0 } });
  assert.deepEqual(auditForCuda(sink.nodeList as AuditedNode[]), []);
});
