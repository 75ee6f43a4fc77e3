// AdaLoRA (Zhang et al. 2023, "Adaptive Budget Allocation for Parameter-Efficient Fine-Tuning"), as PEFT computes it
// (src/peft/tuners/adalora/layer.py SVDLinear and RankAllocator, model.py AdaLoraModel): each adapted linear has
// P = lora_B [out, r], Λ = lora_E [r, 1] and Q = lora_A [r, in] (r = init_r) and computes
//   y = x Wᵀ + b + (dropout(x) (A ⊙ E)ᵀ Bᵀ) · s / (ranknum + 1e-5),   s = lora_alpha (r when lora_alpha ≤ 0), ranknum = init_r,
// the loss gains orth_reg_weight · mean over every A and every B of ‖A Aᵀ − I‖_F and ‖Bᵀ B − I‖_F (PEFT's torch.norm,
// not squared), and after each optimizer step the allocator (rankAllocatorStep below, on the host) smooths the
// importance |p · ∂L/∂p| of every entry (sensitivity EMA β₁, uncertainty EMA β₂), scores each triplet (E_i, A_i·, B_·i)
// and zeroes the Λ entries below the budget of a cubic schedule. On disk: PEFT's ADALORA format (adalora-io.ts).
// The settings, defaults and parameter count (no engine types, for the extension host and the panel) are in
// adalora-settings.ts.
import type { GraphSink } from '../engine/graph';
import { mulberry32 } from '../util/random';

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
