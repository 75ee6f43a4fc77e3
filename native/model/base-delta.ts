// A frozen low-rank term on the base weight: each adapted linear computes x·(W + s·B_d·A_d)ᵀ with A_d [R, in] and
// B_d [out, R] graph inputs (not trainable), so the base a method trains against is changed without rewriting the
// user's model files. PiSSA and OLoRA hold A_d = A₀, B_d = −B₀ (the residual W − s·B₀A₀, native/model/svd-init.ts);
// ReLoRA holds its merged cycles, Bs side by side and As stacked (native/train/relora.ts). The trained adapter plus
// this term is one plain LoRA of rank r + R on the original base, with lora_alpha chosen so the scaling is unchanged:
// that is what is saved (PEFT's path_initial_model_for_weight_conversion for PiSSA: r → 2r, lora_alpha → 2α, or √2·α
// with rsLoRA).
import type { GraphSink } from '../engine/graph';

export const baseDeltaAName = (baseName: string) => `${baseName}.base_delta_A`;
export const baseDeltaBName = (baseName: string) => `${baseName}.base_delta_B`;

/** s · (x A_dᵀ) B_dᵀ: the frozen term's contribution for x [N, in]. */
export function baseDeltaTerm<V>(g: GraphSink<V>, x: V, baseName: string, rank: number, inF: number, outF: number, scaling: number): V {
  const A = g.input(baseDeltaAName(baseName), 'float', [rank, inF]);
  const B = g.input(baseDeltaBName(baseName), 'float', [outF, rank]);
  return g.op('Gemm', [g.op('Gemm', [x, A], { transB: 1 }), B], { transB: 1, alpha: scaling });
}

export interface LowRank {
  /** A [rank, in], B [out, rank]. */
  A: Float32Array;
  B: Float32Array;
  rank: number;
}

/** [first | second]: A's rows stacked (first's on top), B's columns side by side — the sum of both products. */
export function concatLowRank(first: LowRank, second: LowRank, inF: number, outF: number): LowRank {
  const rank = first.rank + second.rank;
  const A = new Float32Array(rank * inF);
  A.set(first.A.subarray(0, first.rank * inF), 0);
  A.set(second.A.subarray(0, second.rank * inF), first.rank * inF);
  const B = new Float32Array(outF * rank);
  for (let o = 0; o < outF; o++) {
    B.set(first.B.subarray(o * first.rank, (o + 1) * first.rank), o * rank);
    B.set(second.B.subarray(o * second.rank, (o + 1) * second.rank), o * rank + first.rank);
  }
  return { A, B, rank };
}

/**
 * lora_alpha for rank `rank` with the scaling of (r, alpha): alpha·rank/r, or alpha·√(rank/r) with rsLoRA (PEFT's
 * save_pretrained doubles r and sets lora_alpha *= 2, or *= 2**0.5 with use_rslora).
 */
export function alphaForRank(alpha: number, r: number, rank: number, useRslora: boolean): number {
  if (rank === r) return alpha;
  return useRslora ? alpha * Math.sqrt(rank / r) : (alpha * rank) / r;
}
