// A PEFT LoRA adapter folder (a run folder is one) → a GGUF LoRA adapter llama.cpp applies on top of the base GGUF,
// as convert_lora_to_gguf.py writes it: general.type "adapter", adapter.type "lora", adapter.lora.alpha, and per adapted
// weight "<gguf name>.lora_a" (PEFT lora_A [r, in], not transposed) and ".lora_b" (lora_B [out, r]), lora_b's rows
// permuted like the base weight's for Llama-style q/k (the converter permutes the LoRA tensor as the weight).
//
// Scaling: llama.cpp computes alpha / r per tensor, r read from lora_a's shape (llama-adapter.cpp). Where PEFT's
// scaling differs — rsLoRA's alpha / sqrt(r), AdaLoRA's per-module ranks — the ratio is folded into lora_b, so the
// adapter's effect in llama.cpp is exactly scaling · B·A. DoRA cannot be expressed (llama.cpp adds B·A, it does not
// renormalise rows by a magnitude), so it is refused with the way out: merge, then export the model.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { UserError } from '../util/errors';
import { parseHfConfig, type ModelConfig } from '../model/hf-config';
import { ADAPTER_CONFIG, readPeftAdapter } from '../model/peft-io';
import { GGUF_ARCH, ggufTensorName, permuteHeads, qkRowOrder } from './gguf-names';
import { encodeTensor } from './gguf-quant';
import { GgufMetadata, writeGguf, type GgufTensor, type WriteGgufOptions } from './gguf-writer';

export interface GgufAdapterExport extends WriteGgufOptions {
  adapterDir: string;
  /** The base model folder (for its architecture and head counts); default: base_model_name_or_path when it is a local folder. */
  modelDir?: string;
  outFile: string;
}

export interface GgufAdapterResult {
  tensors: number;
  bytes: number;
  /** The base model folder used. */
  modelDir: string;
  notes: string[];
}

/** The base model folder of an adapter: --model, else adapter_config.json's base_model_name_or_path if it is a folder here. */
export function adapterBaseDir(adapterDir: string, modelDir: string | undefined): string {
  if (modelDir) return modelDir;
  const configPath = join(adapterDir, ADAPTER_CONFIG);
  const base = existsSync(configPath) ? (JSON.parse(readFileSync(configPath, 'utf8')) as { base_model_name_or_path?: unknown }).base_model_name_or_path : undefined;
  if (typeof base === 'string' && isAbsolute(base) && existsSync(join(base, 'config.json')) && statSync(base).isDirectory()) return base;
  throw new UserError(`the adapter's base model is ${typeof base === 'string' ? `"${base}", not a model folder on this machine` : 'not named in adapter_config.json'}`, {
    where: { file: configPath, field: 'base_model_name_or_path' }, fix: 'pass --model BASE_MODEL_DIR (the Hugging Face folder the adapter was trained on)',
  });
}

function readBaseConfig(modelDir: string): ModelConfig {
  const file = join(modelDir, 'config.json');
  if (!existsSync(file)) throw new UserError('config.json not found', { where: { file }, fix: 'pass --model with the base model folder of the adapter' });
  return parseHfConfig(JSON.parse(readFileSync(file, 'utf8')), file);
}

/** Writes the GGUF LoRA adapter of a PEFT adapter folder. */
export async function exportGgufAdapter(options: GgufAdapterExport): Promise<GgufAdapterResult> {
  const modelDir = adapterBaseDir(options.adapterDir, options.modelDir);
  const config = readBaseConfig(modelDir);
  const adapter = readPeftAdapter(options.adapterDir);
  const configPath = join(options.adapterDir, ADAPTER_CONFIG);
  if (adapter.config.use_dora) {
    throw new UserError('DoRA adapters cannot be exported as a GGUF LoRA: llama.cpp adds scaling·B·A and has no DoRA magnitude', {
      where: { file: configPath, field: 'use_dora' },
      fix: `merge it into the base model, then export the merged model: lora-studio merge --model ${modelDir} --adapter ${options.adapterDir} --out MERGED && lora-studio export --format gguf --model MERGED --out model.gguf`,
    });
  }
  const notes: string[] = [];
  // alpha as PEFT wrote it; llama.cpp ignores alpha 0 (scale 1), which the folding below accounts for.
  const alpha = adapter.config.lora_alpha > 0 ? adapter.config.lora_alpha : 0;
  const tensors: GgufTensor[] = [];
  let folded = 0;
  for (const [baseName, w] of adapter.weights) {
    const weightName = `${baseName}.weight`;
    const name = ggufTensorName(weightName);
    if (!name) throw new UserError(`${baseName} has no llama.cpp tensor name`, { where: { file: join(options.adapterDir, 'adapter_model.safetensors') }, fix: 'export adapters on the attention and MLP projections only' });
    const llamaCppScale = alpha > 0 ? alpha / w.r : 1;
    const factor = adapter.scaling / llamaCppScale;
    let B = w.B;
    if (Math.abs(factor - 1) > 1e-12) {
      B = Float32Array.from(B, (v) => v * factor);
      folded++;
    }
    const heads = permuteHeads(weightName, config);
    if (heads !== undefined) {
      const order = qkRowOrder(w.out, heads);
      const permuted = new Float32Array(B.length);
      for (let row = 0; row < w.out; row++) permuted.set(B.subarray(order[row] * w.r, (order[row] + 1) * w.r), row * w.r);
      B = permuted;
    }
    const A = w.A;
    const finalB = B;
    tensors.push({ name: `${name}.lora_a`, shape: [w.r, w.in], type: 'F32', data: () => encodeTensor(A, 'F32') });
    tensors.push({ name: `${name}.lora_b`, shape: [w.out, w.r], type: 'F32', data: () => encodeTensor(finalB, 'F32') });
  }
  if (folded > 0) {
    const why = adapter.config.use_rslora ? 'rsLoRA scales by alpha/sqrt(r)' : 'the adapter\'s scaling is not alpha/r';
    notes.push(`note: ${why}, which llama.cpp does not; the difference is folded into lora_b of ${folded} tensor pair(s), so the effect is exact`);
  }
  const meta = new GgufMetadata()
    .string('general.architecture', GGUF_ARCH[config.architecture])
    .string('general.type', 'adapter')
    .string('general.name', basename(options.adapterDir))
    .u32('general.alignment', 32)
    .u32('general.file_type', 0)
    .string('adapter.type', 'lora')
    .f32('adapter.lora.alpha', alpha);
  const bytes = await writeGguf(options.outFile, meta.map, tensors, options);
  return { tensors: tensors.length, bytes, modelDir, notes };
}
