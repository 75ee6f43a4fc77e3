// config.json of a Hugging Face causal LM → ModelConfig: the Llama family (Llama incl. Llama 3 rope scaling, Mistral,
// Qwen2 with q/k/v bias, Qwen3 with q/k RMSNorm). Every problem is a UserError naming config.json and the field.
import { UserError } from '../util/errors';

export type Architecture = 'LlamaForCausalLM' | 'Qwen2ForCausalLM' | 'Qwen3ForCausalLM' | 'MistralForCausalLM';
export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM', 'MistralForCausalLM'];

export interface RopeScaling {
  rope_type: 'llama3';
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

export type TorchDtype = 'float32' | 'float16' | 'bfloat16';

export interface ModelConfig {
  architecture: Architecture;
  model_type: string;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: RopeScaling | null;
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
  /** q, k and v projections carry a bias (Qwen2; Llama/Mistral only when `attention_bias` is set). */
  attention_bias: boolean;
  /** Per-head RMSNorm on q and k before RoPE (Qwen3: `q_norm`, `k_norm`). */
  qk_norm: boolean;
  torch_dtype: TorchDtype;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  /** Activation of the MLP; every supported architecture uses SiLU. */
  hidden_act: 'silu';
}

const DEFAULT_MODEL_TYPE: Record<Architecture, string> = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
  MistralForCausalLM: 'mistral',
};

type Json = Record<string, unknown>;

function fail(file: string, field: string, what: string, fix: string): never {
  throw new UserError(what, { where: { file, field }, fix });
}

function positiveInt(obj: Json, field: string, file: string, fallback?: number): number {
  const value = obj[field] ?? fallback;
  if (value === undefined) fail(file, field, 'is missing', `add "${field}" (a whole number) to config.json`);
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    fail(file, field, `must be a whole number > 0, got ${JSON.stringify(value)}`, `fix "${field}" in config.json`);
  }
  return value;
}

/**
 * The largest released decoders have ~130 layers. A count far past that is a typo or a hostile file, and the checks
 * that follow build a list of every layer's tensors: 1e8 layers grew memory until the process was killed.
 */
export const MAX_LAYERS = 1024;

function layerCount(obj: Json, file: string): number {
  const layers = positiveInt(obj, 'num_hidden_layers', file);
  if (layers > MAX_LAYERS) {
    fail(file, 'num_hidden_layers', `must be at most ${MAX_LAYERS}, got ${layers}`, 'fix "num_hidden_layers" in config.json: it is the number of model.layers.N in the weights');
  }
  return layers;
}

function positiveNumber(obj: Json, field: string, file: string, fallback?: number): number {
  const value = obj[field] ?? fallback;
  if (value === undefined) fail(file, field, 'is missing', `add "${field}" (a number) to config.json`);
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(file, field, `must be a number > 0, got ${JSON.stringify(value)}`, `fix "${field}" in config.json`);
  }
  return value;
}

function optionalBool(obj: Json, field: string, file: string, fallback: boolean): boolean {
  const value = obj[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') fail(file, field, `must be true or false, got ${JSON.stringify(value)}`, `fix "${field}" in config.json`);
  return value;
}

function tokenIds(obj: Json, field: string, file: string): number | number[] | undefined {
  const value = obj[field];
  if (value === undefined || value === null) return undefined;
  const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (isId(value)) return value;
  if (Array.isArray(value) && value.length > 0 && value.every(isId)) return value;
  fail(file, field, `must be a token id or a list of token ids, got ${JSON.stringify(value)}`, `fix "${field}" in config.json`);
}

function parseRopeScaling(obj: Json, file: string): RopeScaling | null {
  const raw = obj.rope_scaling;
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) fail(file, 'rope_scaling', 'must be an object or null', 'fix "rope_scaling" in config.json');
  const rs = raw as Json;
  // Older Llama 3.1 configs spell the key "type"; transformers accepts both.
  const type = rs.rope_type ?? rs.type;
  if (type === 'default') return null;
  if (type !== 'llama3') {
    fail(file, 'rope_scaling.rope_type', `unsupported rope scaling ${JSON.stringify(type)}; supported: "llama3"`,
      'use a model without rope scaling or with Llama 3 rope scaling');
  }
  const num = (field: string, fallback?: number) => positiveNumber(rs, field, file, fallback);
  const scaling: RopeScaling = {
    rope_type: 'llama3',
    factor: num('factor'),
    low_freq_factor: num('low_freq_factor'),
    high_freq_factor: num('high_freq_factor'),
    original_max_position_embeddings: positiveInt(rs, 'original_max_position_embeddings', file),
  };
  if (scaling.high_freq_factor <= scaling.low_freq_factor) {
    fail(file, 'rope_scaling.high_freq_factor', `must be greater than low_freq_factor (${scaling.low_freq_factor})`, 'fix rope_scaling in config.json');
  }
  return scaling;
}

function parseDtype(obj: Json, file: string): TorchDtype {
  // transformers ≥ 4.56 writes "dtype"; older versions "torch_dtype". Absent means the weights decide; assume float32.
  const value = obj.torch_dtype ?? obj.dtype ?? 'float32';
  if (value === 'float32' || value === 'float16' || value === 'bfloat16') return value;
  return fail(file, 'torch_dtype', `unsupported dtype ${JSON.stringify(value)}; supported: float32, float16, bfloat16`, 'convert the model to one of these');
}

/** Parses the JSON of a config.json (`file` is its path, used in error messages). */
export function parseHfConfig(json: unknown, file: string): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    fail(file, 'architectures', 'config.json must hold a JSON object', 'use the config.json of a Hugging Face model');
  }
  const obj = json as Json;
  const archs = obj.architectures;
  if (!Array.isArray(archs) || archs.length === 0 || typeof archs[0] !== 'string') {
    fail(file, 'architectures', 'is missing or not a list of names', `set "architectures": ["LlamaForCausalLM"] (or another supported one: ${SUPPORTED_ARCHITECTURES.join(', ')})`);
  }
  const architecture = archs[0] as string;
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(architecture)) {
    fail(file, 'architectures', `unsupported architecture ${architecture}; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`,
      'choose a model of a supported architecture');
  }
  const arch = architecture as Architecture;
  const hidden_size = positiveInt(obj, 'hidden_size', file);
  const num_attention_heads = positiveInt(obj, 'num_attention_heads', file);
  const num_key_value_heads = positiveInt(obj, 'num_key_value_heads', file, num_attention_heads);
  if (num_attention_heads % num_key_value_heads !== 0) {
    fail(file, 'num_key_value_heads', `${num_key_value_heads} does not divide num_attention_heads (${num_attention_heads})`,
      'grouped-query attention needs a whole number of query heads per key/value head');
  }
  // Qwen3 (and some Mistral) set head_dim explicitly, and it may differ from hidden_size / heads.
  const explicitHeadDim = obj.head_dim;
  let head_dim: number;
  if (explicitHeadDim === undefined || explicitHeadDim === null) {
    if (hidden_size % num_attention_heads !== 0) {
      fail(file, 'head_dim', `is missing and hidden_size (${hidden_size}) is not a multiple of num_attention_heads (${num_attention_heads})`, 'add "head_dim" to config.json');
    }
    head_dim = hidden_size / num_attention_heads;
  } else {
    head_dim = positiveInt(obj, 'head_dim', file);
  }
  if (head_dim % 2 !== 0) fail(file, 'head_dim', `must be even for rotary embeddings, got ${head_dim}`, 'fix head_dim in config.json');
  const hidden_act = obj.hidden_act ?? 'silu';
  if (hidden_act !== 'silu') fail(file, 'hidden_act', `unsupported activation ${JSON.stringify(hidden_act)}; supported: "silu"`, 'use a model with SiLU MLPs');
  if (optionalBool(obj, 'mlp_bias', file, false)) fail(file, 'mlp_bias', 'MLP biases are not supported', 'use a model without mlp_bias');
  const model_type = typeof obj.model_type === 'string' ? obj.model_type : DEFAULT_MODEL_TYPE[arch];
  const config: ModelConfig = {
    architecture: arch,
    model_type,
    vocab_size: positiveInt(obj, 'vocab_size', file),
    hidden_size,
    intermediate_size: positiveInt(obj, 'intermediate_size', file),
    num_hidden_layers: layerCount(obj, file),
    num_attention_heads,
    num_key_value_heads,
    head_dim,
    rms_norm_eps: positiveNumber(obj, 'rms_norm_eps', file, 1e-6),
    rope_theta: positiveNumber(obj, 'rope_theta', file, 10000),
    rope_scaling: parseRopeScaling(obj, file),
    max_position_embeddings: positiveInt(obj, 'max_position_embeddings', file, 2048),
    // LlamaConfig, MistralConfig, Qwen2Config and Qwen3Config all default tie_word_embeddings to false.
    tie_word_embeddings: optionalBool(obj, 'tie_word_embeddings', file, false),
    attention_bias: arch === 'Qwen2ForCausalLM' ? true : optionalBool(obj, 'attention_bias', file, false),
    qk_norm: arch === 'Qwen3ForCausalLM',
    torch_dtype: parseDtype(obj, file),
    hidden_act: 'silu',
  };
  const bos = tokenIds(obj, 'bos_token_id', file);
  if (bos !== undefined) {
    if (Array.isArray(bos)) fail(file, 'bos_token_id', 'must be a single token id', 'fix "bos_token_id" in config.json');
    config.bos_token_id = bos;
  }
  const eos = tokenIds(obj, 'eos_token_id', file);
  if (eos !== undefined) config.eos_token_id = eos;
  return config;
}
