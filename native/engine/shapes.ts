// Static shape inference for the ONNX ops the engine differentiates (opset 17). Graphs are built per
// (batch, length) bucket, so every shape is a concrete list of numbers; autodiff needs them to reduce broadcast
// gradients back to each operand's shape and to build Reshape/Expand/Pad targets.
import type { Attr } from './graph';

/** 'float': the compute dtype; 'low': bf16 or f16 (a stored weight before its cast, or a mixed-precision matmul's operand). */
export type ValueKind = 'float' | 'low' | 'int' | 'bool';

export interface ValueMeta {
  shape: number[];
  kind: ValueKind;
  /** The ONNX element type of a 'low' value: 16 bfloat16, 10 float16. */
  low?: number;
  /** Values of small int64 constants (shapes, axes, slice bounds), needed to infer Reshape/Slice/Expand outputs. */
  ints?: number[];
}

export function broadcastShapes(...shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i += 1) {
    let dim = 1;
    for (const shape of shapes) {
      const d = shape[shape.length - rank + i] ?? 1;
      if (d !== 1 && dim !== 1 && d !== dim) throw new Error(`shapes [${shapes.map((s) => s.join(',')).join('] and [')}] do not broadcast`);
      if (d !== 1) dim = d;
    }
    out.push(dim);
  }
  return out;
}

const axisOf = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

function intsOf(meta: ValueMeta | undefined, what: string): number[] {
  if (!meta?.ints) throw new Error(`${what} must be an int64 constant for static shape inference`);
  return meta.ints;
}

/** Reshape target with ONNX's 0 (copy) and -1 (infer) rules. */
export function reshapeTarget(input: number[], target: number[]): number[] {
  const out = target.map((d, i) => (d === 0 ? input[i] : d));
  const total = input.reduce((a, b) => a * b, 1);
  const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  return out.map((d) => (d === -1 ? total / known : d));
}

/** Normalized [start, end) of a unit-step Slice on a dimension of size `dim`. */
export function sliceBounds(start: number, end: number, dim: number): [number, number] {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
  return [clamp(start), clamp(end)];
}

const UNARY_SAME = new Set(['Neg', 'Reciprocal', 'Sqrt', 'Exp', 'Log', 'Tanh', 'Sigmoid', 'Softmax', 'LogSoftmax', 'Identity', 'Abs', 'Relu', 'Dropout']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min']);
const COMPARE = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or']);

export function inferMeta(op: string, inputs: ValueMeta[], attrs: Record<string, Attr>): ValueMeta {
  const [a, b] = inputs;
  if (UNARY_SAME.has(op)) return { shape: [...a.shape], kind: a.kind };
  if (BINARY.has(op)) return { shape: broadcastShapes(...inputs.map((i) => i.shape)), kind: a.kind };
  if (COMPARE.has(op)) return { shape: broadcastShapes(...inputs.map((i) => i.shape)), kind: 'bool' };
  switch (op) {
    case 'Not':
      return { shape: [...a.shape], kind: 'bool' };
    case 'Where':
      return { shape: broadcastShapes(inputs[0].shape, inputs[1].shape, inputs[2].shape), kind: inputs[1].kind };
    case 'Cast': {
      const to = Number(attrs.to);
      if (to === 10 || to === 16) return { shape: [...a.shape], kind: 'low', low: to };
      return { shape: [...a.shape], kind: to === 7 || to === 6 ? 'int' : to === 9 ? 'bool' : 'float' };
    }
    case 'MatMul': {
      const m = a.shape[a.shape.length - 2], k = a.shape[a.shape.length - 1], n = b.shape[b.shape.length - 1];
      if (b.shape[b.shape.length - 2] !== k) throw new Error(`MatMul [${a.shape}] × [${b.shape}]: inner dimensions differ`);
      const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
      return { shape: [...batch, m, n], kind: a.kind, low: a.low };
    }
    case 'Gemm': {
      const m = attrs.transA ? a.shape[1] : a.shape[0];
      const n = attrs.transB ? b.shape[0] : b.shape[1];
      return { shape: [m, n], kind: a.kind, low: a.low };
    }
    case 'Transpose': {
      const perm = (attrs.perm as number[] | undefined) ?? a.shape.map((_, i) => a.shape.length - 1 - i);
      return { shape: perm.map((p) => a.shape[p]), kind: a.kind, low: a.low };
    }
    case 'Reshape':
      return { shape: reshapeTarget(a.shape, intsOf(b, 'Reshape shape')), kind: a.kind };
    case 'Expand':
      return { shape: broadcastShapes(a.shape, intsOf(b, 'Expand shape')), kind: a.kind };
    case 'Concat': {
      const axis = axisOf(Number(attrs.axis), a.shape.length);
      const shape = [...a.shape];
      shape[axis] = inputs.reduce((sum, i) => sum + i.shape[axis], 0);
      return { shape, kind: a.kind };
    }
    case 'Slice': {
      const starts = intsOf(inputs[1], 'Slice starts'), ends = intsOf(inputs[2], 'Slice ends');
      const axes = inputs[3] ? intsOf(inputs[3], 'Slice axes') : starts.map((_, i) => i);
      if (inputs[4] && intsOf(inputs[4], 'Slice steps').some((s) => s !== 1)) throw new Error('Slice with steps other than 1 is not supported');
      const shape = [...a.shape];
      axes.forEach((axis, i) => {
        const ax = axisOf(axis, shape.length);
        const [s, e] = sliceBounds(starts[i], ends[i], a.shape[ax]);
        shape[ax] = Math.max(0, e - s);
      });
      return { shape, kind: a.kind };
    }
    case 'Gather': {
      const axis = axisOf(Number(attrs.axis ?? 0), a.shape.length);
      return { shape: [...a.shape.slice(0, axis), ...b.shape, ...a.shape.slice(axis + 1)], kind: a.kind };
    }
    case 'GatherElements':
      return { shape: [...b.shape], kind: a.kind };
    case 'ScatterElements':
    case 'ScatterND':
      return { shape: [...a.shape], kind: a.kind };
    case 'Pad': {
      const pads = intsOf(b, 'Pad pads');
      const rank = a.shape.length;
      return { shape: a.shape.map((d, i) => d + pads[i] + pads[i + rank]), kind: a.kind };
    }
    case 'ReduceSum':
    case 'ReduceMean':
    case 'ReduceMax': {
      // ReduceSum takes axes as an input since opset 13; ReduceMean/ReduceMax as an attribute until opset 18.
      const axesList = op === 'ReduceSum' ? (inputs[1] ? intsOf(inputs[1], 'ReduceSum axes') : undefined) : (attrs.axes as number[] | undefined);
      const axes = new Set((axesList ?? a.shape.map((_, i) => i)).map((x) => axisOf(x, a.shape.length)));
      const keep = attrs.keepdims === undefined ? true : Number(attrs.keepdims) === 1;
      const shape = a.shape.flatMap((d, i) => (axes.has(i) ? (keep ? [1] : []) : [d]));
      return { shape, kind: a.kind };
    }
    case 'Range': {
      const [start] = intsOf(a, 'Range start'), [limit] = intsOf(b, 'Range limit'), [delta] = intsOf(inputs[2], 'Range delta');
      return { shape: [Math.max(0, Math.ceil((limit - start) / delta))], kind: a.kind };
    }
    default:
      throw new Error(`no shape rule for op ${op}`);
  }
}
