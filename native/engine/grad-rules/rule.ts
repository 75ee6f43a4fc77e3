// The shape of a gradient rule: given a forward node and the gradient of its output, emit (through the tape) the
// gradient of each input that autodiff asks for (`needs[i]`), or null. Rules may return gradients in the output's
// broadcast shape: autodiff reduces them to each operand's shape once.
import type { TapeNode, TapeSink } from '../tape';

export interface GradContext<V> {
  g: TapeSink<V>;
  node: TapeNode<V>;
  dY: V;
  needs: boolean[];
}

export type GradRule = <V>(ctx: GradContext<V>) => (V | null)[];

/** A float scalar constant. */
export const scalar = <V>(g: TapeSink<V>, value: number): V => g.constant([value], []);

/** Swaps the last two axes (matrix transpose of a batched tensor). */
export function swapLast<V>(g: TapeSink<V>, x: V): V {
  const rank = g.shapeOf(x).length;
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return g.op('Transpose', [x], { perm });
}

/**
 * Zeros of a given shape (Expand of a scalar: no large constant in the model file). With `after`, the zeros depend on
 * that value (0 = Less(s, s) for s = Σ after, NaN included): ONNX Runtime's constant folding would otherwise turn a
 * large Expand of a constant into a tensor that lives for the whole session.
 */
export function zeros<V>(g: TapeSink<V>, shape: number[], after?: V): V {
  const zero = after === undefined ? scalar(g, 0) : g.zeroAfter(after, 'float');
  return g.op('Expand', [zero, g.constInt(shape, [shape.length])]);
}

export const when = <V>(need: boolean, make: () => V): V | null => (need ? make() : null);
