// The readers model-inspect.ts uses, bound to the model library. INTERIM: native/model/hf-config.ts and
// model-folder.ts (engineer M) were not in the tree when this was written, so a minimal Llama-family reading of
// config.json stands in here, with the same field names; swap these two functions for parseHfConfig and
// linearModules as soon as they land (the rest of the panel does not change).
import { UserError } from '../../native/util/errors';
import { modelParameterCount } from '../../native/train/estimate';
import type { InspectConfig, InspectReaders } from './model-inspect';

const SUPPORTED = ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM', 'MistralForCausalLM'];

function num(json: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const value = json[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new UserError(`"${key}" must be a number, got ${JSON.stringify(value) ?? 'nothing'}`, { where: { file, field: key }, fix: 'restore config.json from the model repository' });
  }
  return value;
}

function parseConfig(json: unknown, file: string): InspectConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UserError('config.json must hold a JSON object', { where: { file } });
  const j = json as Record<string, unknown>;
  const architecture = Array.isArray(j.architectures) ? String(j.architectures[0]) : '';
  if (!SUPPORTED.includes(architecture)) {
    throw new UserError(`unsupported architecture ${architecture || '(none)'}; supported: ${SUPPORTED.join(', ')}`, { where: { file, field: 'architectures' }, fix: 'choose a Llama, Mistral, Qwen2 or Qwen3 model' });
  }
  const heads = num(j, 'num_attention_heads', file);
  const hidden = num(j, 'hidden_size', file);
  const dtype = j.torch_dtype === 'float16' || j.torch_dtype === 'bfloat16' ? j.torch_dtype : 'float32';
  return {
    architecture, model_type: String(j.model_type ?? ''), vocab_size: num(j, 'vocab_size', file), hidden_size: hidden,
    intermediate_size: num(j, 'intermediate_size', file), num_hidden_layers: num(j, 'num_hidden_layers', file), num_attention_heads: heads,
    num_key_value_heads: num(j, 'num_key_value_heads', file, heads), head_dim: num(j, 'head_dim', file, hidden / heads),
    tie_word_embeddings: j.tie_word_embeddings === true, attention_bias: j.attention_bias === true || architecture === 'Qwen2ForCausalLM',
    qk_norm: architecture === 'Qwen3ForCausalLM', torch_dtype: dtype, max_position_embeddings: num(j, 'max_position_embeddings', file, 2048),
  };
}

function linearModules(c: InspectConfig): { name: string; path: (layer: number) => string; in: number; out: number }[] {
  const q = c.num_attention_heads * c.head_dim;
  const kv = c.num_key_value_heads * c.head_dim;
  const attn = (name: string, inF: number, outF: number) => ({ name, in: inF, out: outF, path: (l: number) => `model.layers.${l}.self_attn.${name}` });
  const mlp = (name: string, inF: number, outF: number) => ({ name, in: inF, out: outF, path: (l: number) => `model.layers.${l}.mlp.${name}` });
  return [attn('q_proj', c.hidden_size, q), attn('k_proj', c.hidden_size, kv), attn('v_proj', c.hidden_size, kv), attn('o_proj', q, c.hidden_size),
    mlp('gate_proj', c.hidden_size, c.intermediate_size), mlp('up_proj', c.hidden_size, c.intermediate_size), mlp('down_proj', c.intermediate_size, c.hidden_size)];
}

export const modelReaders: InspectReaders<InspectConfig> = { parseConfig, linearModules };
export const computeParams = modelParameterCount;
