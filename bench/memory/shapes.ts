// bench/memory: the model shapes it measures, where their folders are cached, the token batches and the initial adapter
// both sides read, and the byte counts its projections use. Weights are random (test/fixtures/tiny-model), stored bf16.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TinyModelOptions } from '../../test/fixtures/tiny-model/index';
import { lossChunkTokens } from '../../native/model/block-sizes';

export type ShapeKey = 'qwen2.5-0.5b' | 'llama2-7b' | 'llama3-8b';

export interface Shape {
  key: ShapeKey;
  label: string;
  /** Layers of the real model (what the projections extrapolate to). */
  fullLayers: number;
  model: Omit<TinyModelOptions, 'layers' | 'seed' | 'dtype'>;
  lora: { r: number; alpha: number; targets: string[] | 'all-linear'; label: string };
}

// config.json of Qwen/Qwen2.5-0.5B, meta-llama/Llama-2-7b-hf and meta-llama/Meta-Llama-3-8B. The fixture's tokenizer
// is Qwen's, cut to the vocabulary size (32,000 and 128,256 are multiples of 64, so vocab_size is exact; Qwen's 'full'
// tokenizer gives vocab_size 151,680 instead of the real 151,936: 0.2% of the embedding). Llama 3's rope scaling is
// left out: it changes no shape, and the PyTorch peer does not implement it.
export const SHAPES: Record<ShapeKey, Shape> = {
  'qwen2.5-0.5b': {
    key: 'qwen2.5-0.5b', label: 'Qwen2.5-0.5B', fullLayers: 24,
    model: { architecture: 'Qwen2ForCausalLM', hidden: 896, heads: 14, kvHeads: 2, intermediate: 4864, vocab: 'full', tie: true },
    lora: { r: 16, alpha: 32, targets: 'all-linear', label: 'r16 all-linear' },
  },
  'llama2-7b': {
    key: 'llama2-7b', label: 'Llama-2-7B', fullLayers: 32,
    model: { architecture: 'LlamaForCausalLM', hidden: 4096, heads: 32, kvHeads: 32, intermediate: 11008, vocab: 32000, tie: false },
    lora: { r: 8, alpha: 16, targets: ['q_proj', 'v_proj'], label: 'r8 q,v' },
  },
  'llama3-8b': {
    key: 'llama3-8b', label: 'Llama-3-8B', fullLayers: 32,
    model: { architecture: 'LlamaForCausalLM', hidden: 4096, heads: 32, kvHeads: 8, intermediate: 14336, vocab: 128256, tie: false },
    lora: { r: 8, alpha: 16, targets: ['q_proj', 'v_proj'], label: 'r8 q,v' },
  },
};

export const CACHE_DIR = join(tmpdir(), 'bench-memory');

/** The cached bf16 model folder of a shape with `layers` layers (made by make-model.ts when missing). */
export function modelDir(shape: Shape, layers: number): string {
  return join(CACHE_DIR, `${shape.key}-${layers}l-bf16`);
}

/** makeTinyModel writes config.json last, so its presence means a complete folder. */
export function modelReady(dir: string): boolean {
  return existsSync(join(dir, 'config.json'));
}

export interface ConfigShape {
  vocab: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  tied: boolean;
  qkvBias: boolean;
}

export function readConfigShape(dir: string): ConfigShape {
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const hidden = c.hidden_size as number, heads = c.num_attention_heads as number;
  return {
    vocab: c.vocab_size as number, hidden, heads, kvHeads: (c.num_key_value_heads as number) ?? heads,
    headDim: (c.head_dim as number | undefined) ?? hidden / heads, intermediate: c.intermediate_size as number,
    tied: c.tie_word_embeddings === true, qkvBias: c.model_type === 'qwen2' || c.attention_bias === true,
  };
}

/** bf16 bytes of one decoder layer's weights: q,k,v,o, gate,up,down, two norms (and Qwen2's q/k/v biases). */
export function layerWeightBytes(s: ConfigShape): number {
  const q = s.heads * s.headDim, kv = s.kvHeads * s.headDim;
  const params = s.hidden * q + 2 * s.hidden * kv + q * s.hidden + 3 * s.hidden * s.intermediate + 2 * s.hidden + (s.qkvBias ? q + 2 * kv : 0);
  return 2 * params;
}

/** bf16 bytes of the embedding and the head (one table when tied). */
export function embedHeadBytes(s: ConfigShape): number {
  return 2 * s.vocab * s.hidden * (s.tied ? 1 : 2);
}

/** Attention scores of one layer computed whole: heads · T · T float32 values (their softmax is as big). */
export function attentionBytes(s: ConfigShape, tokens: number): number {
  return s.heads * tokens * tokens * 4;
}

/**
 * The chunked loss's working set: the engine's chunk of tokens (native/model/block-sizes.ts lossChunkTokens) times the
 * vocabulary, float32, about five such tensors at once in the chunk's backward pass (as block-sizes.ts measured).
 */
export const LOSS_CHUNK_TENSORS = 5;
export function lossWorkingSetBytes(vocab: number, tokens: number): number {
  return LOSS_CHUNK_TENSORS * Math.min(tokens, lossChunkTokens(vocab)) * vocab * 4;
}

/**
 * Two token batches of batch 1 × `tokens` (deterministic ids below the vocabulary, loss on every position: labels
 * pre-shifted, the last -100), written as bench/train-cpu writes them, for both sides.
 */
export function writeBatches(file: string, tokens: number, vocab: number): void {
  let state = 12345;
  const range = Math.min(150000, vocab - 300);
  const nextId = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) % range) + 10;
  const batches = Array.from({ length: 2 }, () => {
    const ids = Array.from({ length: tokens }, nextId);
    return { input_ids: [ids], labels: [ids.map((_, i) => (i + 1 < ids.length ? ids[i + 1] : -100))], attention_mask: [ids.map(() => 1)] };
  });
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify(batches));
}
