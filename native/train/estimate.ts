// Size and memory estimates of a LoRA run (pure): parameter counts of a Llama-family model, trainable LoRA
// parameters, adapter size on disk, and device memory = frozen weights + LoRA + gradients/optimizer + activations.
// The training panel shows these live as the form changes; nothing here reads files.
import type { RunConfig } from '../protocol';

/** The fields of ModelConfig (native/model/hf-config.ts) an estimate needs; a ModelConfig satisfies it. */
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

export type EstimateRunOptions = Pick<RunConfig, 'r' | 'micro_batch_size' | 'max_seq_len' | 'save_dtype' | 'lora_dropout'>;

export interface EstimateOptions {
  /** Element type the engine holds the frozen base weights in; the ONNX engine computes in float32. */
  weightDtype?: 'float32' | 'float16' | 'bfloat16';
  /** Exact parameter count (e.g. summed over the safetensors shapes); otherwise computed from the config. */
  totalParams?: number;
}

export interface MemoryEstimate {
  /** Frozen base weights. */
  weights: number;
  /** LoRA A and B in float32. */
  lora: number;
  /** Gradients of A and B plus AdamW's two moments (3 float32 copies of the LoRA parameters). */
  optimizer: number;
  /** Tensors kept for the backward pass of one micro-batch, plus the logits and their gradient. */
  activations: number;
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
  const h = m.hidden_size;
  const qDim = m.num_attention_heads * m.head_dim;
  const kvDim = m.num_key_value_heads * m.head_dim;
  const attention = h * qDim + 2 * h * kvDim + qDim * h + (m.attention_bias ? qDim + 2 * kvDim : 0) + (m.qk_norm ? 2 * m.head_dim : 0);
  const mlp = 3 * h * m.intermediate_size;
  const norms = 2 * h;
  const embeddings = m.vocab_size * h * (m.tie_word_embeddings ? 1 : 2);
  return embeddings + m.num_hidden_layers * (attention + mlp + norms) + h;
}

/** LoRA parameters of one adapted linear: A [r, in] + B [out, r]. */
export function loraParams(target: { in: number; out: number }, r: number): number {
  return r * (target.in + target.out);
}

/** Trainable parameters per module name (summed over layers), for the target-module editor. */
export function paramsByModule(targets: readonly EstimateTarget[], r: number): Map<string, number> {
  const byModule = new Map<string, number>();
  for (const t of targets) byModule.set(t.module, (byModule.get(t.module) ?? 0) + loraParams(t, r));
  return byModule;
}

const SAFETENSORS_DTYPE = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' } as const;

/** Size of the PEFT adapter_model.safetensors: 8-byte length, JSON header (padded to 8), then the tensors. */
export function adapterFileBytes(targets: readonly EstimateTarget[], r: number, dtype: RunConfig['save_dtype']): number {
  const bytes = DTYPE_BYTES[dtype];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of targets) {
    for (const [part, shape] of [['lora_A', [r, t.in]], ['lora_B', [t.out, r]]] as const) {
      const length = shape[0] * shape[1] * bytes;
      header[`base_model.model.${t.baseName}.${part}.weight`] = { dtype: SAFETENSORS_DTYPE[dtype], shape, data_offsets: [offset, offset + length] };
      offset += length;
    }
  }
  const json = JSON.stringify(header).length;
  return 8 + Math.ceil(json / 8) * 8 + offset;
}

/**
 * Activation memory of one micro-batch (float32, no gradient checkpointing, attention probabilities materialized:
 * the engine builds plain ONNX graphs without a fused attention kernel). Per layer and token it counts the tensors
 * the backward pass reads: the two norm inputs and outputs (4h), q/k/v before and after RoPE, the attention output,
 * the attention probabilities (heads × T), the MLP's gate, up, act(gate) and product (4 × intermediate), and per
 * LoRA target its dropped-out input (when dropout > 0) and A·x (r). The logits and their gradient (2 × vocab per
 * token) are added once; for small models with large vocabularies they dominate.
 */
export function activationBytes(m: EstimateModel, run: EstimateRunOptions, targets: readonly EstimateTarget[]): number {
  const tokens = run.micro_batch_size * run.max_seq_len;
  const qDim = m.num_attention_heads * m.head_dim;
  const kvDim = m.num_key_value_heads * m.head_dim;
  const perLayerToken = 4 * m.hidden_size + 2 * (qDim + 2 * kvDim) + qDim + m.num_attention_heads * run.max_seq_len + 4 * m.intermediate_size;
  let loraPerToken = 0;
  for (const t of targets) loraPerToken += run.r + (run.lora_dropout > 0 ? t.in : 0);
  const logits = 2 * m.vocab_size;
  return F32 * tokens * (m.num_hidden_layers * perLayerToken + loraPerToken + logits);
}

/** All the numbers the training panel shows for a model, run options and resolved targets. */
export function estimateRun(model: EstimateModel, run: EstimateRunOptions, targets: readonly EstimateTarget[], options: EstimateOptions = {}): RunEstimate {
  const totalParams = options.totalParams ?? modelParameterCount(model);
  let trainableParams = 0;
  for (const t of targets) trainableParams += loraParams(t, run.r);
  const weights = totalParams * DTYPE_BYTES[options.weightDtype ?? 'float32'];
  const lora = trainableParams * F32;
  const optimizer = 3 * trainableParams * F32;
  const activations = activationBytes(model, run, targets);
  return {
    trainableParams,
    totalParams,
    trainablePercent: totalParams > 0 ? (trainableParams / totalParams) * 100 : 0,
    adapterBytes: adapterFileBytes(targets, run.r, run.save_dtype),
    memory: { weights, lora, optimizer, activations, total: weights + lora + optimizer + activations },
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
