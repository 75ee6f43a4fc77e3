// The float64 central-difference case per gradient rule (with broadcasting cases), shared by the unit tests and
// `lora-studio doctor`'s gradient self-check: the table of cases must list exactly the ops of the rule table.
import { GRAD_RULES } from './grad-rules';
import { gradcheck, values, type GradCase } from './gradcheck';

const P = (shape: number[], lo = -1, hi = 1, seed = 1): [number[], number[]] => [shape, values(shape.reduce((a, b) => a * b, 1), lo, hi, seed)];

export const GRADCHECK_CASES: Readonly<Record<string, GradCase[]>> = {
  Add: [{ params: { x: P([2, 3]), y: P([3], -1, 1, 2) }, build: (g, p) => g.op('Add', [p.x, p.y]) }],
  Sub: [{ params: { x: P([2, 3]), y: P([2, 1], -1, 1, 2) }, build: (g, p) => g.op('Sub', [p.x, p.y]) }],
  Mul: [{ params: { x: P([2, 3]), y: P([1, 3], -1, 1, 3) }, build: (g, p) => g.op('Mul', [p.x, p.y]) }],
  Div: [{ params: { x: P([2, 3]), y: P([3], 0.5, 1.5, 4) }, build: (g, p) => g.op('Div', [p.x, p.y]) }],
  Neg: [{ params: { x: P([4]) }, build: (g, p) => g.op('Neg', [p.x]) }],
  Reciprocal: [{ params: { x: P([4], 0.5, 2) }, build: (g, p) => g.op('Reciprocal', [p.x]) }],
  Sqrt: [{ params: { x: P([4], 0.5, 2) }, build: (g, p) => g.op('Sqrt', [p.x]) }],
  Exp: [{ params: { x: P([4]) }, build: (g, p) => g.op('Exp', [p.x]) }],
  Log: [{ params: { x: P([4], 0.5, 2) }, build: (g, p) => g.op('Log', [p.x]) }],
  Sigmoid: [{ params: { x: P([2, 3], -3, 3) }, build: (g, p) => g.op('Sigmoid', [p.x]) }],
  Tanh: [{ params: { x: P([2, 3], -2, 2) }, build: (g, p) => g.op('Tanh', [p.x]) }],
  Pow: [{ params: { x: P([2, 3], 0.5, 2), e: P([1], 1.5, 2.5, 5) }, build: (g, p) => g.op('Pow', [p.x, p.e]) }],
  Max: [{ params: { x: P([2, 3]), y: P([3], -1, 1, 7) }, build: (g, p) => g.op('Max', [p.x, p.y]) }],
  Where: [{
    params: { x: P([2, 3]), y: P([3], -1, 1, 8) },
    build: (g, p) => g.op('Where', [g.op('Less', [g.constant(values(6), [2, 3]), g.constant([0], [])]), p.x, p.y]),
  }],
  Identity: [{ params: { x: P([3]) }, build: (g, p) => g.op('Identity', [p.x]) }],
  Dropout: [
    { params: { x: P([2, 3]) }, build: (g, p) => g.op('Dropout', [p.x]) },
    { params: { x: P([2, 3]) }, build: (g, p) => g.op('Mul', [g.op('Dropout', [p.x, g.constant([0.5], [])]), p.x]) },
  ],
  Cast: [{ params: { x: P([3]) }, build: (g, p) => g.op('Cast', [p.x], { to: 11 }) }],
  MatMul: [
    { params: { a: P([2, 2, 3]), b: P([3, 4], -1, 1, 2) }, build: (g, p) => g.op('MatMul', [p.a, p.b]) },
    { params: { a: P([2, 1, 2, 3]), b: P([3, 3, 2], -1, 1, 3) }, build: (g, p) => g.op('MatMul', [p.a, p.b]) },
  ],
  Gemm: [
    { params: { a: P([2, 3]), b: P([4, 3], -1, 1, 2), c: P([4], -1, 1, 3) }, build: (g, p) => g.op('Gemm', [p.a, p.b, p.c], { transB: 1, alpha: 0.5 }) },
    { params: { a: P([2, 3]), b: P([3, 4], -1, 1, 2) }, build: (g, p) => g.op('Gemm', [p.a, p.b], { alpha: 2 }) },
  ],
  Transpose: [{ params: { x: P([2, 3, 4]) }, build: (g, p) => g.op('Transpose', [p.x], { perm: [1, 2, 0] }) }],
  Reshape: [{ params: { x: P([2, 3]) }, build: (g, p) => g.op('Reshape', [p.x, g.constInt([3, -1])]) }],
  Expand: [{ params: { x: P([1, 3]) }, build: (g, p) => g.op('Expand', [p.x, g.constInt([2, 2, 3])]) }],
  Concat: [{ params: { x: P([2, 1]), y: P([2, 2], -1, 1, 2) }, build: (g, p) => g.op('Concat', [p.x, p.y], { axis: -1 }) }],
  Slice: [{ params: { x: P([2, 5]) }, build: (g, p) => g.op('Slice', [p.x, g.constInt([1]), g.constInt([-1]), g.constInt([-1])]) }],
  Pad: [
    { params: { x: P([2, 3]) }, build: (g, p) => g.op('Pad', [p.x, g.constInt([1, 0, 0, 2])]) },
    { params: { x: P([1, 2, 2]) }, build: (g, p) => g.op('Pad', [p.x, g.constInt([0, 1, 0, 2, 0, 1]), g.constant([0.25], [])]) },
  ],
  GatherElements: [{ params: { x: P([3, 4]) }, build: (g, p) => g.op('GatherElements', [p.x, g.constInt([1, 1, 3, 0, 2, 2], [3, 2])], { axis: 1 }) }],
  // An id repeated (1): its rows' gradients add up.
  Gather: [{ params: { x: P([4, 3]) }, build: (g, p) => g.op('Gather', [p.x, g.constInt([1, 3, 1, 0], [2, 2])], { axis: 0 }) }],
  ReduceSum: [{ params: { x: P([2, 3, 2]) }, build: (g, p) => g.op('ReduceSum', [p.x, g.constInt([0, 2])], { keepdims: 0 }) }],
  ReduceMean: [{ params: { x: P([2, 3]) }, build: (g, p) => g.op('ReduceMean', [p.x], { axes: [-1], keepdims: 1 }) }],
  Softmax: [{ params: { x: P([2, 4], -2, 2) }, build: (g, p) => g.op('Softmax', [p.x], { axis: -1 }) }],
  LogSoftmax: [{ params: { x: P([2, 4], -2, 2) }, build: (g, p) => g.op('LogSoftmax', [p.x], { axis: -1 }) }],
};

export interface GradcheckSummary {
  /** Ops whose rule was checked (ops with no case are not counted). */
  ops: number;
  max_rel_err: number;
  /** 'Op #k: reason' for every case that failed or threw. */
  failed: string[];
}

/** Runs every case; a rule passes when its relative error is at most `tolerance` and its gradient is not all zero. */
export async function runGradchecks(tolerance = 1e-6): Promise<GradcheckSummary> {
  const summary: GradcheckSummary = { ops: 0, max_rel_err: 0, failed: [] };
  for (const op of Object.keys(GRAD_RULES)) {
    const list = GRADCHECK_CASES[op] ?? [];
    if (!(op in GRADCHECK_CASES)) summary.failed.push(`${op}: no gradcheck case`);
    if (list.length > 0) summary.ops += 1;
    for (const [i, c] of list.entries()) {
      try {
        const { maxError, maxGrad } = await gradcheck(c);
        summary.max_rel_err = Math.max(summary.max_rel_err, maxError);
        if (!(maxError <= tolerance)) summary.failed.push(`${op} #${i + 1}: relative error ${maxError.toExponential(2)}`);
        else if (maxGrad === 0) summary.failed.push(`${op} #${i + 1}: all gradients are zero`);
      } catch (error) {
        summary.failed.push(`${op} #${i + 1}: ${(error as Error).message}`);
      }
    }
  }
  return summary;
}
