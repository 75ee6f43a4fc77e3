// Gradient rules of element-wise ops. dY has the output's (broadcast) shape; autodiff un-broadcasts.
import { scalar, when, type GradRule } from './rule';

export const Add: GradRule = ({ dY, needs }) => [when(needs[0], () => dY), when(needs[1], () => dY)];

export const Sub: GradRule = ({ g, dY, needs }) => [when(needs[0], () => dY), when(needs[1], () => g.op('Neg', [dY]))];

export const Mul: GradRule = ({ g, node, dY, needs }) => {
  const [a, b] = node.inputs;
  return [when(needs[0], () => g.op('Mul', [dY, b])), when(needs[1], () => g.op('Mul', [dY, a]))];
};

/** y = a / b: da = dY / b, db = -dY · y / b. */
export const Div: GradRule = ({ g, node, dY, needs }) => {
  const [, b] = node.inputs;
  return [
    when(needs[0], () => g.op('Div', [dY, b])),
    when(needs[1], () => g.op('Neg', [g.op('Div', [g.op('Mul', [dY, node.output]), b])])),
  ];
};

export const Neg: GradRule = ({ g, dY }) => [g.op('Neg', [dY])];

/** y = 1/x: dx = -dY · y². */
export const Reciprocal: GradRule = ({ g, node, dY }) => [g.op('Neg', [g.op('Mul', [dY, g.op('Mul', [node.output, node.output])])])];

/** y = √x: dx = dY / (2y). */
export const Sqrt: GradRule = ({ g, node, dY }) => [g.op('Div', [dY, g.op('Mul', [node.output, scalar(g, 2)])])];

export const Exp: GradRule = ({ g, node, dY }) => [g.op('Mul', [dY, node.output])];

export const Log: GradRule = ({ g, node, dY }) => [g.op('Div', [dY, node.inputs[0]])];

/** y = σ(x): dx = dY · y · (1 − y). */
export const Sigmoid: GradRule = ({ g, node, dY }) => [g.op('Mul', [dY, g.op('Mul', [node.output, g.op('Sub', [scalar(g, 1), node.output])])])];

/** y = tanh(x): dx = dY · (1 − y²). */
export const Tanh: GradRule = ({ g, node, dY }) => [g.op('Mul', [dY, g.op('Sub', [scalar(g, 1), g.op('Mul', [node.output, node.output])])])];

/** y = x^p: dx = dY · p · x^(p−1); dp = dY · y · ln x (x > 0). */
export const Pow: GradRule = ({ g, node, dY, needs }) => {
  const [x, p] = node.inputs;
  return [
    when(needs[0], () => g.op('Mul', [dY, g.op('Mul', [p, g.op('Pow', [x, g.op('Sub', [p, scalar(g, 1)])])])])),
    when(needs[1], () => g.op('Mul', [dY, g.op('Mul', [node.output, g.op('Log', [x])])])),
  ];
};

/** The gradient goes to the larger operand (to the first on ties, as PyTorch's maximum splits evenly — close enough at ties of measure zero). */
export const Max: GradRule = ({ g, node, dY, needs }) => {
  const [a, b] = node.inputs;
  const bWins = g.op('Less', [a, b]);
  const zero = scalar(g, 0);
  return [when(needs[0], () => g.op('Where', [bWins, zero, dY])), when(needs[1], () => g.op('Where', [bWins, dY, zero]))];
};

export const Where: GradRule = ({ g, node, dY, needs }) => {
  const [condition] = node.inputs;
  const zero = scalar(g, 0);
  return [null, when(needs[1], () => g.op('Where', [condition, dY, zero])), when(needs[2], () => g.op('Where', [condition, zero, dY]))];
};

export const Identity: GradRule = ({ dY }) => [dY];

/**
 * Casts between float types pass the gradient back in the input's type (a mixed-precision matmul's bf16/f16 operand
 * gets a bf16/f16 gradient, as in the real low-precision backward); casts from ints/bools are never asked for one.
 */
export const Cast: GradRule = ({ g, node, dY }) => {
  const input = g.metaOf(node.inputs[0]);
  return [input.kind === 'low' ? g.op('Cast', [dY], { to: input.low! }) : g.toFloat(dY)];
};

/**
 * Dropout in inference mode (no training_mode input, as ONNX defaults) is the identity. In training mode the tape
 * records one output per node, so the random mask would be lost: training graphs apply dropout as an explicit
 * Mul by a fed mask scaled by 1/(1−p) (native/model/llama.ts), whose gradient the Mul rule gives exactly.
 */
export const Dropout: GradRule = ({ node, dY }) => {
  if (node.inputs.length >= 3) {
    throw new Error(`the gradient of Dropout with a training_mode input (node ${String(node.output)}) is not implemented: multiply by an explicit mask/(1-p) instead`);
  }
  return [dY, null];
};
