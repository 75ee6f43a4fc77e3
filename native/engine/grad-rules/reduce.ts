// Gradient rules of reductions and normalizations.
import type { TapeSink } from '../tape';
import type { GradRule } from './rule';

/** dY of a reduction, reshaped to keepdims form and expanded over the reduced axes. */
function spread<V>(g: TapeSink<V>, dY: V, input: V, axes: number[] | undefined): V {
  const shape = g.shapeOf(input);
  const rank = shape.length;
  const reduced = new Set((axes ?? shape.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a)));
  const kept = shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const dYKept = g.op('Reshape', [dY, g.constInt(kept, [rank])]);
  return g.op('Expand', [dYKept, g.constInt(shape, [rank])]);
}

export const ReduceSum: GradRule = ({ g, node, dY }) => {
  const axes = node.inputs[1] ? g.metaOf(node.inputs[1]).ints : undefined;
  return [spread(g, dY, node.inputs[0], axes), null];
};

export const ReduceMean: GradRule = ({ g, node, dY }) => {
  const shape = g.shapeOf(node.inputs[0]);
  const axes = node.attrs.axes as number[] | undefined;
  const count = (axes ?? shape.map((_, i) => i)).reduce((n, a) => n * shape[a < 0 ? a + shape.length : a], 1);
  return [g.op('Div', [spread(g, dY, node.inputs[0], axes), g.constant([count], [])])];
};

/** y = softmax(x): dx = y · (dY − Σ dY·y). */
export const Softmax: GradRule = ({ g, node, dY }) => {
  const axis = Number(node.attrs.axis ?? -1);
  const y = node.output;
  const dot = g.op('ReduceSum', [g.op('Mul', [dY, y]), g.constInt([axis])], { keepdims: 1 });
  return [g.op('Mul', [y, g.op('Sub', [dY, dot])])];
};

/** y = log softmax(x): dx = dY − exp(y) · Σ dY. */
export const LogSoftmax: GradRule = ({ g, node, dY }) => {
  const axis = Number(node.attrs.axis ?? -1);
  const total = g.op('ReduceSum', [dY, g.constInt([axis])], { keepdims: 1 });
  return [g.op('Sub', [dY, g.op('Mul', [g.op('Exp', [node.output]), total])])];
};
