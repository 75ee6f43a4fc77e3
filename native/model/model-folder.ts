// A local Hugging Face model folder: config.json, safetensors weights (checked against the config, tensor by tensor,
// by header only), tokenizer files and generation_config.json. Every problem is a UserError naming the file.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors';
import { parseHfConfig, type ModelConfig } from './hf-config';
import { loadTokenizer, type TextTokenizer } from './tokenizer';
import { openWeights, type WeightStore } from './safetensors';
import { linearModules } from './linear-modules';
import { checkModelFileLinks, TOKENIZER_FILES } from './folder-links';
import { checkTokenizerVocab } from './tokenizer-checks';

export interface GenerationDefaults {
  eos_token_id?: number | number[];
  max_new_tokens?: number;
  temperature?: number;
  top_p?: number;
}

export interface ModelFolder {
  dir: string;
  config: ModelConfig;
  weights: WeightStore;
  tokenizer: TextTokenizer;
  generation: GenerationDefaults;
}

export interface ExpectedTensor {
  name: string;
  shape: number[];
  /** lm_head.weight of a tied model may be present or not. */
  optional?: boolean;
}

/** Every tensor the architecture reads, with its shape (what transformers' modeling_<arch>.py creates). */
export function expectedTensors(config: ModelConfig): ExpectedTensor[] {
  const h = config.hidden_size;
  const tensors: ExpectedTensor[] = [{ name: 'model.embed_tokens.weight', shape: [config.vocab_size, h] }];
  // Qwen2 biases q, k and v only; Llama/Mistral/Qwen3 with attention_bias bias o_proj as well.
  const biased = config.architecture === 'Qwen2ForCausalLM' ? ['q_proj', 'k_proj', 'v_proj'] : config.attention_bias ? ['q_proj', 'k_proj', 'v_proj', 'o_proj'] : [];
  for (let n = 0; n < config.num_hidden_layers; n++) {
    tensors.push({ name: `model.layers.${n}.input_layernorm.weight`, shape: [h] });
    for (const m of linearModules(config)) {
      tensors.push({ name: `${m.path(n)}.weight`, shape: [m.out, m.in] });
      if (biased.includes(m.name)) tensors.push({ name: `${m.path(n)}.bias`, shape: [m.out] });
    }
    if (config.qk_norm) {
      tensors.push({ name: `model.layers.${n}.self_attn.q_norm.weight`, shape: [config.head_dim] });
      tensors.push({ name: `model.layers.${n}.self_attn.k_norm.weight`, shape: [config.head_dim] });
    }
    tensors.push({ name: `model.layers.${n}.post_attention_layernorm.weight`, shape: [h] });
  }
  tensors.push({ name: 'model.norm.weight', shape: [h] });
  tensors.push({ name: 'lm_head.weight', shape: [config.vocab_size, h], optional: config.tie_word_embeddings });
  return tensors;
}

/** Checks that the weights hold every tensor of `config` with the right shape and a float dtype. */
export function checkWeights(config: ModelConfig, weights: WeightStore, dir: string): void {
  const problems: string[] = [];
  let file = join(dir, 'model.safetensors');
  for (const t of expectedTensors(config)) {
    const found = weights.entry(t.name);
    if (!found) {
      if (!t.optional) problems.push(`tensor "${t.name}" is missing`);
      continue;
    }
    file = found.file.path;
    const { entry } = found;
    if (entry.shape.join(',') !== t.shape.join(',')) {
      problems.push(`tensor "${t.name}" in ${found.file.path} has shape [${entry.shape.join(', ')}], config.json implies [${t.shape.join(', ')}]`);
    } else if (entry.dtype !== 'F32' && entry.dtype !== 'F16' && entry.dtype !== 'BF16') {
      problems.push(`tensor "${t.name}" in ${found.file.path} is ${entry.dtype}; supported: F32, F16, BF16`);
    }
  }
  if (problems.length === 0) return;
  const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
  throw new UserError(`the weights do not match config.json: ${shown}`, {
    where: { file: problems.length === 1 && problems[0].includes('missing') ? join(dir, 'model.safetensors') : file },
    fix: 'use the config.json and the safetensors files of the same model (a quantized or partial checkpoint is not supported)',
  });
}

function readJsonObject(file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(`is not valid JSON (${error instanceof Error ? error.message : String(error)})`, { where: { file }, fix: 'fix or download the file again' });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError('must hold a JSON object', { where: { file }, fix: 'fix or download the file again' });
  return value as Record<string, unknown>;
}

function readGeneration(dir: string): GenerationDefaults {
  const file = join(dir, 'generation_config.json');
  if (!existsSync(file)) return {};
  const raw = readJsonObject(file);
  const out: GenerationDefaults = {};
  const eos = raw.eos_token_id;
  if (typeof eos === 'number' || (Array.isArray(eos) && eos.every((e) => typeof e === 'number'))) out.eos_token_id = eos as number | number[];
  for (const key of ['max_new_tokens', 'temperature', 'top_p'] as const) {
    const v = raw[key];
    if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
  }
  return out;
}

/** The one error every command gives for a --model that is not a folder. */
export function requireModelDir(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(`model folder not found: ${dir}`, { fix: 'pass the folder of a Hugging Face model (with config.json, model.safetensors, tokenizer.json)' });
  }
}

/** Loads and checks a model folder (the weights by their headers only; no tensor data is read). */
export function loadModelFolder(dir: string): ModelFolder {
  requireModelDir(dir);
  // Before anything is read: the files below, and the weights (openWeights checks its shards), stay in the folder.
  checkModelFileLinks(dir, ['config.json', 'generation_config.json', ...TOKENIZER_FILES].map((name) => join(dir, name)));
  const configFile = join(dir, 'config.json');
  if (!existsSync(configFile)) throw new UserError('config.json not found', { where: { file: configFile }, fix: 'pass the folder of a Hugging Face model; it must contain config.json' });
  const config = parseHfConfig(readJsonObject(configFile), configFile);
  const weights = openWeights(dir);
  checkWeights(config, weights, dir);
  const tokenizer = loadTokenizer(dir);
  const generation = readGeneration(dir);
  checkTokenizerVocab(dir, { vocab_size: config.vocab_size, bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id, generation_eos: generation.eos_token_id });
  return { dir, config, weights, tokenizer, generation };
}

/** Parameters stored in the weights (all tensors, counted from their shapes). */
export function parameterCount(weights: WeightStore): number {
  let total = 0;
  for (const name of weights.names()) {
    const found = weights.entry(name);
    if (found) total += found.entry.shape.reduce((a, b) => a * b, 1);
  }
  return total;
}

/** The EOS ids generation stops at: config.json's, generation_config.json's and the tokenizer's, merged. */
export function stopTokenIds(folder: ModelFolder): number[] {
  const ids = new Set<number>();
  for (const v of [folder.config.eos_token_id, folder.generation.eos_token_id, folder.tokenizer.eosId]) {
    if (v === undefined) continue;
    for (const id of Array.isArray(v) ? v : [v]) ids.add(id);
  }
  return [...ids];
}
