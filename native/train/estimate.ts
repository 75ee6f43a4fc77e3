// Size and memory estimates of a LoRA run (pure): parameter counts of a Llama-family model, trainable LoRA
// parameters, adapter size on disk, and the peak memory of a training step as the ONNX engine spends it: the frozen
// weights in their stored dtype, their float32 copies where used, LoRA + AdamW, the activations (per-layer
// checkpoints or every layer's), the chunked loss and the process itself. The training panel shows these live as the
// form changes; nothing here reads files. Checked against measured peak RSS in test/unit/native/train/estimate.test.ts.
// Per method (methodOfRun): DoRA adds a magnitude per output feature; PiSSA/OLoRA and ReLoRA train against a frozen
// low-rank term of the base (native/train/base-term.ts) and save a wider LoRA; AdaLoRA trains init_r triplets per
// module, keeps a rank allocator on the host and adds the orthogonal penalty to the loss.
import type { RunConfig } from '../protocol';
import { attentionBlockRows, headBlockRows, lossChunkTokens } from '../model/block-sizes';
import { linearModules } from '../model/linear-modules';
import { ADALORA_DEFAULTS, adaloraParameterCount } from '../model/adalora-settings';
import { DEFAULT_VIRTUAL_TOKENS, PROMPT_EMBEDDINGS, virtualWidth } from '../model/prompt-learning';
import { estimateLisa } from './lisa-estimate';

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

export type EstimateRunOptions = Pick<RunConfig, 'r' | 'micro_batch_size' | 'max_seq_len' | 'save_dtype' | 'lora_dropout' | 'gradient_checkpointing' | 'precision' | 'quantization' | 'use_dora'>
  & Partial<Pick<RunConfig, 'method' | 'init_lora_weights' | 'relora_steps' | 'init_r' | 'target_r' | 'num_virtual_tokens' | 'lisa_layers' | 'lisa_period'>>;

/** The method a run trains, as the estimate tells them apart (OLoRA is PiSSA's twin here: the same term and file). */
export type EstimateMethod = 'lora' | 'dora' | 'pissa' | 'olora' | 'relora' | 'adalora' | 'prompt-tuning' | 'prefix-tuning' | 'lisa';

/** Which method a run's options select (validation refuses combinations; here the first of this order wins). */
export function methodOfRun(run: Partial<EstimateRunOptions>): EstimateMethod {
  if (run.method === 'adalora') return 'adalora';
  if (run.method === 'lisa') return 'lisa';
  if (run.method === 'prompt-tuning' || run.method === 'prefix-tuning') return run.method;
  if (run.use_dora) return 'dora';
  if (run.init_lora_weights === 'olora') return 'olora';
  if (typeof run.init_lora_weights === 'string' && run.init_lora_weights.startsWith('pissa')) return 'pissa';
  if ((run.relora_steps ?? 0) > 0) return 'relora';
  return 'lora';
}

export interface EstimateOptions {
  /** Element type the weight files store (the engine keeps them so, memory-mapped); default: the config's torch_dtype. */
  weightDtype?: 'float32' | 'float16' | 'bfloat16';
  /** Exact parameter count (e.g. summed over the safetensors shapes); otherwise computed from the config. */
  totalParams?: number;
  /** Tokens per loss chunk; default the engine's, lossChunkTokens(vocab_size) from native/model/block-sizes.ts. */
  lossChunkTokens?: number;
  /** The device the run trains on: with bf16/fp16 products on CUDA, weights stored in that type are used as stored. */
  provider?: 'cuda' | 'cpu';
  /** The run's optimizer steps, when known (max_steps, or epochs over a dataset of known size): ReLoRA's cycles. */
  totalSteps?: number;
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
  /**
   * PiSSA/OLoRA and ReLoRA: the frozen low-rank term of the base, A_d [R, in] and B_d [out, R] float32 per module
   * (baseTermBytes); 0 for the other methods.
   */
  baseTerm: number;
  /** AdaLoRA: the rank allocator on the host (allocatorBytes); 0 for the other methods. */
  allocator: number;
  /** AdaLoRA: the orthogonal regularization's tensors (penaltyBytes); 0 for the other methods. */
  penalty: number;
  total: number;
}

export interface RunEstimate {
  trainableParams: number;
  totalParams: number;
  /** trainableParams / totalParams × 100. */
  trainablePercent: number;
  method: EstimateMethod;
  /**
   * adapter_model.safetensors in save_dtype: data plus its JSON header, at the end of the run (AdaLoRA: its final
   * pattern, target_r a module on average).
   */
  adapterBytes: number;
  /**
   * The rank of the saved modules: r; 2r for PiSSA/OLoRA (PEFT's conversion for the original base: the trained A, B
   * beside the start A₀, B₀); k·r for ReLoRA's k cycles (r while the cycles are unknown); AdaLoRA: target_r on average.
   */
  adapterRank: number;
  /** ReLoRA: the cycles k = ⌈steps / relora_steps⌉, when the steps are known (EstimateOptions.totalSteps). */
  reloraCycles?: number;
  /** AdaLoRA: the file with every init_r triplet kept (a run saved before the budget shrinks): the most it takes. */
  adapterMaxBytes?: number;
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

/** AdaLoRA's starting rank: init_r, or PEFT's default (r is unused by AdaLoRA, as in PEFT). */
export const adaloraInitR = (run: Partial<EstimateRunOptions>): number => run.init_r ?? ADALORA_DEFAULTS.init_r;

/** Trainable parameters of one adapted linear under the run's method: AdaLoRA init_r·(in+out+1), else loraParams. */
export function methodParams(target: { in: number; out: number }, run: Partial<EstimateRunOptions> & Pick<EstimateRunOptions, 'r'>): number {
  if (run.method === 'adalora') return adaloraParameterCount([target], adaloraInitR(run));
  return loraParams(target, run.r, run.use_dora ?? false);
}

const SAFETENSORS_DTYPE = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' } as const;

/** Size of the PEFT adapter_model.safetensors: 8-byte length, JSON header (padded to 8), then the tensors. */
export function adapterFileBytes(targets: readonly EstimateTarget[], r: number, dtype: RunConfig['save_dtype'], dora = false): number {
  return safetensorsBytes(targets.flatMap((t) => {
    const parts: [string, number[]][] = [['lora_A.weight', [r, t.in]], ['lora_B.weight', [t.out, r]]];
    if (dora) parts.push(['lora_magnitude_vector', [t.out]]);
    return parts.map(([part, shape]): [string, number[]] => [`base_model.model.${t.baseName}.${part}`, shape]);
  }), dtype);
}

/**
 * Size of PEFT's ADALORA adapter_model.safetensors with `r` triplets kept per module: lora_A [r, in], lora_B [out, r],
 * lora_E [r, 1] (no ".weight"), as native/model/adalora-io.ts writes them.
 */
export function adaloraFileBytes(targets: readonly EstimateTarget[], r: number, dtype: RunConfig['save_dtype']): number {
  return safetensorsBytes(targets.flatMap((t): [string, number[]][] => [
    [`base_model.model.${t.baseName}.lora_A`, [r, t.in]], [`base_model.model.${t.baseName}.lora_B`, [t.out, r]], [`base_model.model.${t.baseName}.lora_E`, [r, 1]],
  ]), dtype);
}

function safetensorsBytes(tensors: readonly [string, number[]][], dtype: RunConfig['save_dtype']): number {
  const bytes = DTYPE_BYTES[dtype];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of tensors) {
    const length = shape.reduce((a, b) => a * b, 1) * bytes;
    header[name] = { dtype: SAFETENSORS_DTYPE[dtype], shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  const json = JSON.stringify(header).length;
  return 8 + Math.ceil(json / 8) * 8 + offset;
}

/** ReLoRA's cycles: ⌈steps / relora_steps⌉ (the last one may be partial; it is saved all the same). */
export function reloraCycles(totalSteps: number, reloraSteps: number): number {
  return Math.max(1, Math.ceil(totalSteps / reloraSteps));
}

/**
 * The frozen low-rank term of rank R: A_d [R, in] and B_d [out, R] float32 per module, R·(in + out) floats. PiSSA and
 * OLoRA hold R = r (the start −s·B₀A₀) all run long; ReLoRA appends each merged cycle to one growing term, so during
 * the last of k cycles R = (k − 1)·r.
 */
export function baseTermBytes(targets: readonly EstimateTarget[], rank: number): number {
  return targets.reduce((sum, t) => sum + rank * (t.in + t.out), 0) * F32;
}

/**
 * AdaLoRA's rank allocator on the host (native/train/rank-allocator.ts): the sensitivity and uncertainty EMAs of every
 * trainable entry, plus the step's gradients read back for |p·g|: 3 float32 per trainable parameter (the EMAs live all
 * run; the gradients, and their clipped copy when clipping applies, only between steps).
 */
export function allocatorBytes(trainableParams: number): number {
  return 3 * trainableParams * F32;
}

/**
 * AdaLoRA's orthogonal regularization ‖AAᵀ − I‖_F + ‖BᵀB − I‖_F in the graph: per module its backward's contributions
 * to A's and B's gradients (r·(in + out) floats) and, for each of A and B, the r × r Gram matrix, its difference from
 * I, the square and their gradients (8·r² floats).
 */
export function penaltyBytes(targets: readonly EstimateTarget[], r: number): number {
  return targets.reduce((sum, t) => sum + r * (t.in + t.out) + 8 * r * r, 0) * F32;
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
export function estimateRun(model: EstimateModel, run: EstimateRunOptions, loraTargets: readonly EstimateTarget[], options: EstimateOptions = {}): RunEstimate {
  const totalParams = options.totalParams ?? modelParameterCount(model);
  const method = methodOfRun(run);
  // LISA trains whole tensors and writes a model, not an adapter: its own estimate (native/train/lisa-estimate.ts).
  if (method === 'lisa') return estimateLisa(model, run, options);
  // Prompt/prefix tuning adapt no module: their one tensor, prompt_embeddings [N, width], is what trains.
  const virtual = method === 'prompt-tuning' || method === 'prefix-tuning' ? virtualShape(model, method, run) : undefined;
  const targets = virtual ? [] : loraTargets;
  let trainableParams = virtual ? virtual[0] * virtual[1] : 0;
  const dora = method === 'dora';
  for (const t of targets) trainableParams += methodParams(t, run);
  const adapter = virtual ? { rank: 0, bytes: safetensorsBytes([[PROMPT_EMBEDDINGS, virtual]], run.save_dtype), termRank: 0 } : adapterEstimate(method, run, targets, options.totalSteps);
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
  // The base term is a graph input alive all step; the allocator's state lives all run; the penalty's tensors are
  // small beside a layer's and counted whole rather than placed in a phase.
  const baseTerm = baseTermBytes(targets, adapter.termRank);
  const allocator = method === 'adalora' ? allocatorBytes(trainableParams) : 0;
  const penalty = method === 'adalora' ? penaltyBytes(targets, adaloraInitR(run)) : 0;
  return {
    trainableParams,
    totalParams,
    trainablePercent: totalParams > 0 ? (trainableParams / totalParams) * 100 : 0,
    method,
    adapterBytes: adapter.bytes,
    adapterRank: adapter.rank,
    ...(adapter.cycles !== undefined ? { reloraCycles: adapter.cycles } : {}),
    ...(adapter.maxBytes !== undefined ? { adapterMaxBytes: adapter.maxBytes } : {}),
    memory: {
      weights, weightCopies, lora, optimizer, activations, loss, runtime, baseTerm, allocator, penalty,
      total: weights + weightCopies + lora + optimizer + activations + loss + runtime + baseTerm + allocator + penalty,
    },
  };
}

/** prompt_embeddings' shape [N, width] (native/model/prompt-learning.ts). */
function virtualShape(model: EstimateModel, method: 'prompt-tuning' | 'prefix-tuning', run: Partial<EstimateRunOptions>): [number, number] {
  return [run.num_virtual_tokens ?? DEFAULT_VIRTUAL_TOKENS, virtualWidth(model, method === 'prompt-tuning' ? 'prompt' : 'prefix')];
}

/** The saved adapter of a method (rank, bytes, ReLoRA's cycles, AdaLoRA's largest file) and the frozen term's rank. */
function adapterEstimate(method: EstimateMethod, run: EstimateRunOptions, targets: readonly EstimateTarget[], totalSteps: number | undefined):
  { rank: number; bytes: number; termRank: number; cycles?: number; maxBytes?: number } {
  const r = run.r;
  switch (method) {
    case 'pissa':
    case 'olora':
      return { rank: 2 * r, bytes: adapterFileBytes(targets, 2 * r, run.save_dtype), termRank: r };
    case 'relora': {
      const cycles = totalSteps !== undefined && totalSteps > 0 ? reloraCycles(totalSteps, run.relora_steps!) : undefined;
      const k = cycles ?? 1;
      return { rank: k * r, bytes: adapterFileBytes(targets, k * r, run.save_dtype), termRank: (k - 1) * r, cycles };
    }
    case 'adalora': {
      const initR = adaloraInitR(run), targetR = Math.min(initR, run.target_r ?? ADALORA_DEFAULTS.target_r);
      return { rank: targetR, bytes: adaloraFileBytes(targets, targetR, run.save_dtype), termRank: 0, maxBytes: adaloraFileBytes(targets, initR, run.save_dtype) };
    }
    default:
      return { rank: r, bytes: adapterFileBytes(targets, r, run.save_dtype, method === 'dora'), termRank: 0 };
  }
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
