// Gradient rules of matrix products.
import { swapLast, when, type GradRule } from './rule';

/** Y = A·B (batched, broadcast): dA = dY·Bᵀ, dB = Aᵀ·dY (autodiff sums broadcast batch axes). */
export const MatMul: GradRule = ({ g, node, dY, needs }) => {
  const [a, b] = node.inputs;
  return [when(needs[0], () => g.op('MatMul', [dY, swapLast(g, b)])), when(needs[1], () => g.op('MatMul', [swapLast(g, a), dY]))];
};

/** Y = α·A·op(B) + β·C with op(B) = Bᵀ when transB (A not transposed — all the engine emits). */
export const Gemm: GradRule = ({ g, node, dY, needs }) => {
  const [a, b] = node.inputs;
  if (node.attrs.transA) throw new Error('Gemm gradient with transA=1 is not implemented');
  const alpha = node.attrs.alpha === undefined ? 1 : Number(node.attrs.alpha);
  const beta = node.attrs.beta === undefined ? 1 : Number(node.attrs.beta);
  const transB = Number(node.attrs.transB ?? 0) === 1;
  return [
    // dA = α·dY·op(B)ᵀ: with transB, op(B)ᵀ = B.
    when(needs[0], () => g.op('Gemm', [dY, b], { alpha, transB: transB ? 0 : 1 })),
    // dB = α·dYᵀ·A when B is stored transposed, else α·Aᵀ·dY.
    when(needs[1], () => (transB ? g.op('Gemm', [dY, a], { alpha, transA: 1 }) : g.op('Gemm', [a, dY], { alpha, transA: 1 }))),
    when(needs[2] ?? false, () => (beta === 1 ? dY : g.op('Mul', [dY, g.constant([beta], [])]))),
  ];
};
