// AdaLoRA adapters in PEFT's ADALORA format (src/peft/tuners/adalora/model.py _get_adapter_state_dict and
// resize_state_dict_by_rank_pattern): tensors `base_model.model.<module>.lora_A` [r, in], `.lora_B` [out, r] and
// `.lora_E` [r, 1] (ParameterDict entries: no ".weight"; ranknum is not saved), and an adapter_config.json with
// peft_type "ADALORA", AdaLoraConfig's fields and `rank_pattern` {'<module>.lora_E': [kept…]} — when a pattern exists,
// each module's tensors keep only its kept triplets (r = their count), and PEFT resizes the modules to them on load.
// Reading folds Λ into A (A ⊙ E, PEFT's own product) and pads every module to one rank with zero triplets, so an
// AdaLoRA adapter runs and merges as the LoRA W + s/(init_r + 1e-5) · B (A ⊙ E) it is.
import type { AdaLoraSettings } from './adalora-settings';
import { foldE } from './adalora';
import { adaloraScaling } from './adalora-settings';
import { readTensorF32, type SafetensorsFile, type StDType, type TensorToWrite } from './safetensors';
import { UserError } from '../util/errors';

export const peftAdaLoraName = (baseName: string, which: 'A' | 'B' | 'E') => `base_model.model.${baseName}.lora_${which}`;

/** AdaLoraConfig's own fields, as adapter_config.json holds them. */
export function adaloraConfigFields(settings: AdaLoraSettings, rankPattern: Record<string, boolean[]> | null): Record<string, unknown> {
  const { init_r, target_r, tinit, tfinal, deltaT, beta1, beta2, orth_reg_weight, total_step } = settings;
  return { peft_type: 'ADALORA', init_r, target_r, tinit, tfinal, deltaT, beta1, beta2, orth_reg_weight, total_step, rank_pattern: rankPattern };
}

/** The tensors of one module, resized to its kept triplets when a rank pattern exists (PEFT's resize_state_dict_by_rank_pattern). */
export function adaloraTensors(
  target: { baseName: string; in: number; out: number }, r: number, w: { A: Float32Array; B: Float32Array; E: Float32Array },
  keep: boolean[] | undefined, dtype: StDType, encode: (values: Float32Array) => Float32Array | Uint16Array,
): TensorToWrite[] {
  const rows = keep ? keep.flatMap((k, i) => (k ? [i] : [])) : Array.from({ length: r }, (_, i) => i);
  const n = rows.length;
  const A = new Float32Array(n * target.in), B = new Float32Array(target.out * n), E = new Float32Array(n);
  rows.forEach((k, j) => {
    A.set(w.A.subarray(k * target.in, (k + 1) * target.in), j * target.in);
    for (let o = 0; o < target.out; o++) B[o * n + j] = w.B[o * r + k];
    E[j] = w.E[k];
  });
  return [
    { name: peftAdaLoraName(target.baseName, 'A'), dtype, shape: [n, target.in], data: encode(A) },
    { name: peftAdaLoraName(target.baseName, 'B'), dtype, shape: [target.out, n], data: encode(B) },
    { name: peftAdaLoraName(target.baseName, 'E'), dtype, shape: [n, 1], data: encode(E) },
  ];
}

const TENSOR = /^base_model\.model\.(.+)\.lora_([ABE])(?:\.default)?$/;

/**
 * An ADALORA adapter's modules as LoRA: A' = A ⊙ E and B zero-padded to one rank R (the largest kept rank), with the
 * scaling s / (init_r + 1e-5). Checks each module's rank against rank_pattern (or init_r without one).
 */
export function readAdaLoraAdapter(file: SafetensorsFile, config: Record<string, unknown>, weightsPath: string): {
  r: number; scaling: number; weights: Map<string, { A: Float32Array; B: Float32Array; r: number; in: number; out: number }>;
} {
  const initR = config.init_r;
  if (typeof initR !== 'number' || !Number.isInteger(initR) || initR < 1) throw new UserError(`an ADALORA adapter_config.json needs init_r (a positive integer), got ${JSON.stringify(initR)}`, { where: { file: weightsPath, field: 'init_r' } });
  const pattern = (config.rank_pattern ?? null) as Record<string, boolean[]> | null;
  const parts = new Map<string, { A?: string; B?: string; E?: string }>();
  for (const name of file.entries.keys()) {
    const match = TENSOR.exec(name);
    if (!match) throw new UserError(`unexpected tensor ${name} in an AdaLoRA adapter`, { where: { file: weightsPath }, fix: 'only lora_A/lora_B/lora_E tensors are supported (no modules_to_save or embeddings)' });
    parts.set(match[1], { ...parts.get(match[1]), [match[2]]: name });
  }
  const modules: { baseName: string; rank: number; inF: number; outF: number; A: Float32Array; B: Float32Array; E: Float32Array }[] = [];
  for (const [baseName, { A, B, E }] of parts) {
    if (!A || !B || !E) throw new UserError(`${baseName} lacks ${['A', 'B', 'E'].filter((w) => !{ A, B, E }[w as 'A']).map((w) => `lora_${w}`).join(', ')}`, { where: { file: weightsPath }, fix: 'the AdaLoRA adapter is incomplete; save it again' });
    const [rank, inF] = file.entries.get(A)!.shape, [outF, rB] = file.entries.get(B)!.shape, shapeE = file.entries.get(E)!.shape;
    const keep = pattern?.[`${baseName}.lora_E`];
    const expected = keep ? keep.filter(Boolean).length : initR;
    if (rank !== expected || rB !== expected || shapeE[0] !== expected || (shapeE[1] ?? 1) !== 1) {
      throw new UserError(`${baseName}: lora_A/lora_B/lora_E have ranks ${rank}/${rB}/${shapeE[0]}, expected ${expected} (${keep ? 'kept in rank_pattern' : 'init_r'})`, { where: { file: weightsPath } });
    }
    modules.push({ baseName, rank, inF, outF, A: readTensorF32(file, A), B: readTensorF32(file, B), E: readTensorF32(file, E) });
  }
  const R = Math.max(1, ...modules.map((m) => m.rank));
  const weights = new Map<string, { A: Float32Array; B: Float32Array; r: number; in: number; out: number }>();
  for (const m of modules) {
    const A = new Float32Array(R * m.inF), B = new Float32Array(m.outF * R);
    A.set(foldE(m.A, m.E, m.rank, m.inF));
    for (let o = 0; o < m.outF; o++) for (let k = 0; k < m.rank; k++) B[o * R + k] = m.B[o * m.rank + k];
    weights.set(m.baseName, { A, B, r: R, in: m.inF, out: m.outF });
  }
  return { r: R, scaling: adaloraScaling(config.lora_alpha as number, initR), weights };
}
