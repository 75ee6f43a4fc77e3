// Mixed precision (Micikevicius et al. 2018): the large matrix products run with bf16 or f16 operands and a product
// rounded to that type (the GPU accumulates in float32), while norms, softmax, the loss, LoRA's master weights and
// AdamW's moments stay float32. On CUDA the products really run in bf16/f16 (Tensor Cores; bf16/f16 weights are
// used as stored, without a float copy); where a provider has no such kernels (the CPU), the same graph is emulated:
// float32 products with the operands and the result rounded to bf16/f16 at the same points.
import type { Attr, GraphSink } from './graph';

export type PrecisionChoice = 'auto' | 'fp32' | 'bf16' | 'fp16';

/** How the large products of a graph run: float32, or bf16/f16 for real or emulated. */
export type MatmulPrecision = { low: 'none' } | { low: 'bf16' | 'fp16'; emulate: boolean };

export const LOW_ELEM = { bf16: 16, fp16: 10 } as const;

/** auto: bf16 on CUDA (Ampere and later have bf16 Tensor Cores), float32 on the CPU; bf16/fp16 on the CPU are emulated. */
export function resolvePrecision(choice: PrecisionChoice, provider: 'cuda' | 'cpu'): MatmulPrecision {
  const low = choice === 'auto' ? (provider === 'cuda' ? 'bf16' : 'fp32') : choice;
  return low === 'fp32' ? { low: 'none' } : { low, emulate: provider !== 'cuda' };
}

/**
 * `op` (Gemm or MatMul) of a and b in the given precision, returned in the compute dtype. `bIsLow`: b already is in
 * the low type (a bf16 weight as stored, for a real bf16 product), so it is used without any cast.
 */
export function product<V>(
  g: GraphSink<V>, p: MatmulPrecision, op: 'Gemm' | 'MatMul', a: V, b: V, attrs: Record<string, Attr> = {}, bIsLow = false,
): V {
  if (p.low === 'none') return g.op(op, [a, b], attrs);
  const to = LOW_ELEM[p.low];
  const cast = (x: V) => g.op('Cast', [x], { to });
  if (p.emulate) {
    const round = (x: V) => g.toFloat(cast(x));
    return round(g.op(op, [round(a), round(b)], attrs));
  }
  return g.toFloat(g.op(op, [cast(a), bIsLow ? b : cast(b)], attrs));
}
