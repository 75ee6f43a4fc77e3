// Gradient rules of data-movement ops: the gradient moves back the way the data came.
import { sliceBounds } from '../shapes';
import { when, zeros, type GradRule } from './rule';

export const Transpose: GradRule = ({ g, node, dY }) => {
  const rank = g.shapeOf(node.inputs[0]).length;
  const perm = (node.attrs.perm as number[] | undefined) ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return [g.op('Transpose', [dY], { perm: inverse })];
};

export const Reshape: GradRule = ({ g, node, dY }) => {
  const shape = g.shapeOf(node.inputs[0]);
  return [g.op('Reshape', [dY, g.constInt(shape, [shape.length])]), null];
};

/** Expand broadcasts: the un-broadcast autodiff applies is exactly its gradient. */
export const Expand: GradRule = ({ dY }) => [dY, null];

export const Concat: GradRule = ({ g, node, dY, needs }) => {
  const rank = g.shapeOf(node.inputs[0]).length;
  const axis = Number(node.attrs.axis) < 0 ? Number(node.attrs.axis) + rank : Number(node.attrs.axis);
  let offset = 0;
  return node.inputs.map((input, i) => {
    const size = g.shapeOf(input)[axis];
    const start = offset;
    offset += size;
    return when(needs[i], () => g.op('Slice', [dY, g.constInt([start]), g.constInt([start + size]), g.constInt([axis])]));
  });
};

/** Unit-step Slice: pad the gradient with zeros back to the input's extent. */
export const Slice: GradRule = ({ g, node, dY }) => {
  const input = node.inputs[0];
  const shape = g.shapeOf(input);
  const rank = shape.length;
  const starts = g.metaOf(node.inputs[1]).ints!, ends = g.metaOf(node.inputs[2]).ints!;
  const axes = node.inputs[3] ? g.metaOf(node.inputs[3]).ints! : starts.map((_, i) => i);
  const pads = new Array<number>(2 * rank).fill(0);
  axes.forEach((axis, i) => {
    const ax = axis < 0 ? axis + rank : axis;
    const [s, e] = sliceBounds(starts[i], ends[i], shape[ax]);
    pads[ax] = s;
    pads[ax + rank] = shape[ax] - e;
  });
  return [g.op('Pad', [dY, g.constInt(pads, [2 * rank])]), null, null, null, null].slice(0, node.inputs.length);
};

/** GatherElements(data, idx): the gradient scatters back, adding where an index repeats. */
export const GatherElements: GradRule = ({ g, node, dY }) => {
  const [data, indices] = node.inputs;
  const axis = Number(node.attrs.axis ?? 0);
  return [g.op('ScatterElements', [zeros(g, g.shapeOf(data), dY), indices, dY], { axis, reduction: 'add' }), null];
};

/**
 * Gather(data, idx) on axis 0 (an embedding lookup): the gradient of the rows is dY scattered back into zeros of the
 * table, adding where an id repeats (ScatterND with reduction 'add', opset 16). LISA trains the embedding table
 * (native/train/lisa.ts); LoRA never asks for it. Other axes are not needed by the engine's graphs: refused.
 */
export const Gather: GradRule = ({ g, node, dY, needs }) => {
  if (!needs[0]) return [null, null];
  const [data, indices] = node.inputs;
  const axis = Number(node.attrs.axis ?? 0);
  if (axis !== 0) throw new Error(`the gradient of Gather on axis ${axis} with respect to its data is not implemented (only axis 0)`);
  const idxShape = g.shapeOf(indices);
  const ids = g.op('Reshape', [indices, g.constInt([...idxShape, 1], [idxShape.length + 1])]);
  return [g.op('ScatterND', [zeros(g, g.shapeOf(data), dY), ids, dY], { reduction: 'add' }), null];
};

/**
 * Constant-mode Pad: the gradient is the un-padded window of dY (a Slice). Negative pads (crops), edge/reflect modes
 * and a gradient for the pad value are not needed by the engine's graphs: refuse them rather than return a wrong one.
 */
export const Pad: GradRule = ({ g, node, dY, needs }) => {
  const mode = String(node.attrs.mode ?? 'constant');
  if (mode !== 'constant') throw new Error(`the gradient of Pad in mode "${mode}" is not implemented (only "constant")`);
  if (needs[2]) throw new Error('the gradient of Pad with respect to its constant_value is not implemented');
  const shape = g.shapeOf(node.inputs[0]);
  const rank = shape.length;
  const pads = g.metaOf(node.inputs[1]).ints!;
  if (pads.some((p) => p < 0)) throw new Error(`the gradient of Pad with negative pads [${pads}] is not implemented`);
  const starts = shape.map((_, i) => pads[i]);
  const ends = shape.map((d, i) => pads[i] + d);
  const axes = shape.map((_, i) => i);
  return [g.op('Slice', [dY, g.constInt(starts), g.constInt(ends), g.constInt(axes)]), null, null].slice(0, node.inputs.length);
};
