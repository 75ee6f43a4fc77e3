// The gradient rule table: op → rule (one rule per op, grouped by family in the files beside this one), and the ops
// that carry no gradient (comparisons, boolean logic, index-only paths). A missing rule is an error naming the op.
import * as elementwise from './elementwise';
import * as matmul from './matmul';
import * as movement from './movement';
import * as reduce from './reduce';
import type { GradRule } from './rule';

export const GRAD_RULES: Readonly<Record<string, GradRule>> = {
  Add: elementwise.Add, Sub: elementwise.Sub, Mul: elementwise.Mul, Div: elementwise.Div, Neg: elementwise.Neg,
  Reciprocal: elementwise.Reciprocal, Sqrt: elementwise.Sqrt, Exp: elementwise.Exp, Log: elementwise.Log,
  Sigmoid: elementwise.Sigmoid, Tanh: elementwise.Tanh, Pow: elementwise.Pow, Max: elementwise.Max,
  Where: elementwise.Where, Identity: elementwise.Identity, Dropout: elementwise.Dropout, Cast: elementwise.Cast,
  MatMul: matmul.MatMul, Gemm: matmul.Gemm,
  Transpose: movement.Transpose, Reshape: movement.Reshape, Expand: movement.Expand, Concat: movement.Concat,
  Slice: movement.Slice, Pad: movement.Pad, GatherElements: movement.GatherElements, Gather: movement.Gather,
  ReduceSum: reduce.ReduceSum, ReduceMean: reduce.ReduceMean, Softmax: reduce.Softmax, LogSoftmax: reduce.LogSoftmax,
};

/** Ops whose outputs never carry a gradient. */
export const NON_DIFFERENTIABLE = new Set(['Equal', 'Not', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Shape']);
