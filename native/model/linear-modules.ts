// The linear layers of a Llama-family decoder block, from its config alone (pure: no I/O, only a type import), so the
// model loader, LoRA target resolution and the training panel's webview all read the same list.
import type { ModelConfig } from './hf-config';

export interface LinearModule {
  /** PEFT's module name, e.g. 'q_proj'. */
  name: string;
  /** Module path in layer N, e.g. 'model.layers.N.self_attn.q_proj' (the weight is `${path}.weight`, shape [out, in]). */
  path: (layer: number) => string;
  in: number;
  out: number;
}

/** The linear layers of one decoder block, in HF order: the modules LoRA can target. */
export function linearModules(config: Pick<ModelConfig, 'num_attention_heads' | 'num_key_value_heads' | 'head_dim' | 'hidden_size' | 'intermediate_size'>): LinearModule[] {
  const q = config.num_attention_heads * config.head_dim;
  const kv = config.num_key_value_heads * config.head_dim;
  const h = config.hidden_size;
  const ff = config.intermediate_size;
  const attn = (name: string, inF: number, outF: number): LinearModule => ({ name, path: (n) => `model.layers.${n}.self_attn.${name}`, in: inF, out: outF });
  const mlp = (name: string, inF: number, outF: number): LinearModule => ({ name, path: (n) => `model.layers.${n}.mlp.${name}`, in: inF, out: outF });
  return [attn('q_proj', h, q), attn('k_proj', h, kv), attn('v_proj', h, kv), attn('o_proj', q, h), mlp('gate_proj', h, ff), mlp('up_proj', h, ff), mlp('down_proj', ff, h)];
}
