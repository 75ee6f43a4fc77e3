// In-graph AdamW with global gradient-norm clipping, emitted through any GraphSink (so it can follow the backward
// pass in the same ONNX graph and keep parameters and moments as explicit state tensors in and out).
// Semantics are PyTorch's: torch.nn.utils.clip_grad_norm_ (coef = max_norm / (norm + 1e-6), clamped to 1) and
// torch.optim.AdamW (decoupled decay p·(1 − lr·wd), bias-corrected moments, eps added to √v̂ — Loshchilov & Hutter 2019).
import type { GraphSink } from '../graph';

export interface AdamwOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay: number;
  /** Clip the global L2 norm of all gradients to this value; null or undefined: no clipping. */
  maxGradNorm?: number | null;
}

export interface AdamwSlot<V> {
  param: V;
  grad: V;
  m: V;
  v: V;
  /** Multiplier of the learning rate for this tensor (LoRA+ trains B at ratio × lr); default 1. */
  lrScale?: number;
}

export interface AdamwResult<V> {
  params: V[];
  m: V[];
  v: V[];
  /** The global gradient norm before clipping (what trainers log as grad_norm). */
  gradNorm: V;
}

/**
 * Emits one AdamW step. `lr` is a scalar graph input (schedules are computed on the host); `step` is the scalar
 * 1-based step count t in the compute dtype, used for the bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ.
 */
export function emitAdamw<V>(g: GraphSink<V>, slots: AdamwSlot<V>[], lr: V, step: V, opts: AdamwOptions): AdamwResult<V> {
  const b1 = opts.beta1 ?? 0.9, b2 = opts.beta2 ?? 0.999, eps = opts.eps ?? 1e-8;
  const c = (x: number) => g.constant([x], []);
  if (slots.length === 0) throw new Error('emitAdamw needs at least one parameter');

  // Global norm: √Σ g², over every tensor (fp32 or wider: the compute dtype of the optimizer graph).
  const squares = slots.map((s) => g.op('ReduceSum', [g.op('Mul', [s.grad, s.grad])], { keepdims: 0 }));
  const gradNorm = g.op('Sqrt', [squares.reduce((acc, x) => g.op('Add', [acc, x]))]);
  const clip = opts.maxGradNorm === null || opts.maxGradNorm === undefined
    ? null
    : g.op('Min', [g.op('Div', [c(opts.maxGradNorm), g.op('Add', [gradNorm, c(1e-6)])]), c(1)]);

  const bc1 = g.op('Sub', [c(1), g.op('Pow', [c(b1), step])]);
  const sqrtBc2 = g.op('Sqrt', [g.op('Sub', [c(1), g.op('Pow', [c(b2), step])])]);
  const result: AdamwResult<V> = { params: [], m: [], v: [], gradNorm };
  for (const s of slots) {
    const slotLr = s.lrScale === undefined || s.lrScale === 1 ? lr : g.op('Mul', [lr, c(s.lrScale)]);
    const grad = clip ? g.op('Mul', [s.grad, clip]) : s.grad;
    const m = g.op('Add', [g.op('Mul', [s.m, c(b1)]), g.op('Mul', [grad, c(1 - b1)])]);
    const v = g.op('Add', [g.op('Mul', [s.v, c(b2)]), g.op('Mul', [g.op('Mul', [grad, grad]), c(1 - b2)])]);
    const decayed = opts.weightDecay === 0 ? s.param : g.op('Mul', [s.param, g.op('Sub', [c(1), g.op('Mul', [slotLr, c(opts.weightDecay)])])]);
    const denom = g.op('Add', [g.op('Div', [g.op('Sqrt', [v]), sqrtBc2]), c(eps)]);
    const stepSize = g.op('Div', [slotLr, bc1]);
    result.params.push(g.op('Sub', [decayed, g.op('Mul', [stepSize, g.op('Div', [m, denom])])]));
    result.m.push(m);
    result.v.push(v);
  }
  return result;
}
