// Prompt tuning (Lester et al. 2021) and prefix tuning (Li & Liang 2021) as PEFT runs them: N trainable virtual tokens
// and nothing else trained. One tensor, `prompt_embeddings`, holds them in PEFT's layout:
// - prompt tuning: [N, hidden_size], embeddings prepended to the input embeddings (PEFT's PromptEmbedding);
// - prefix tuning: [N, num_layers·2·token_dim], token_dim = num_key_value_heads·head_dim (PEFT's
//   _prepare_prompt_learning_config for grouped-query attention), each row viewed as [num_layers·2, KV, head_dim]:
//   layer l's keys at 2l, its values at 2l+1 (get_prompt: view(B, N, L·2, KV, D).permute(2, 0, 3, 1, 4).split(2)).
//   The keys enter the cache as they are: transformers caches keys after RoPE, so PEFT's virtual keys are never rotated.
// The files are PEFT's PROMPT_TUNING / PREFIX_TUNING (prefix_projection false: the embedding is the key/value table).
import { mulberry32 } from '../util/random';
import type { ModelConfig } from './hf-config';

export type VirtualKind = 'prompt' | 'prefix';

/** What the graph needs: the kind and the number of virtual tokens (native/model/llama.ts). */
export interface VirtualTokens {
  kind: VirtualKind;
  tokens: number;
}

/** PEFT's examples' count when none is given. */
export const DEFAULT_VIRTUAL_TOKENS = 20;

/** The one trainable tensor, named as PEFT's adapter_model.safetensors names it. */
export const PROMPT_EMBEDDINGS = 'prompt_embeddings';

/** The width of a row of prompt_embeddings. */
export function virtualWidth(config: Pick<ModelConfig, 'hidden_size' | 'num_hidden_layers' | 'num_key_value_heads' | 'head_dim'>, kind: VirtualKind): number {
  return kind === 'prompt' ? config.hidden_size : config.num_hidden_layers * 2 * config.num_key_value_heads * config.head_dim;
}

/** The run's method as a virtual-token kind, or undefined for the LoRA family. */
export function virtualKindOf(method: string): VirtualKind | undefined {
  return method === 'prompt-tuning' ? 'prompt' : method === 'prefix-tuning' ? 'prefix' : undefined;
}

/**
 * Initial prompt_embeddings [N, width]. Random: torch.nn.Embedding's N(0, 1) (PEFT's RANDOM init and PrefixEncoder);
 * text (prompt tuning only): the embedding rows of the init text's ids, cut or repeated to N as PromptEmbedding does.
 */
export function initVirtualTokens(tokens: number, width: number, seed: number, text?: { ids: number[]; embeddingRow: (id: number) => Float32Array }): Float32Array {
  const out = new Float32Array(tokens * width);
  if (text) {
    if (text.ids.length === 0) throw new Error('the prompt tuning init text encodes to no tokens');
    for (let i = 0; i < tokens; i++) out.set(text.embeddingRow(text.ids[i % text.ids.length]), i * width);
    return out;
  }
  const random = mulberry32(seed);
  // Box–Muller: torch.randn's role, seeded.
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return out;
}

/**
 * Prefix tuning's virtual keys and values of every layer as the KV cache holds them: layer l → keys and values
 * [KV, N, D] (head-major, the cache's layout), from prompt_embeddings [N, L·2·KV·D].
 */
export function prefixKeyValues(embeddings: ArrayLike<number>, config: Pick<ModelConfig, 'num_hidden_layers' | 'num_key_value_heads' | 'head_dim'>, tokens: number): { keys: Float32Array; values: Float32Array }[] {
  const { num_hidden_layers: L, num_key_value_heads: KV, head_dim: D } = config;
  const width = L * 2 * KV * D;
  const out: { keys: Float32Array; values: Float32Array }[] = [];
  for (let l = 0; l < L; l++) {
    const keys = new Float32Array(KV * tokens * D), values = new Float32Array(KV * tokens * D);
    for (let n = 0; n < tokens; n++) {
      for (let h = 0; h < KV; h++) {
        for (let d = 0; d < D; d++) {
          const dst = (h * tokens + n) * D + d;
          keys[dst] = embeddings[n * width + ((2 * l) * KV + h) * D + d];
          values[dst] = embeddings[n * width + ((2 * l + 1) * KV + h) * D + d];
        }
      }
    }
    out.push({ keys, values });
  }
  return out;
}
