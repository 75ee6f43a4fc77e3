// Size and memory estimates of a LoRA run (pure): parameter counts of a Llama-family model, trainable LoRA
// parameters, adapter size on disk, and the peak memory of a training step as the ONNX engine spends it: the frozen
// weights in their stored dtype, their float32 copies where used, LoRA + AdamW, the activations (per-layer
// checkpoints or every layer's), the chunked loss and the process itself. The training panel shows these live as the
// form changes; nothing here reads files. Checked against measured peak RSS in test/unit/native/train/estimate.test.ts.
import type { RunConfig } from '../protocol';
import { attentionBlockRows, headBlockRows, lossChunkTokens } from '../model/block-sizes';
import { linearModules } from '../model/linear-modules';

export interface EstimateModel {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  tie_word_embeddings: boolean;
  attention_bias: boolean;
  qk_norm: boolean;
  torch_dtype: 'float32' | 'float16' | 'bfloat16';
}

/** A LoRA target as native/model/lora.ts resolves it (structurally its LoraTarget). */
export interface EstimateTarget {
  module: string;
  layer: number;
  baseName: string;
  in: number;
  out: number;
}

export type EstimateRunOptions = Pick<RunConfig, 'r' | 'micro_batch_size' | 'max_seq_len' | 'save_dtype' | 'lora_dropout' | 'gradient_checkpointing' | 'precision' | 'quantization' | 'use_dora'>;

export interface EstimateOptions {
  /** Element type the weight files store (the engine keeps them so, memory-mapped); default: the config's torch_dtype. */
  weightDtype?: 'float32' | 'float16' | 'bfloat16';
  /** Exact parameter count (e.g. summed over the safetensors shapes); otherwise computed from the config. */
  totalParams?: number;
  /** Tokens per loss chunk; default the engine's, lossChunkTokens(vocab_size) from native/model/block-sizes.ts. */
  lossChunkTokens?: number;
  /** The device the run trains on: with bf16/fp16 products on CUDA, weights stored in that type are used as stored. */
  provider?: 'cuda' | 'cpu';
}

/** Bytes of the peak of one training step, by what holds them; `total` is their sum (comparable to a peak RSS). */
export interface MemoryEstimate {
  /** Frozen base weights in their stored dtype (memory-mapped; every step touches all of them). */
  weights: number;
  /**
   * Float32 copies of bf16/f16 weights (0 for a float32 file, used in place): with checkpointing one decoder layer's
   * (the one being computed) plus the head [vocab, hidden]; without it every layer's (they live from forward to
   * backward) plus the head.
   */
  weightCopies: number;
  /** LoRA A and B (and DoRA's magnitudes) in float32. */
  lora: number;
  /** AdamW's two moments, the summed gradient and one micro-batch's gradient (4 float32 copies of the LoRA parameters). */
  optimizer: number;
  /**
   * One micro-batch's activations: with checkpointing each layer's input [B·T, hidden] plus one layer's working set
   * during its recomputed backward; without it every layer's kept tensors (layerActivationBytes).
   */
  activations: number;
  /** The backward of one loss chunk: ~5 float32 tensors of chunk × vocab (logits, log-softmax, gradient, exp, product). */
  loss: number;
  /** The process itself: Node, onnxruntime and their code and arenas (RUNTIME_BYTES). */
  runtime: number;
  total: number;
}

export interface RunEstimate {
  trainableParams: number;
  totalParams: number;
  /** trainableParams / totalParams × 100. */
  trainablePercent: number;
  /** adapter_model.safetensors in save_dtype: data plus its JSON header. */
  adapterBytes: number;
  memory: MemoryEstimate;
}

const F32 = 4;
export const DTYPE_BYTES: Record<'float32' | 'float16' | 'bfloat16', number> = { float32: 4, float16: 2, bfloat16: 2 };

/** Parameter count of a Llama-family decoder (Llama, Mistral, Qwen2, Qwen3) from its config alone. */
export function modelParameterCount(m: EstimateModel): number {
  const embeddings = m.vocab_size * m.hidden_size * (m.tie_word_embeddings ? 1 : 2);
  return embeddings + m.num_hidden_layers * layerParameterCount(m) + m.hidden_size;
}

/** Trainable parameters of one adapted linear: A [r, in] + B [out, r], plus DoRA's magnitude [out]. */
export function loraParams(target: { in: number; out: number }, r: number, dora = false): number {
  return r * (target.in + target.out) + (dora ? target.out : 0);
}

/** Trainable parameters per module name (summed over layers), for the target-module editor. */
export function paramsByModule(targets: readonly EstimateTarget[], r: number, dora = false): Map<string, number> {
  const byModule = new Map<string, number>();
  for (const t of targets) byModule.set(t.module, (byModule.get(t.module) ?? 0) + loraParams(t, r, dora));
  return byModule;
}

const SAFETENSORS_DTYPE = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' } as const;

/** Size of the PEFT adapter_model.safetensors: 8-byte length, JSON header (padded to 8), then the tensors. */
export function adapterFileBytes(targets: readonly EstimateTarget[], r: number, dtype: RunConfig['save_dtype'], dora = false): number {
  const bytes = DTYPE_BYTES[dtype];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of targets) {
    const parts: [string, number[]][] = [['lora_A.weight', [r, t.in]], ['lora_B.weight', [t.out, r]]];
    if (dora) parts.push(['lora_magnitude_vector', [t.out]]);
    for (const [part, shape] of parts) {
      const length = shape.reduce((a, b) => a * b, 1) * bytes;
      header[`base_model.model.${t.baseName}.${part}`] = { dtype: SAFETENSORS_DTYPE[dtype], shape, data_offsets: [offset, offset + length] };
      offset += length;
    }
  }
  const json = JSON.stringify(header).length;
  return 8 + Math.ceil(json / 8) * 8 + offset;
}

/** Node + onnxruntime-node with nothing loaded, as a training process's baseline: 300 MiB. */
export const RUNTIME_BYTES = 300 * 2 ** 20;

/**
 * Bytes per value of an NF4 weight: a 4-bit code plus a float32 absmax per block of 64 (native/engine/nf4.ts, which
 * the extension host may not import; a test keeps the two in agreement).
 */
export const NF4_BYTES_PER_VALUE = 0.5 + 4 / 64;

/** Parameters of the decoder layers' linear weights: what NF4 quantizes (native/model/nf4-cache.ts). */
export function linearParameterCount(m: EstimateModel): number {
  return m.num_hidden_layers * linearModules(m).reduce((sum, l) => sum + l.in * l.out, 0);
}

/** Parameters of one decoder layer: attention (with Qwen2's biases, Qwen3's q/k norms), MLP and the two norms. */
export function layerParameterCount(m: EstimateModel): number {
  const h = m.hidden_size;
  const qDim = m.num_attention_heads * m.head_dim;
  const kvDim = m.num_key_value_heads * m.head_dim;
  const attention = h * qDim + 2 * h * kvDim + qDim * h + (m.attention_bias ? qDim + 2 * kvDim : 0) + (m.qk_norm ? 2 * m.head_dim : 0);
  return attention + 3 * h * m.intermediate_size + 2 * h;
}

/**
 * The attention scores' four float32 tensors (scores, scaled+masked, softmax, their gradient) of one block of query
 * rows: the engine computes attention in blocks of 64 MiB of scores (native/model/llama.ts).
 */
function attentionScoreBytes(m: EstimateModel, run: EstimateRunOptions): number {
  const T = run.max_seq_len, perRow = run.micro_batch_size * m.num_attention_heads * T * F32;
  return 4 * perRow * Math.min(T, attentionBlockRows(run.micro_batch_size, m.num_attention_heads, T));
}

/**
 * One decoder layer's working set while its recomputed backward runs (gradient checkpointing): the attention scores
 * (attentionScoreBytes) plus ~30 float32 tensors of B·T × max(hidden, intermediate) — the recomputed layer's values
 * and their gradients, fitted to the measured peaks of the Qwen2.5-0.5B shape from 1,024 to 4,096 tokens.
 */
export function layerWorkingSetBytes(m: EstimateModel, run: EstimateRunOptions): number {
  const tokens = run.micro_batch_size * run.max_seq_len;
  return attentionScoreBytes(m, run) + 30 * tokens * Math.max(m.hidden_size, m.intermediate_size) * F32;
}

/**
 * What one decoder layer keeps from forward to backward without checkpointing: the attention scores, the q/k/v/o and
 * MLP intermediates ((6·hidden + 4·intermediate) per token) and, per adapted module of the layer, its input (read by
 * the LoRA gradient) and DoRA's [tokens, out] terms, all float32.
 */
export function layerActivationBytes(m: EstimateModel, run: EstimateRunOptions, layerTargets: readonly EstimateTarget[]): number {
  const tokens = run.micro_batch_size * run.max_seq_len;
  let perToken = 6 * m.hidden_size + 4 * m.intermediate_size;
  // DoRA keeps per module its output's scaled terms, and with dropout the base product of the dropped-out input.
  for (const t of layerTargets) perToken += t.in + (run.use_dora ? (run.lora_dropout > 0 ? 2 : 1) * t.out : 0);
  return attentionScoreBytes(m, run) + tokens * perToken * F32;
}

/**
 * Activation memory of one micro-batch (the `activations` term). With gradient checkpointing (the default) the forward
 * pass keeps each layer's input, L × B·T·hidden float32, and the backward recomputes one layer at a time
 * (layerWorkingSetBytes); without it every layer keeps its tensors (layerActivationBytes, summed over layers).
 */
export function activationBytes(m: EstimateModel, run: EstimateRunOptions, targets: readonly EstimateTarget[]): number {
  if (run.gradient_checkpointing ?? true) {
    return m.num_hidden_layers * run.micro_batch_size * run.max_seq_len * m.hidden_size * F32 + layerWorkingSetBytes(m, run);
  }
  let total = 0;
  for (let layer = 0; layer < m.num_hidden_layers; layer++) total += layerActivationBytes(m, run, targets.filter((t) => t.layer === layer));
  return total;
}

/**
 * The chunked loss's backward (the `loss` term): ~5 float32 tensors of chunk × vocab, where chunk is the loss-chunk
 * size capped at the micro-batch's B·T tokens (the engine's lossChunkTokens(vocab) by default).
 */
export function lossBytes(m: EstimateModel, run: EstimateRunOptions, chunkTokens = lossChunkTokens(m.vocab_size)): number {
  const chunk = Math.min(run.micro_batch_size * run.max_seq_len, Math.max(1, chunkTokens));
  return 5 * chunk * m.vocab_size * F32;
}

/**
 * Float32 copies of bf16/f16 weights (the `weightCopies` term; 0 for float32). With checkpointing, one layer's and the
 * head's [vocab, hidden]; without, every layer's and the head's.
 */
export function weightCopyBytes(m: EstimateModel, dtype: 'float32' | 'float16' | 'bfloat16', checkpointing = true): number {
  if (dtype === 'float32') return 0;
  const layers = checkpointing ? 1 : m.num_hidden_layers;
  return (layers * layerParameterCount(m) + m.vocab_size * m.hidden_size) * F32;
}

/**
 * Bytes of the frozen weights that must fit, in the dtype they are kept (NF4: the decoder's linear weights at 0.5625
 * byte a value). On CUDA every initializer lives in device memory. On the CPU the weights are memory-mapped from the
 * files, and an untied embedding table is left out: only the rows a batch gathers are read, and their pages are clean
 * file pages the OS can drop (they do show in RSS as a run sees more distinct tokens — up to the whole table).
 */
export function residentWeightBytes(m: EstimateModel, totalParams: number, dtype: 'float32' | 'float16' | 'bfloat16', nf4: boolean, provider: 'cuda' | 'cpu' = 'cpu'): number {
  const quantized = nf4 ? Math.min(totalParams, linearParameterCount(m)) : 0;
  const embedding = m.tie_word_embeddings || provider === 'cuda' ? 0 : m.vocab_size * m.hidden_size;
  return quantized * NF4_BYTES_PER_VALUE + Math.max(0, totalParams - quantized - embedding) * DTYPE_BYTES[dtype];
}

/**
 * DoRA's weight norm ‖W + s·B·A‖_row works on float32 [out, in] matrices: W + s·B·A and its square, plus W's float32
 * copy where the products use the stored bf16/f16 weight (no copy otherwise). Computed one module at a time, so the
 * largest adapted module decides; with gradient checkpointing that is inside one layer's recomputed backward, without
 * it in the forward pass (the norms themselves, [out], are negligible).
 */
export function doraNormBytes(targets: readonly EstimateTarget[], storedProducts: boolean): number {
  const largest = targets.reduce((max, t) => Math.max(max, t.in * t.out), 0);
  return (storedProducts ? 3 : 2) * largest * F32;
}

/** AdamW's graph (native/engine/optim/adamw-program.ts) holds about a dozen parameter-sized temporaries while it runs. */
const ADAMW_TEMPORARIES = 12;

/** All the numbers the training panel shows for a model, run options and resolved targets. */
export function estimateRun(model: EstimateModel, run: EstimateRunOptions, targets: readonly EstimateTarget[], options: EstimateOptions = {}): RunEstimate {
  const totalParams = options.totalParams ?? modelParameterCount(model);
  let trainableParams = 0;
  const dora = run.use_dora ?? false;
  for (const t of targets) trainableParams += loraParams(t, run.r, dora);
  const dtype = options.weightDtype ?? model.torch_dtype;
  const checkpointing = run.gradient_checkpointing ?? true;
  const nf4 = run.quantization === 'nf4';
  const weights = residentWeightBytes(model, totalParams, dtype, nf4, options.provider);
  // bf16/fp16 products really run only on CUDA (auto means bf16 there): engine/precision.ts resolvePrecision, which
  // the host may not import (it never loads the engine); a test keeps the two in agreement.
  const storedProducts = options.provider === 'cuda' && (run.precision ?? 'auto') !== 'fp32' && DTYPE_BYTES[dtype] === 2 && !nf4;
  // An NF4 weight is dequantized where used, like a bf16 weight is cast: the same float copies.
  let weightCopies = storedProducts ? 0 : weightCopyBytes(model, nf4 ? 'bfloat16' : dtype, checkpointing);
  const lora = trainableParams * F32;
  let optimizer = 4 * trainableParams * F32;
  let activations = activationBytes(model, run, targets) + (dora ? doraNormBytes(targets, storedProducts) : 0);
  let loss = lossBytes(model, run, options.lossChunkTokens);
  if (checkpointing) {
    // A step's peak is one of three phases, on top of what lives throughout (weights, LoRA, AdamW state, the layer
    // inputs): the loss's backward (one head block's float copy and a loss chunk), one layer's recomputed backward (its
    // float weight copies and working set), or AdamW's update.
    const fullHead = model.vocab_size * model.hidden_size * F32;
    const headRows = Math.min(model.vocab_size, headBlockRows(model.hidden_size));
    const headCopy = weightCopies > 0 ? headRows * model.hidden_size * F32 : 0;
    // About half a layer's weights in float at once: the recomputed forward's copies and the backward's own ones. NF4
    // adds the unpacking of the largest matrix: int32 indices and the gathered levels before their scaling (6 bytes a value).
    const largest = Math.max(model.hidden_size, model.num_attention_heads * model.head_dim) * Math.max(model.intermediate_size, model.hidden_size);
    const layerCopy = weightCopies > 0 ? (weightCopies - fullHead) / 2 + (nf4 ? 6 * largest : 0) : 0;
    const inputs = model.num_hidden_layers * run.micro_batch_size * run.max_seq_len * model.hidden_size * F32;
    const phases = {
      loss: headCopy + loss,
      layer: layerCopy + activations - inputs,
      optimizer: ADAMW_TEMPORARIES * trainableParams * F32,
    };
    if (phases.loss >= phases.layer && phases.loss >= phases.optimizer) [weightCopies, activations] = [headCopy, inputs];
    else if (phases.layer >= phases.optimizer) [weightCopies, loss] = [layerCopy, 0];
    else [weightCopies, activations, loss, optimizer] = [0, inputs, 0, optimizer + phases.optimizer];
  }
  const runtime = RUNTIME_BYTES;
  return {
    trainableParams,
    totalParams,
    trainablePercent: totalParams > 0 ? (trainableParams / totalParams) * 100 : 0,
    adapterBytes: adapterFileBytes(targets, run.r, run.save_dtype, dora),
    memory: {
      weights, weightCopies, lora, optimizer, activations, loss, runtime,
      total: weights + weightCopies + lora + optimizer + activations + loss + runtime,
    },
  };
}

/** "8.8 M", "494 M", "1.2 B": parameter counts as people say them. */
export function formatParams(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(n >= 1e10 ? 0 : 1)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e5 ? 0 : 1)} K`;
  return String(n);
}

/** Bytes in binary units, one decimal: "33.6 MiB", "2.1 GiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}
