// LoRA initializations from the base weight, as PEFT's LoraLayer (src/peft/tuners/lora/layer.py) computes them:
// PiSSA (Meng et al. 2024): W = V·S·Uᵀ, A = diag(√(S_r/s))·Uᵀ_r, B = V_r·diag(√(S_r/s)) (pissa_init; `pissa_niter_N`
// takes the top r from torch.svd_lowrank with N power iterations instead of a full SVD), and OLoRA (Büyükakyüz 2024):
// W = Q·R, A = R[:r], B = Q[:, :r] (olora_init). Both train against the residual W − s·B₀A₀; LoRA Studio never
// rewrites the base: the graph adds the frozen term s·x·A₀ᵀ·(−B₀)ᵀ (native/model/base-delta.ts), and the saved
// adapter is PEFT's conversion for the original base (path_initial_model_for_weight_conversion).
// Pure (no Node imports): the panel and the CLI validate init_lora_weights with parseLoraInit.
import { householderQr, truncatedSvd } from './linalg';

/** PEFT's init_lora_weights values LoRA Studio trains: true (Kaiming A, zero B), PiSSA and OLoRA. */
export type LoraInitName = true | 'pissa' | `pissa_niter_${number}` | 'olora';

export type LoraInitKind = { kind: 'default' } | { kind: 'pissa'; niter?: number } | { kind: 'olora' };

/** The init a config value names, or undefined for a value LoRA Studio does not know. */
export function parseLoraInit(value: unknown): LoraInitKind | undefined {
  if (value === undefined || value === true) return { kind: 'default' };
  if (value === 'pissa') return { kind: 'pissa' };
  if (value === 'olora') return { kind: 'olora' };
  const niter = typeof value === 'string' ? /^pissa_niter_(\d+)$/.exec(value) : null;
  if (niter) return { kind: 'pissa', niter: Number(niter[1]) };
  return undefined;
}

/** Whether the init moves part of W into the adapter (a residual base, so a converted adapter is saved). */
export const initUsesResidual = (value: unknown) => (parseLoraInit(value)?.kind ?? 'default') !== 'default';

export interface InitFromWeight {
  /** A [r, in], B [out, r] as float32: the trainable start and, frozen, the part of W the adapter took. */
  A: Float32Array;
  B: Float32Array;
  /** PiSSA: subspace iterations of the SVD, and whether the exact one met its tolerance. */
  iterations?: number;
  converged?: boolean;
}

/**
 * PiSSA's A and B from W [out, in] (PEFT pissa_init): V, S, Uᵀ = svd(W) (torch's names: V holds the left vectors),
 * S_r ← S_r / s, A = diag(√S_r)·Uᵀ_r, B = V_r·diag(√S_r), so that s·B·A is W's best rank-r approximation.
 */
export function pissaInit(W: ArrayLike<number>, outF: number, inF: number, r: number, scaling: number, options: { niter?: number; seed: number }): InitFromWeight {
  const svd = truncatedSvd(W, outF, inF, r, { seed: options.seed, niter: options.niter });
  const A = new Float32Array(r * inF), B = new Float32Array(outF * r);
  for (let j = 0; j < r; j++) {
    const root = Math.sqrt(svd.S[j] / scaling);
    for (let i = 0; i < inF; i++) A[j * inF + i] = root * svd.V[i * r + j];
    for (let o = 0; o < outF; o++) B[o * r + j] = svd.U[o * r + j] * root;
  }
  return { A, B, iterations: svd.iterations, converged: svd.converged };
}

/** OLoRA's A and B from W [out, in] (PEFT olora_init): Q, R = qr(W), A = R[:r], B = Q[:, :r] (no scaling). */
export function oloraInit(W: ArrayLike<number>, outF: number, inF: number, r: number): InitFromWeight {
  const { Q, R, k } = householderQr(W, outF, inF, r);
  if (k < r) throw new Error(`OLoRA needs r ≤ min(out, in); got r=${r} for [${outF}, ${inF}]`);
  return { A: Float32Array.from(R), B: Float32Array.from(Q) };
}
