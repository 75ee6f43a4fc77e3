// How each supported Hugging Face architecture maps onto llama.cpp (gguf-py constants.py MODEL_ARCH and
// tensor_mapping.py; convert_hf_to_gguf.py LlamaModel / Qwen2Model / Qwen3Model): the GGUF architecture name, whether
// q/k rows are permuted, and the tensor names. Shared by the model and the adapter export, which must agree.
import type { Architecture, ModelConfig } from '../model/hf-config';

/** general.architecture per HF architecture; Mistral is converted as "llama" (convert_hf_to_gguf registers it there). */
export const GGUF_ARCH: Record<Architecture, string> = {
  LlamaForCausalLM: 'llama', MistralForCausalLM: 'llama', Qwen2ForCausalLM: 'qwen2', Qwen3ForCausalLM: 'qwen3',
};

/**
 * llama.cpp runs Llama-style models with GPT-J rotary (adjacent pairs), HF with NeoX rotary (halves), so
 * convert_hf_to_gguf.py LlamaModel.permute reorders q/k rows per head: output row h·D + 2i + j is input row
 * h·D + j·D/2 + i. Qwen2/Qwen3 run as NeoX rope in llama.cpp and keep HF's order.
 */
export function permutesQk(config: Pick<ModelConfig, 'architecture'>): boolean {
  return GGUF_ARCH[config.architecture] === 'llama';
}

/** The row permutation of a q (heads = num_attention_heads) or k (heads = num_key_value_heads) projection: out[r] = in[perm[r]]. */
export function qkRowOrder(rows: number, heads: number): Int32Array {
  const D = rows / heads, half = D / 2;
  const perm = new Int32Array(rows);
  for (let h = 0; h < heads; h++) for (let i = 0; i < half; i++) for (let j = 0; j < 2; j++) perm[h * D + 2 * i + j] = h * D + j * half + i;
  return perm;
}

/** Heads whose rows a tensor holds, if it must be permuted for llama.cpp (q/k weight or bias of a Llama-style model). */
export function permuteHeads(hfName: string, config: ModelConfig): number | undefined {
  if (!permutesQk(config)) return undefined;
  if (/\.self_attn\.q_proj\.(weight|bias)$/.test(hfName)) return config.num_attention_heads;
  if (/\.self_attn\.k_proj\.(weight|bias)$/.test(hfName)) return config.num_key_value_heads;
  return undefined;
}

const LAYER_PARTS: Record<string, string> = {
  'input_layernorm': 'attn_norm',
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output',
  'self_attn.q_norm': 'attn_q_norm',
  'self_attn.k_norm': 'attn_k_norm',
  'post_attention_layernorm': 'ffn_norm',
  'mlp.gate_proj': 'ffn_gate',
  'mlp.up_proj': 'ffn_up',
  'mlp.down_proj': 'ffn_down',
};

/** The GGUF name of an HF tensor name (e.g. model.layers.3.self_attn.q_proj.weight → blk.3.attn_q.weight), or undefined. */
export function ggufTensorName(hfName: string): string | undefined {
  if (hfName === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (hfName === 'model.norm.weight') return 'output_norm.weight';
  if (hfName === 'lm_head.weight') return 'output.weight';
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hfName);
  if (!m) return undefined;
  const part = LAYER_PARTS[m[2]];
  return part ? `blk.${m[1]}.${part}.${m[3]}` : undefined;
}
