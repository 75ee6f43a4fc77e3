// LoRA targets and scaling, with PEFT's rules: `target_modules` entries match a module whose full name equals the
// entry or ends with "." + entry; 'all-linear' is every linear layer of the decoder except the output head.
// Scaling is alpha / r, or alpha / √r with rsLoRA (Kalajdzievski 2023).
// Pure (no Node imports, none transitively): the training panel's webview bundles this file, so its target toggles
// and estimates resolve targets with the very rule training uses.
import type { ModelConfig } from './hf-config';
import { linearModules } from './linear-modules';
import { UserError } from '../util/errors';
import { mulberry32 } from '../util/random';

export interface LoraTarget {
  /** Short module name, e.g. 'q_proj'. */
  module: string;
  layer: number;
  /** Full module path, e.g. 'model.layers.0.self_attn.q_proj'. */
  baseName: string;
  in: number;
  out: number;
}

/** PEFT's match: the full name equals the entry, or ends with "." + entry (so 'proj' matches nothing). */
export function selects(baseName: string, key: string): boolean {
  return baseName === key || baseName.endsWith(`.${key}`);
}

/**
 * The targets a target_modules value selects, in the model's order, and the entries that select nothing; it never
 * throws, so a form can show both while the user types (resolveTargets is the same rule, refusing unknown entries).
 */
export function matchTargets(config: ModelConfig, targetModules: string[] | 'all-linear'): { targets: LoraTarget[]; unknown: string[] } {
  const modules = linearModules(config);
  const all: LoraTarget[] = [];
  for (let layer = 0; layer < config.num_hidden_layers; layer += 1) {
    for (const m of modules) all.push({ module: m.name, layer, baseName: m.path(layer), in: m.in, out: m.out });
  }
  if (targetModules === 'all-linear') return { targets: all, unknown: [] };
  return {
    targets: all.filter((t) => targetModules.some((key) => selects(t.baseName, key))),
    unknown: targetModules.filter((key) => !all.some((t) => selects(t.baseName, key))),
  };
}

export function resolveTargets(config: ModelConfig, targetModules: string[] | 'all-linear'): LoraTarget[] {
  const { targets, unknown } = matchTargets(config, targetModules);
  if (unknown.length > 0) {
    throw new UserError(`target module${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} not in this ${config.architecture}`, {
      where: { field: 'target_modules' },
      fix: `choose from: ${linearModules(config).map((m) => m.name).join(', ')} (or all-linear)`,
    });
  }
  return targets;
}

export function loraScaling(r: number, alpha: number, useRslora: boolean): number {
  return useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

/** Trainable parameters: r · (in + out) per adapted module. */
export function loraParameterCount(targets: readonly LoraTarget[], r: number): number {
  return targets.reduce((sum, t) => sum + r * (t.in + t.out), 0);
}

/** The short module names of the targets, in the model's order (what adapter_config.json lists). */
export function targetModuleNames(targets: readonly LoraTarget[]): string[] {
  return [...new Set(targets.map((t) => t.module))];
}

/**
 * PEFT's init: A = kaiming_uniform_(a=√5) as torch computes it (gain = √(2/(1+a²)), bound = gain·√(3/fan_in), which
 * is 1/√in), B = zeros so training starts exactly at the base model. Seeded, so a run is reproducible.
 */
export function initLora(targets: readonly Pick<LoraTarget, 'baseName' | 'in' | 'out'>[], r: number, seed: number): Map<string, { A: Float32Array; B: Float32Array }> {
  const random = mulberry32(seed);
  const a = Math.sqrt(5);
  const gain = Math.sqrt(2 / (1 + a * a));
  const out = new Map<string, { A: Float32Array; B: Float32Array }>();
  for (const t of targets) {
    const bound = gain * Math.sqrt(3 / t.in);
    const A = new Float32Array(r * t.in);
    for (let i = 0; i < A.length; i += 1) A[i] = (2 * random() - 1) * bound;
    out.set(t.baseName, { A, B: new Float32Array(t.out * r) });
  }
  return out;
}
