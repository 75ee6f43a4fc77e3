// DoRA (Liu et al. 2024, "DoRA: Weight-Decomposed Low-Rank Adaptation"), as PEFT computes it
// (src/peft/tuners/lora/dora.py DoraLinearLayer, variants.py DoraLinearVariant): a trainable magnitude m [out] per
// adapted linear, initialized to the row norms ‖W‖_row (the L2 norm of each output row over the input dimension), and
//   y = x Wᵀ + b + (m/‖W + s·B·A‖_row − 1) ⊙ (x' Wᵀ) + (m/‖W + s·B·A‖_row) ⊙ s·(x' Aᵀ Bᵀ),
// x' the LoRA-dropped-out input (x itself without dropout, where this is (m/‖·‖) ⊙ (x Wᵀ + s·x Aᵀ Bᵀ) + b). The norm is
// detached from the gradient (paper §4.3, PEFT's `weight_norm.detach()`). Merging gives W' = (m/‖W + s·B·A‖_row) ⊙
// (W + s·B·A). On disk, m is PEFT's `base_model.model.<module>.lora_magnitude_vector` [out] (no ".weight": PEFT's
// LoraModel._get_adapter_state_dict strips it) and adapter_config.json says `use_dora: true`.
// Pure (no Node imports): the training panel's estimate counts the magnitudes with doraParameterCount.
import type { GraphSink } from '../engine/graph';

export const doraMagnitudeName = (baseName: string) => `${baseName}.lora_magnitude_vector`;

/** The magnitudes DoRA adds to LoRA's trainable parameters: one per output feature of each adapted module. */
export function doraParameterCount(targets: readonly { out: number }[]): number {
  return targets.reduce((sum, t) => sum + t.out, 0);
}

/**
 * ‖W + s·B·A‖_row [out] in the graph (W [out, in], A [r, in], B [out, r]), detached: PEFT's get_weight_norm with
 * `lora_weight.detach()` and the result detached, so no gradient reaches A, B or W through it.
 */
export function doraWeightNorm<V>(g: GraphSink<V>, W: V, A: V, B: V, scaling: number): V {
  const adapted = g.op('Gemm', [B, A, W], { alpha: scaling, beta: 1 });
  const sumSq = g.op('ReduceSum', [g.op('Mul', [adapted, adapted]), g.constInt([1])], { keepdims: 0 });
  return g.stopGradient(g.op('Sqrt', [sumSq]));
}

/**
 * The DoRA output of an adapted linear (PEFT's DoraLinearVariant.forward + DoraLinearLayer.forward): `base` is x Wᵀ + b,
 * `baseResult` is x' Wᵀ without the bias (x' the dropped-out input; x Wᵀ itself without dropout), `loraResult` is
 * s·x' Aᵀ Bᵀ, `magnitude` m [out], `norm` the detached ‖W + s·B·A‖_row [out].
 */
export function doraOutput<V>(g: GraphSink<V>, base: V, baseResult: V, loraResult: V, magnitude: V, norm: V): V {
  const scale = g.op('Div', [magnitude, norm]);
  const correction = g.op('Mul', [g.op('Sub', [scale, g.constant([1], [])]), baseResult]);
  return g.op('Add', [base, g.op('Add', [correction, g.op('Mul', [scale, loraResult])])]);
}

/** ‖W‖_row [out] of W [out, in] (float64 sums, rounded to float32): DoRA's initial magnitude, as PEFT's update_layer. */
export function rowNorms(W: ArrayLike<number>, outF: number, inF: number): Float32Array {
  const norms = new Float32Array(outF);
  for (let o = 0; o < outF; o++) {
    let sum = 0;
    for (let i = o * inF, end = i + inF; i < end; i++) sum += W[i] * W[i];
    norms[o] = Math.sqrt(sum);
  }
  return norms;
}

/**
 * W [out, in] ← (m / ‖W + s·B·A‖_row) ⊙ (W + s·B·A) in place (PEFT's DoraLinearVariant.merge_safe), each row in float64
 * and rounded to float32 once.
 */
export function mergeDora(weight: Float32Array, A: Float32Array, B: Float32Array, m: Float32Array, r: number, inF: number, outF: number, scaling: number): void {
  const row = new Float64Array(inF);
  for (let o = 0; o < outF; o++) {
    const wRow = o * inF;
    for (let i = 0; i < inF; i++) row[i] = weight[wRow + i];
    for (let k = 0; k < r; k++) {
      const b = scaling * B[o * r + k];
      if (b === 0) continue;
      const aRow = k * inF;
      for (let i = 0; i < inF; i++) row[i] += b * A[aRow + i];
    }
    let sum = 0;
    for (let i = 0; i < inF; i++) sum += row[i] * row[i];
    const factor = m[o] / Math.sqrt(sum);
    for (let i = 0; i < inF; i++) weight[wRow + i] = Math.fround(factor * row[i]);
  }
}
