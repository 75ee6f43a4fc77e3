// LoRAHub composition (Huang et al. 2023, "LoraHub: Efficient Cross-Task Generalization via Dynamic LoRA
// Composition", eq. 1): N LoRA modules of one base model become one, element-wise — A = Σ wᵢAᵢ, B = Σ wᵢBᵢ — not the
// sum of their deltas Σ wᵢBᵢAᵢ, so the result is again a rank-r LoRA that PEFT, vLLM and merge read unchanged.
// The adapters must adapt the same modules with the same r on the same architecture; each problem names the adapter.
import { UserError } from '../util/errors';
import { ADAPTER_WEIGHTS } from './peft-io';
import { loadAdapterForDecoding } from './generate';
import { matchTargets, type LoraTarget } from './lora';
import type { ModelFolder } from './model-folder';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One source adapter, its B already multiplied by its own scaling over the composition's (see loadHubAdapters). */
export interface HubAdapter {
  dir: string;
  r: number;
  lora_alpha: number;
  use_rslora: boolean;
  baseModel: string | null;
  /** baseName → A [r, in], B [out, r] (B in the composition's scaling). */
  modules: Map<string, { A: Float32Array; B: Float32Array }>;
}

export interface Hub {
  adapters: HubAdapter[];
  /** The adapted modules, in the model's order (what the graph and adapter_config.json need). */
  targets: LoraTarget[];
  r: number;
  /** The composed adapter's lora_alpha / use_rslora and scaling: the first adapter's. */
  lora_alpha: number;
  use_rslora: boolean;
  scaling: number;
}

const listed = (names: string[]) => names.slice(0, 3).join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '');

/**
 * Reads and checks the adapters against the model and each other. An adapter whose scaling differs from the first's
 * (another lora_alpha, or rsLoRA) has its B multiplied by sᵢ / s₀, so a one-hot weight reproduces that adapter exactly.
 */
export function loadHubAdapters(dirs: readonly string[], model: ModelFolder): Hub {
  if (dirs.length < 2) {
    throw new UserError(`compose needs at least two adapters, got ${dirs.length}`, { where: { field: 'adapters' }, fix: 'pass --adapters DIR1,DIR2[,…]' });
  }
  const linear = new Map(matchTargets(model.config, 'all-linear').targets.map((t) => [t.baseName, t]));
  const read = dirs.map((dir) => {
    const lora = loadAdapterForDecoding(dir, model.weights); // checks every module against the model's weights
    const file = join(dir, ADAPTER_WEIGHTS);
    if (lora.dora) {
      throw new UserError('a DoRA adapter (use_dora: true) cannot be composed: its magnitudes do not combine element-wise', {
        where: { file: join(dir, 'adapter_config.json'), field: 'use_dora' }, fix: 'compose plain LoRA adapters, or merge this one first',
      });
    }
    const foreign = [...lora.weights.keys()].filter((name) => !linear.has(name));
    if (foreign.length > 0) {
      throw new UserError(`the adapter adapts ${listed(foreign)}, which ${model.config.architecture} has no LoRA site for`, {
        where: { file }, fix: 'compose adapters of the decoder\'s linear layers (q_proj … down_proj)',
      });
    }
    return { dir, lora, config: readConfigNumbers(dir) };
  });
  const [first] = read;
  const names = [...first.lora.weights.keys()];
  for (const other of read.slice(1)) {
    if (other.lora.r !== first.lora.r) {
      throw new UserError(`the adapter has r=${other.lora.r}, but ${first.dir} has r=${first.lora.r}: element-wise composition needs one rank`, {
        where: { file: join(other.dir, 'adapter_config.json'), field: 'r' }, fix: 'compose adapters trained with the same --r',
      });
    }
    const missing = names.filter((n) => !other.lora.weights.has(n));
    const extra = [...other.lora.weights.keys()].filter((n) => !first.lora.weights.has(n));
    if (missing.length > 0 || extra.length > 0) {
      const parts = [missing.length > 0 ? `lacks ${listed(missing)}` : '', extra.length > 0 ? `adds ${listed(extra)}` : ''].filter(Boolean);
      throw new UserError(`the adapter's modules differ from ${first.dir}'s: it ${parts.join(' and ')}`, {
        where: { file: join(other.dir, ADAPTER_WEIGHTS) }, fix: 'compose adapters trained with the same target_modules',
      });
    }
  }
  const scaling = first.lora.scaling;
  const adapters = read.map(({ dir, lora, config }): HubAdapter => {
    const ratio = lora.scaling / scaling;
    const modules = new Map([...lora.weights].map(([name, t]) => [name, { A: t.A, B: ratio === 1 ? t.B : t.B.map((v) => v * ratio) }]));
    return { dir, r: lora.r, lora_alpha: config.lora_alpha, use_rslora: config.use_rslora, baseModel: config.baseModel, modules };
  });
  const targets = [...linear.values()].filter((t) => first.lora.weights.has(t.baseName));
  return { adapters, targets, r: first.lora.r, lora_alpha: read[0].config.lora_alpha, use_rslora: read[0].config.use_rslora, scaling };
}

/** lora_alpha, use_rslora and base_model_name_or_path as readPeftAdapter resolved them (recorded in lorahub.json). */
function readConfigNumbers(dir: string): { lora_alpha: number; use_rslora: boolean; baseModel: string | null } {
  // loadAdapterForDecoding already parsed and checked the file; this re-read only picks the descriptive fields.
  const raw = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  return {
    lora_alpha: typeof raw.lora_alpha === 'number' ? raw.lora_alpha : 8,
    use_rslora: raw.use_rslora === true,
    baseModel: typeof raw.base_model_name_or_path === 'string' ? raw.base_model_name_or_path : null,
  };
}

/** A = Σ wᵢAᵢ and B = Σ wᵢBᵢ for every module (float32, as the graph takes them). */
export function composeLora(adapters: readonly Pick<HubAdapter, 'modules'>[], weights: readonly number[]): Map<string, { A: Float32Array; B: Float32Array }> {
  if (weights.length !== adapters.length) throw new Error(`${weights.length} weights for ${adapters.length} adapters`);
  const out = new Map<string, { A: Float32Array; B: Float32Array }>();
  for (const name of adapters[0].modules.keys()) {
    const first = adapters[0].modules.get(name)!;
    const A = new Float32Array(first.A.length), B = new Float32Array(first.B.length);
    adapters.forEach((adapter, i) => {
      const w = weights[i];
      if (w === 0) return;
      const m = adapter.modules.get(name)!;
      for (let k = 0; k < A.length; k++) A[k] += w * m.A[k];
      for (let k = 0; k < B.length; k++) B[k] += w * m.B[k];
    });
    out.set(name, { A, B });
  }
  return out;
}

/**
 * The sign that reads naturally. Element-wise composition is blind to a global sign: (Σ −wᵢBᵢ)(Σ −wᵢAᵢ) =
 * (Σ wᵢBᵢ)(Σ wᵢAᵢ), so w and −w are the same adapter (same ΔW, same loss, same L1) and a search may land on either.
 * Flipped so the weight of largest magnitude is positive: the adapter that matters most shows up with a plus.
 */
export function canonicalSign(weights: readonly number[]): number[] {
  const largest = weights.reduce((m, w) => (Math.abs(w) > Math.abs(m) ? w : m), 0);
  return largest < 0 ? weights.map((w) => -w) : [...weights];
}
