// PEFT adapter files: adapter_config.json and adapter_model.safetensors with PEFT's tensor names
// `base_model.model.<module>.lora_A.weight` [r, in] and `.lora_B.weight` [out, r], plus DoRA's
// `.lora_magnitude_vector` [out] with `use_dora: true` (native/model/dora.ts); AdaLoRA runs as PEFT's ADALORA
// (native/model/adalora-io.ts). Reads adapters PEFT wrote too (ADALORA ones as the LoRA they are).
//
// adapter_config.json holds the keys LoraConfig has had since PEFT 0.6; the later ones (use_rslora 0.8, use_dora 0.9,
// layer_replication 0.10, loftq_config and megatron_* 0.7) only when they differ from PEFT's default. PEFT fills absent
// keys with its defaults (LoraConfig is a dataclass) but refused unknown ones before 0.14 (`LoraConfig(**json)` raised
// TypeError): so a plain adapter loads in PEFT 0.6+, an rsLoRA one in 0.8+, a DoRA one in 0.9+, each where it means
// the same. vLLM and llama.cpp's convert_lora_to_gguf.py read it unchanged. base_model_name_or_path is the Hugging Face
// id when the model folder knows it (hub-id.ts), so the adapter loads on a machine without our folder.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '../protocol';
import { UserError } from '../util/errors';
import { writeJsonAtomic } from '../util/atomic-write';
import { f32ToBf16, f32ToF16, openSafetensors, readTensorF32, writeSafetensors, type TensorToWrite } from './safetensors';
import { selects, targetModuleNames, type LoraTarget } from './lora';
import type { AdaLoraSettings } from './adalora-settings';
import { adaloraConfigFields, adaloraTensors, readAdaLoraAdapter } from './adalora-io';
import { baseModelName } from './hub-id';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

export const peftTensorName = (baseName: string, which: 'A' | 'B') => `base_model.model.${baseName}.lora_${which}.weight`;
/** DoRA's magnitude as PEFT saves it: no ".weight" (LoraModel._get_adapter_state_dict strips it from the module's). */
export const peftMagnitudeName = (baseName: string) => `base_model.model.${baseName}.lora_magnitude_vector`;

export interface PeftAdapterConfig {
  peft_type: 'LORA' | 'ADALORA';
  task_type: string;
  base_model_name_or_path: string | null;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[] | string;
  use_rslora: boolean;
  use_dora: boolean;
  bias: string;
  fan_in_fan_out: boolean;
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  [key: string]: unknown;
}

export interface LoraWeights {
  A: Float32Array;
  B: Float32Array;
  /** DoRA's magnitude [out], when the adapter is a DoRA one. */
  m?: Float32Array;
  /** AdaLoRA's Λ [r] (lora_E), when the run is an AdaLoRA one. */
  E?: Float32Array;
}

type AdapterOptions = Pick<RunConfig, 'r' | 'lora_alpha' | 'lora_dropout' | 'use_rslora' | 'use_dora'>;

/** The adapter_config.json LoRA Studio writes: PEFT 0.6's keys, and the later ones only when not at their default. */
export function peftConfigFor(config: AdapterOptions, baseModel: string, targets: readonly LoraTarget[]): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: config.lora_alpha,
    lora_dropout: config.lora_dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: config.r,
    rank_pattern: {},
    revision: null,
    target_modules: targetModuleNames(targets),
    task_type: 'CAUSAL_LM',
    ...(config.use_dora ? { use_dora: true } : {}),
    ...(config.use_rslora ? { use_rslora: true } : {}),
  };
}

export interface WriteAdapterInput {
  config: AdapterOptions;
  baseModel: string;
  targets: readonly LoraTarget[];
  weights: Map<string, LoraWeights>;
  dtype: RunConfig['save_dtype'];
  /** AdaLoRA: the resolved settings and the rank pattern (null before any allocation); written as PEFT's ADALORA. */
  adalora?: { settings: AdaLoraSettings; rankPattern: Record<string, boolean[]> | null };
}

/** Writes both files atomically (weights first: a folder with a config always has its weights). */
export function writePeftAdapter(dir: string, input: WriteAdapterInput): void {
  const { r } = input.config;
  const stDtype = input.dtype === 'bfloat16' ? 'BF16' : input.dtype === 'float16' ? 'F16' : 'F32';
  const encode = (values: Float32Array) => (stDtype === 'BF16' ? f32ToBf16(values) : stDtype === 'F16' ? f32ToF16(values) : values);
  const tensors: TensorToWrite[] = [];
  const ada = input.adalora;
  for (const target of input.targets) {
    const w = input.weights.get(target.baseName);
    if (!w) throw new Error(`no LoRA weights for ${target.baseName}`);
    if (ada) {
      if (!w.E) throw new Error(`no AdaLoRA lora_E for ${target.baseName}`);
      tensors.push(...adaloraTensors(target, ada.settings.init_r, { A: w.A, B: w.B, E: w.E }, ada.rankPattern?.[`${target.baseName}.lora_E`], stDtype, encode));
      continue;
    }
    tensors.push({ name: peftTensorName(target.baseName, 'A'), dtype: stDtype, shape: [r, target.in], data: encode(w.A) });
    tensors.push({ name: peftTensorName(target.baseName, 'B'), dtype: stDtype, shape: [target.out, r], data: encode(w.B) });
    if (input.config.use_dora) {
      if (!w.m) throw new Error(`no DoRA magnitude for ${target.baseName}`);
      tensors.push({ name: peftMagnitudeName(target.baseName), dtype: stDtype, shape: [target.out], data: encode(w.m) });
    }
  }
  writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors, { format: 'pt' });
  const config = peftConfigFor(input.config, baseModelName(input.baseModel), input.targets);
  writeJsonAtomic(join(dir, ADAPTER_CONFIG), ada ? { ...config, ...adaloraConfigFields(ada.settings, ada.rankPattern) } : config);
}

export interface ReadAdapter {
  config: PeftAdapterConfig;
  /** The rank of every module's A [r, in] and B [out, r] (config.r; an ADALORA adapter's largest kept rank). */
  r: number;
  scaling: number;
  /** baseName → A [r, in], B [out, r] (and DoRA's m [out] when config.use_dora) in float32. */
  weights: Map<string, LoraWeights & { r: number; in: number; out: number }>;
}

const NAME = /^base_model\.model\.(.+)\.lora_([AB])(?:\.default)?\.weight$/;
/** PEFT saves `lora_magnitude_vector`; the in-memory `.default.weight` form is accepted too. */
const MAGNITUDE = /^base_model\.model\.(.+)\.lora_magnitude_vector(?:\.default)?(?:\.weight)?$/;

/** Reads a PEFT LoRA adapter folder; refuses what LoRA Studio cannot apply, saying why. */
export function readPeftAdapter(dir: string): ReadAdapter {
  const configPath = join(dir, ADAPTER_CONFIG);
  if (!existsSync(configPath)) {
    // A LISA run trained the whole model: its output is the model folder <run>/model, with nothing to apply or merge.
    const trained = join(dir, 'model');
    const fix = existsSync(join(trained, 'config.json'))
      ? `this run trained the whole model (LISA): use ${trained} as the model (--model ${trained}), with no adapter`
      : 'choose a folder with a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors)';
    throw new UserError(`${ADAPTER_CONFIG} not found in ${dir}`, { where: { file: dir }, fix });
  }
  let config: PeftAdapterConfig;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8')) as PeftAdapterConfig;
  } catch (error) {
    throw new UserError(`${ADAPTER_CONFIG} is not valid JSON: ${(error as Error).message}`, { where: { file: configPath } });
  }
  const refuse = (field: string, why: string) => {
    throw new UserError(why, { where: { file: configPath, field }, fix: 'LoRA Studio applies plain LoRA adapters; merge this one with PEFT instead' });
  };
  const peftType: unknown = config.peft_type;
  if (peftType === 'PROMPT_TUNING' || peftType === 'PREFIX_TUNING') {
    // Virtual tokens change the input, not a weight: there is nothing to merge (PEFT cannot either).
    throw new UserError(`a ${peftType} adapter has virtual tokens, not weights to merge or compose`, {
      where: { file: configPath, field: 'peft_type' }, fix: 'run it with lora-studio generate --adapter (or Compare); merging applies to LoRA adapters',
    });
  }
  if (config.peft_type !== 'LORA' && config.peft_type !== 'ADALORA') refuse('peft_type', `peft_type ${JSON.stringify(config.peft_type)} is not LORA or ADALORA`);
  if (config.fan_in_fan_out) refuse('fan_in_fan_out', 'fan_in_fan_out adapters (GPT-2 Conv1D layers) are not supported');
  if (config.bias && config.bias !== 'none') refuse('bias', `bias "${config.bias}" adapters carry bias tensors, which are not supported`);
  if ((config.peft_type === 'LORA' && Object.keys(config.rank_pattern ?? {}).length > 0) || Object.keys(config.alpha_pattern ?? {}).length > 0) refuse('rank_pattern', 'per-module rank_pattern/alpha_pattern is not supported yet');
  checkAdapterNumbers(config, configPath);
  // Absent booleans are PEFT's defaults (LoRA Studio writes them only when true).
  config.use_rslora = config.use_rslora === true;
  config.use_dora = config.use_dora === true;
  const weightsPath = join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(weightsPath)) throw new UserError(`${ADAPTER_WEIGHTS} not found in ${dir}`, { where: { file: dir }, fix: 'LoRA Studio reads safetensors adapters; re-save with PEFT (safe_serialization=True)' });
  const file = openSafetensors(weightsPath);
  if (config.peft_type === 'ADALORA') return { config, ...readAdaLoraAdapter(file, config, weightsPath) };
  const parts = new Map<string, { A?: string; B?: string; m?: string }>();
  for (const name of file.entries.keys()) {
    const magnitude = MAGNITUDE.exec(name);
    if (magnitude) {
      if (!config.use_dora) throw new UserError(`${name} is a DoRA magnitude, but ${ADAPTER_CONFIG} does not say use_dora: true`, { where: { file: weightsPath }, fix: 'set "use_dora": true in adapter_config.json, or save the adapter again' });
      parts.set(magnitude[1], { ...parts.get(magnitude[1]), m: name });
      continue;
    }
    const match = NAME.exec(name);
    if (!match) throw new UserError(`unexpected tensor ${name}`, { where: { file: weightsPath }, fix: 'only lora_A/lora_B weights are supported (no modules_to_save or embeddings)' });
    const entry = parts.get(match[1]) ?? {};
    entry[match[2] as 'A' | 'B'] = name;
    parts.set(match[1], entry);
  }
  checkTensorsTargeted(config, [...parts.keys()], configPath);
  const weights: ReadAdapter['weights'] = new Map();
  for (const [baseName, { A, B, m }] of parts) {
    if (!A || !B) throw new UserError(`${baseName} has lora_${A ? 'A' : 'B'} but not lora_${A ? 'B' : 'A'}`, { where: { file: weightsPath }, fix: 'the adapter is incomplete; save it again' });
    const [rA, inF] = file.entries.get(A)!.shape;
    const [outF, rB] = file.entries.get(B)!.shape;
    if (rA !== config.r || rB !== config.r) {
      throw new UserError(`${baseName}: rank ${rA}/${rB} does not match r=${config.r} in ${ADAPTER_CONFIG}`, { where: { file: weightsPath } });
    }
    if (config.use_dora) {
      if (!m) throw new UserError(`${baseName} has no lora_magnitude_vector, but ${ADAPTER_CONFIG} says use_dora: true`, { where: { file: weightsPath }, fix: 'the DoRA adapter is incomplete; save it again' });
      const shape = file.entries.get(m)!.shape;
      if (shape.length !== 1 || shape[0] !== outF) throw new UserError(`${m} has shape [${shape}], expected [${outF}] (one magnitude per output feature)`, { where: { file: weightsPath } });
    }
    weights.set(baseName, { A: readTensorF32(file, A), B: readTensorF32(file, B), ...(m ? { m: readTensorF32(file, m) } : {}), r: config.r, in: inF, out: outF });
  }
  for (const [baseName, tensors] of weights) {
    for (const [part, values] of Object.entries(tensors)) {
      if (!(values instanceof Float32Array)) continue;
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new UserError(`${baseName}: ${part === 'm' ? 'lora_magnitude_vector' : `lora_${part}`} holds ${values[bad]} at element ${bad}`, {
          where: { file: weightsPath }, fix: 'the adapter is broken (a diverged run saves NaN or Infinity); use an earlier checkpoint',
        });
      }
    }
  }
  const scaling = config.use_rslora ? config.lora_alpha / Math.sqrt(config.r) : config.lora_alpha / config.r;
  return { config, r: config.r, scaling, weights };
}

/**
 * The config must name the modules its tensors adapt, as PEFT requires to load it (a list: exact or suffix match; a
 * string other than all-linear is PEFT's regex, left to PEFT). An adapter whose config and tensors disagree was edited
 * or mixed up: applying the tensors anyway would merge what the config says is not there.
 */
function checkTensorsTargeted(config: PeftAdapterConfig, baseNames: readonly string[], configPath: string): void {
  if (!Array.isArray(config.target_modules)) return;
  const keys = config.target_modules;
  const stray = baseNames.find((name) => !keys.some((key) => typeof key === 'string' && selects(name, key)));
  if (stray === undefined) return;
  throw new UserError(`${JSON.stringify(keys)} does not select ${stray}, which the adapter's tensors adapt`, {
    where: { file: configPath, field: 'target_modules' }, fix: 'restore the adapter_config.json saved with these tensors (its target_modules names the adapted modules)',
  });
}

/**
 * r and lora_alpha as PEFT reads them: absent means PEFT's defaults (LoraConfig: r = 8, lora_alpha = 8); present, they
 * must be a whole rank ≥ 1 and a finite alpha, or every merged weight would be NaN.
 */
function checkAdapterNumbers(config: PeftAdapterConfig, configPath: string): void {
  const raw = config as unknown as Record<string, unknown>;
  if (raw.r === undefined) config.r = 8;
  if (raw.lora_alpha === undefined) config.lora_alpha = 8;
  if (typeof config.r !== 'number' || !Number.isInteger(config.r) || config.r < 1) {
    throw new UserError(`r must be a whole number ≥ 1, got ${JSON.stringify(raw.r)}`, { where: { file: configPath, field: 'r' }, fix: 'set r to the rank of the adapter\'s lora_A/lora_B tensors' });
  }
  if (typeof config.lora_alpha !== 'number' || !Number.isFinite(config.lora_alpha) || Math.abs(config.lora_alpha) > 1e6) {
    throw new UserError(`lora_alpha must be a finite number, got ${JSON.stringify(raw.lora_alpha)}`, { where: { file: configPath, field: 'lora_alpha' }, fix: 'set lora_alpha to the value the adapter was trained with (commonly 2 × r)' });
  }
}
