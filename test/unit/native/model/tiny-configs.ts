// Tiny ModelConfigs of each supported architecture for tests (shapes only; weights come from randomWeights).
import type { ModelConfig } from '../../../../native/model/hf-config';

const base = {
  vocab_size: 23, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  head_dim: 4, rms_norm_eps: 1e-6, rope_theta: 10000, rope_scaling: null, max_position_embeddings: 128, tie_word_embeddings: false,
  attention_bias: false, qk_norm: false, torch_dtype: 'float32', hidden_act: 'silu',
} as const;

export const TINY_CONFIGS: Record<string, ModelConfig> = {
  llama: {
    ...base, architecture: 'LlamaForCausalLM', model_type: 'llama', rope_theta: 500000,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  },
  qwen2: { ...base, architecture: 'Qwen2ForCausalLM', model_type: 'qwen2', attention_bias: true, tie_word_embeddings: true, rms_norm_eps: 1e-5 },
  qwen3: { ...base, architecture: 'Qwen3ForCausalLM', model_type: 'qwen3', qk_norm: true, head_dim: 8, tie_word_embeddings: true },
  mistral: { ...base, architecture: 'MistralForCausalLM', model_type: 'mistral', num_key_value_heads: 1 },
  /** Llama with attention_bias: q, k, v and o_proj carry biases. */
  'llama-bias': { ...base, architecture: 'LlamaForCausalLM', model_type: 'llama', attention_bias: true, tie_word_embeddings: true },
};
