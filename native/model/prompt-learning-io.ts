// Prompt and prefix tuning adapters in PEFT's files: adapter_config.json as PEFT writes a PromptTuningConfig /
// PrefixTuningConfig (PEFT's _prepare_prompt_learning_config filled in: token_dim and num_attention_heads of the
// model, for prefix tuning num_key_value_heads·head_dim and num_key_value_heads), and adapter_model.safetensors
// holding one tensor, `prompt_embeddings` [num_virtual_tokens, width] (get_peft_model_state_dict).
//
// The config holds the keys PEFT 0.6's configs have; PEFT refused unknown keys before 0.14, so later ones
// (tokenizer_kwargs, modules_to_save) are left to their defaults. A prefix adapter with prefix_projection true loads
// too: PEFT saves its reparameterization's output, the same [N, L·2·token_dim] table.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '../protocol';
import type { ModelConfig } from './hf-config';
import { UserError } from '../util/errors';
import { writeJsonAtomic } from '../util/atomic-write';
import { f32ToBf16, f32ToF16, openSafetensors, readTensorF32, writeSafetensors } from './safetensors';
import { baseModelName } from './hub-id';
import { PROMPT_EMBEDDINGS, virtualWidth, type VirtualKind } from './prompt-learning';

const ADAPTER_CONFIG = 'adapter_config.json';
const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

export const PEFT_TYPES: Readonly<Record<VirtualKind, string>> = { prompt: 'PROMPT_TUNING', prefix: 'PREFIX_TUNING' };

export interface PromptAdapterInput {
  kind: VirtualKind;
  config: Pick<RunConfig, 'prompt_tuning_init' | 'prompt_tuning_init_text' | 'save_dtype'>;
  model: Pick<ModelConfig, 'hidden_size' | 'num_hidden_layers' | 'num_attention_heads' | 'num_key_value_heads' | 'head_dim'>;
  /** The model folder (its Hub id becomes base_model_name_or_path when known, hub-id.ts). */
  baseModel: string;
  /** prompt_embeddings [tokens, width], float32. */
  embeddings: Float32Array;
  tokens: number;
}

/** adapter_config.json as PEFT writes it for this kind (save_pretrained: json.dumps with sort_keys). */
export function promptAdapterConfig(input: Omit<PromptAdapterInput, 'embeddings'>): Record<string, unknown> {
  const fields = promptAdapterFields(input);
  return Object.fromEntries(Object.keys(fields).sort().map((key) => [key, fields[key]]));
}

function promptAdapterFields(input: Omit<PromptAdapterInput, 'embeddings'>): Record<string, unknown> {
  const base = baseModelName(input.baseModel);
  const m = input.model;
  const common = {
    auto_mapping: null,
    base_model_name_or_path: base,
    inference_mode: true,
    num_layers: m.num_hidden_layers,
    num_transformer_submodules: 1,
    num_virtual_tokens: input.tokens,
    peft_type: PEFT_TYPES[input.kind],
    revision: null,
    task_type: 'CAUSAL_LM',
  };
  if (input.kind === 'prefix') {
    const tokenDim = m.num_key_value_heads * m.head_dim;
    return { ...common, encoder_hidden_size: tokenDim, num_attention_heads: m.num_key_value_heads, prefix_projection: false, token_dim: tokenDim };
  }
  const text = input.config.prompt_tuning_init === 'TEXT';
  return {
    ...common,
    num_attention_heads: m.num_attention_heads,
    prompt_tuning_init: text ? 'TEXT' : 'RANDOM',
    prompt_tuning_init_text: text ? input.config.prompt_tuning_init_text ?? null : null,
    token_dim: m.hidden_size,
    // PEFT reads the tokenizer only for a TEXT init in training mode; it is the base model's.
    tokenizer_name_or_path: text ? base : null,
  };
}

/** Writes both files atomically (weights first: a folder with a config always has its weights). */
export function writePromptAdapter(dir: string, input: PromptAdapterInput): void {
  const width = virtualWidth(input.model, input.kind);
  if (input.embeddings.length !== input.tokens * width) throw new Error(`prompt_embeddings has ${input.embeddings.length} values, expected ${input.tokens} × ${width}`);
  const dtype = input.config.save_dtype === 'bfloat16' ? 'BF16' : input.config.save_dtype === 'float16' ? 'F16' : 'F32';
  const data = dtype === 'BF16' ? f32ToBf16(input.embeddings) : dtype === 'F16' ? f32ToF16(input.embeddings) : input.embeddings;
  writeSafetensors(join(dir, ADAPTER_WEIGHTS), [{ name: PROMPT_EMBEDDINGS, dtype, shape: [input.tokens, width], data }], { format: 'pt' });
  writeJsonAtomic(join(dir, ADAPTER_CONFIG), promptAdapterConfig(input));
}

/** The peft_type of an adapter folder's config when it is prompt or prefix tuning, else undefined. */
export function promptAdapterKind(dir: string): VirtualKind | undefined {
  const path = join(dir, ADAPTER_CONFIG);
  if (!existsSync(path)) return undefined;
  try {
    const type = (JSON.parse(readFileSync(path, 'utf8')) as { peft_type?: unknown }).peft_type;
    return type === PEFT_TYPES.prompt ? 'prompt' : type === PEFT_TYPES.prefix ? 'prefix' : undefined;
  } catch {
    return undefined; // readPeftAdapter reports the broken JSON
  }
}

export interface ReadPromptAdapter {
  kind: VirtualKind;
  tokens: number;
  /** prompt_embeddings [tokens, width] in float32. */
  embeddings: Float32Array;
  config: Record<string, unknown>;
}

/** Reads a PROMPT_TUNING / PREFIX_TUNING adapter for `model`, refusing what would not run on it, saying why. */
export function readPromptAdapter(dir: string, model: Pick<ModelConfig, 'hidden_size' | 'num_hidden_layers' | 'num_key_value_heads' | 'head_dim'>): ReadPromptAdapter {
  const configPath = join(dir, ADAPTER_CONFIG);
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  const kind = config.peft_type === PEFT_TYPES.prompt ? 'prompt' : config.peft_type === PEFT_TYPES.prefix ? 'prefix' : undefined;
  if (!kind) throw new UserError(`peft_type ${JSON.stringify(config.peft_type)} is not PROMPT_TUNING or PREFIX_TUNING`, { where: { file: configPath, field: 'peft_type' } });
  const sameModel = 'use the adapter with the base model it was trained on';
  const tokens = config.num_virtual_tokens;
  if (typeof tokens !== 'number' || !Number.isInteger(tokens) || tokens < 1) {
    throw new UserError(`num_virtual_tokens must be a whole number ≥ 1, got ${JSON.stringify(tokens)}`, { where: { file: configPath, field: 'num_virtual_tokens' }, fix: 'restore the adapter_config.json saved with these tensors' });
  }
  if ((config.num_transformer_submodules ?? 1) !== 1) {
    throw new UserError(`num_transformer_submodules ${JSON.stringify(config.num_transformer_submodules)}: an encoder-decoder adapter`, { where: { file: configPath, field: 'num_transformer_submodules' }, fix: 'LoRA Studio runs decoder-only (causal LM) models; use a CAUSAL_LM adapter' });
  }
  if (typeof config.num_layers === 'number' && config.num_layers !== model.num_hidden_layers) {
    throw new UserError(`the adapter is for ${config.num_layers} layers, the model has ${model.num_hidden_layers}`, { where: { file: configPath, field: 'num_layers' }, fix: sameModel });
  }
  const weightsPath = join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(weightsPath)) throw new UserError(`${ADAPTER_WEIGHTS} not found in ${dir}`, { where: { file: dir }, fix: 'LoRA Studio reads safetensors adapters; re-save with PEFT (safe_serialization=True)' });
  const file = openSafetensors(weightsPath);
  const entry = file.entries.get(PROMPT_EMBEDDINGS);
  if (!entry) {
    throw new UserError(`${ADAPTER_WEIGHTS} has no ${PROMPT_EMBEDDINGS} (it holds ${[...file.entries.keys()].slice(0, 3).join(', ') || 'nothing'})`, { where: { file: weightsPath }, fix: 'save the adapter again with PEFT' });
  }
  const width = virtualWidth(model, kind);
  const what = kind === 'prompt' ? 'hidden_size' : 'num_hidden_layers × 2 × num_key_value_heads × head_dim';
  if (entry.shape.length !== 2 || entry.shape[0] !== tokens || entry.shape[1] !== width) {
    throw new UserError(`${PROMPT_EMBEDDINGS} is [${entry.shape}], the model needs [${tokens}, ${width}] (num_virtual_tokens × ${what})`, { where: { file: weightsPath }, fix: sameModel });
  }
  const embeddings = Float32Array.from(readTensorF32(file, PROMPT_EMBEDDINGS));
  const bad = embeddings.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new UserError(`${PROMPT_EMBEDDINGS} holds ${embeddings[bad]} at element ${bad}`, { where: { file: weightsPath }, fix: 'the adapter is broken (a diverged run saves NaN or Infinity); use an earlier checkpoint' });
  return { kind, tokens, embeddings, config };
}
