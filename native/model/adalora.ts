// AdaLoRA (Zhang et al. 2023, "Adaptive Budget Allocation for Parameter-Efficient Fine-Tuning"), as PEFT computes it
// (src/peft/tuners/adalora/layer.py SVDLinear and RankAllocator, model.py AdaLoraModel): each adapted linear has
// P = lora_B [out, r], Λ = lora_E [r, 1] and Q = lora_A [r, in] (r = init_r) and computes
//   y = x Wᵀ + b + (dropout(x) (A ⊙ E)ᵀ Bᵀ) · s / (ranknum + 1e-5),   s = lora_alpha (r when lora_alpha ≤ 0), ranknum = init_r,
// the loss gains orth_reg_weight · mean over every A and every B of ‖A Aᵀ − I‖_F and ‖Bᵀ B − I‖_F (PEFT's torch.norm,
// not squared), and after each optimizer step the allocator (rankAllocatorStep below, on the host) smooths the
// importance |p · ∂L/∂p| of every entry (sensitivity EMA β₁, uncertainty EMA β₂), scores each triplet (E_i, A_i·, B_·i)
// and zeroes the Λ entries below the budget of a cubic schedule. On disk: PEFT's ADALORA format (adalora-io.ts).
// Pure (no Node imports): the training panel's estimate counts the parameters with adaloraParameterCount.
import type { GraphSink } from '../engine/graph';
import { mulberry32 } from '../util/random';

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
export function initAdaLora(targets: readonly { baseName: string; in: number; out: number }[], r: number, seed: number): Map<string, { A: Float32Array; B: Float32Array; E: Float32Array }> {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const out = new Map<string, { A: Float32Array; B: Float32Array; E: Float32Array }>();
  for (const t of targets) {
    const A = new Float32Array(r * t.in).map(() => 0.02 * normal());
    const B = new Float32Array(t.out * r).map(() => 0.02 * normal());
    out.set(t.baseName, { A, B, E: new Float32Array(r) });
  }
  return out;
}

/**
 * x' (A ⊙ E)ᵀ Bᵀ · scaling in the graph (x' [N, in] the dropped-out input, A [r, in], E [r, 1], B [out, r]). The
 * scaling is a compute-dtype constant, not Gemm's float32 alpha: α/(r + 1e-5) is not exact in float32.
 */
export function svdDelta<V>(g: GraphSink<V>, xd: V, A: V, E: V, B: V, scaling: number): V {
  const down = g.op('Gemm', [xd, g.op('Mul', [A, E])], { transB: 1 });
  return g.op('Mul', [g.op('Gemm', [down, B], { transB: 1 }), g.constant([scaling], [])]);
}

/** PEFT's orthogonal regularization: mean over the A's and B's of ‖A Aᵀ − I‖_F, ‖Bᵀ B − I‖_F (not squared), times weight. */
export function orthRegularization<V>(g: GraphSink<V>, pairs: readonly { A: V; B: V }[], r: number, weight: number): V {
  const eye = new Float64Array(r * r);
  for (let i = 0; i < r; i++) eye[i * r + i] = 1;
  const I = g.constant(eye, [r, r]);
  const fro = (cov: V) => {
    const d = g.op('Sub', [cov, I]);
    return g.op('Sqrt', [g.op('ReduceSum', [g.op('Mul', [d, d])], { keepdims: 0 })]);
  };
  let sum: V | undefined;
  for (const { A, B } of pairs) {
    for (const term of [fro(g.op('Gemm', [A, A], { transB: 1 })), fro(g.op('MatMul', [g.op('Transpose', [B], { perm: [1, 0] }), B]))]) sum = sum === undefined ? term : g.op('Add', [sum, term]);
  }
  return g.op('Mul', [sum!, g.constant([weight / (2 * pairs.length)], [])]);
}

/** A Λ entry per row folded into A: the LoRA-equivalent A' = A ⊙ E [r, in] (PEFT computes lora_A * lora_E so too). */
export function foldE(A: Float32Array, E: Float32Array, r: number, inF: number): Float32Array {
  const out = new Float32Array(r * inF);
  for (let k = 0; k < r; k++) for (let i = 0; i < inF; i++) out[k * inF + i] = Math.fround(A[k * inF + i] * E[k]);
  return out;
}

/** The AdaLoRA settings of a run: its fields or PEFT's defaults; total_step defaults to the run's optimizer steps. */
export function resolveAdaLora(config: Partial<Omit<AdaLoraSettings, 'total_step'>> & { total_step?: number }, runSteps: number): AdaLoraSettings {
  const d = ADALORA_DEFAULTS;
  return {
    init_r: config.init_r ?? d.init_r, target_r: config.target_r ?? d.target_r, tinit: config.tinit ?? d.tinit, tfinal: config.tfinal ?? d.tfinal,
    deltaT: config.deltaT ?? d.deltaT, beta1: config.beta1 ?? d.beta1, beta2: config.beta2 ?? d.beta2, orth_reg_weight: config.orth_reg_weight ?? d.orth_reg_weight,
    total_step: config.total_step ?? runSteps,
  };
}
