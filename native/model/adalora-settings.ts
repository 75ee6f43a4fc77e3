// AdaLoRA's settings as PEFT's AdaLoraConfig names them, their defaults, the branch scaling and the trainable-parameter
// count: the parts of AdaLoRA the config validation, the estimate and the panel need, without the graph (adalora.ts),
// so the extension host never reaches the engine.
export const adaloraEName = (baseName: string) => `${baseName}.lora_E`;

/** PEFT's AdaLoraConfig fields, resolved (total_step known). */
export interface AdaLoraSettings {
  init_r: number;
  target_r: number;
  tinit: number;
  tfinal: number;
  deltaT: number;
  beta1: number;
  beta2: number;
  orth_reg_weight: number;
  total_step: number;
}

/** PEFT's AdaLoraConfig defaults (total_step has none: PEFT requires it; a run uses its own step count). */
export const ADALORA_DEFAULTS = { init_r: 12, target_r: 8, tinit: 0, tfinal: 0, deltaT: 1, beta1: 0.85, beta2: 0.85, orth_reg_weight: 0.5 } as const;

/** The multiplier of the adapted branch: s / (ranknum + 1e-5), ranknum = init_r (kept after pruning, as PEFT). */
export function adaloraScaling(loraAlpha: number, initR: number): number {
  return (loraAlpha > 0 ? loraAlpha : initR) / (initR + 1e-5);
}

/** Trainable parameters: r · (in + out + 1) per adapted module (A, B and Λ). */
export function adaloraParameterCount(targets: readonly { in: number; out: number }[], r: number): number {
  return targets.reduce((sum, t) => sum + r * (t.in + t.out + 1), 0);
}

/**
 * PEFT's reset_lora_parameters: E = 0 (the run starts at the base model), A and B ~ N(0, 0.02²) — seeded (Box–Muller
 * on mulberry32), so a run is reproducible.
 */

/** The AdaLoRA settings of a run: its fields or PEFT's defaults; total_step defaults to the run's optimizer steps. */
export function resolveAdaLora(config: Partial<Omit<AdaLoraSettings, 'total_step'>> & { total_step?: number }, runSteps: number): AdaLoraSettings {
  const d = ADALORA_DEFAULTS;
  return {
    init_r: config.init_r ?? d.init_r, target_r: config.target_r ?? d.target_r, tinit: config.tinit ?? d.tinit, tfinal: config.tfinal ?? d.tfinal,
    deltaT: config.deltaT ?? d.deltaT, beta1: config.beta1 ?? d.beta1, beta2: config.beta2 ?? d.beta2, orth_reg_weight: config.orth_reg_weight ?? d.orth_reg_weight,
    total_step: config.total_step ?? runSteps,
  };
}
