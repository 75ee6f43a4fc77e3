// The loss of fixed batches under changing LoRA tensors: what a search over adapters (LoRAHub's weights,
// native/train/compose.ts) evaluates many times. The forward-only graph of native/train/engine-program.ts — the
// training graph's loss, same templates, masking and token weighting — is compiled once per batch shape and the LoRA
// A/B arrive as inputs, so an evaluation costs one forward pass and no compile, no backward graph, no optimizer.
import * as ort from 'onnxruntime-node';
import type { ModelFolder } from '../model/model-folder';
import { loraAName, loraBName, type LoraSite } from '../model/llama';
import { storeWeightSources } from '../model/weight-sources';
import { createSession, type ResolvedProvider } from '../engine/session';
import type { WeightSource } from '../engine/onnx-export';
import { buildTrainingGraph } from './engine-program';
import { trainedTokens } from '../data/batch';
import type { MicroBatch } from './loop';

export interface AdapterLossOptions {
  sites: LoraSite[];
  r: number;
  scaling: number;
  batches: MicroBatch[];
  device: ResolvedProvider;
  /** The base's weights from elsewhere — the NF4 cache a QLoRA adapter trained on — instead of the model folder's. */
  quantized?: { weights: (hfName: string) => WeightSource; dir: string };
}

export interface AdapterLoss {
  /** The mean cross-entropy over every trained token of the batches, with LoRA baseName → {A [r, in], B [out, r]}. */
  loss(lora: Map<string, { A: Float32Array; B: Float32Array }>): Promise<number>;
  /** Trained tokens in all batches (the loss's denominator). */
  readonly tokens: number;
  dispose(): Promise<void>;
}

const intTensor = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);

export async function createAdapterLoss(model: ModelFolder, opts: AdapterLossOptions): Promise<AdapterLoss> {
  const sources = opts.quantized ? { weights: opts.quantized.weights, externalDataDir: opts.quantized.dir } : storeWeightSources(model.weights, model.dir);
  const lora = { r: opts.r, scaling: opts.scaling, sites: opts.sites, dropout: 0 };
  const batches = opts.batches.filter((b) => trainedTokens(b) > 0);
  const sessions = new Map<string, ort.InferenceSession>();
  try {
    for (const batch of batches) {
      const key = `${batch.inputIds.length}x${batch.inputIds[0].length}`;
      if (sessions.has(key)) continue;
      const spec = { model, config: model.config, batch: batch.inputIds.length, length: batch.inputIds[0].length, lora, device: opts.device, checkpointing: false };
      sessions.set(key, await createSession(buildTrainingGraph(spec, sources.weights, 'eval'), {
        device: opts.device, dtype: 'float32', externalDataDir: sources.externalDataDir,
        // Without layer checkpointing NF4 weights are dequantized outside recomputed segments: constant folding would
        // turn each into a float32 copy at session creation (as generate's graphs, native/model/generate.ts).
        noConstantFolding: opts.quantized !== undefined,
      }));
    }
  } catch (error) {
    for (const session of sessions.values()) await session.release();
    throw error;
  }
  // The token feeds never change: made once.
  const fixed = batches.map((batch) => ({
    session: sessions.get(`${batch.inputIds.length}x${batch.inputIds[0].length}`)!,
    tokens: trainedTokens(batch),
    feeds: { input_ids: intTensor(batch.inputIds), attention_mask: intTensor(batch.attentionMask), labels: intTensor(batch.labels) },
  }));
  const tokens = fixed.reduce((sum, b) => sum + b.tokens, 0);
  return {
    tokens,
    async loss(weights) {
      const loraFeeds: Record<string, ort.Tensor> = {};
      for (const site of opts.sites) {
        const w = weights.get(site.baseName);
        if (!w) throw new Error(`no LoRA tensors for ${site.baseName}`);
        loraFeeds[loraAName(site.baseName)] = new ort.Tensor('float32', w.A, [opts.r, site.in]);
        loraFeeds[loraBName(site.baseName)] = new ort.Tensor('float32', w.B, [site.out, opts.r]);
      }
      let sum = 0;
      for (const batch of fixed) {
        // Token-weighted, as the trainer's evalLoss: every trained token counts once whatever its batch.
        const out = await batch.session.run({ ...batch.feeds, ...loraFeeds });
        sum += Number((out.loss.data as Float32Array)[0]) * batch.tokens;
      }
      return tokens > 0 ? sum / tokens : NaN;
    },
    async dispose() {
      for (const session of sessions.values()) await session.release();
      sessions.clear();
    },
  };
}
