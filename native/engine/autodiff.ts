// Reverse-mode autodiff over a recorded tape: walks the forward nodes backwards from a scalar loss, asks each node's
// gradient rule (grad-rules/index.ts) for the inputs that lead to a requested parameter — nothing is built for
// branches that do not — sums fan-in, and reduces broadcast gradients to each operand's shape. It never names a
// forward op: all op knowledge is in the rule table. A detached value (GraphSink.stopGradient) depends on nothing.
//
// Recomputed segments (GraphSink.checkpoint): when the walk reaches a segment's last node, its nodes are built again
// from the segment's inputs, and the rules read the recomputed values instead of the forward ones, so the forward
// values die after the forward pass. The recomputation's inputs are gated by a zero made from the incoming gradient
// (x + 0·Σ dY, as Less(s, s) so a NaN cannot leak in): it cannot run before the gradient exists, and ONNX Runtime's
// common-subexpression elimination cannot merge it back into the forward nodes. A frozen weight's compute-dtype copy
// (TapeSink.weightCopies) is made once more for the product's own backward, behind that product's incoming gradient,
// so no copy lives from a segment's recomputation to the end of its backward.
import type { Segment, TapeNode, TapeSink } from './tape';
import { GRAD_RULES, NON_DIFFERENTIABLE } from './grad-rules';
import { zeros } from './grad-rules/rule';

/** Sums broadcast axes of `value` so it takes the shape `target` (numpy-style broadcasting in reverse). */
export function unbroadcast<V>(g: TapeSink<V>, value: V, target: number[]): V {
  const shape = g.shapeOf(value);
  if (shape.length === target.length && shape.every((d, i) => d === target[i])) return value;
  const lead = shape.length - target.length;
  if (lead < 0) throw new Error(`gradient of shape [${shape}] cannot reduce to [${target}]`);
  const axes: number[] = [];
  shape.forEach((d, i) => {
    if (i < lead || (target[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const reduced = axes.length > 0 ? g.op('ReduceSum', [value, g.constInt(axes)], { keepdims: 1 }) : value;
  return g.op('Reshape', [reduced, g.constInt(target, [target.length])]);
}

/**
 * Emits d loss / d w for every w of `wrt` (float graph values, usually params) through the tape's sink and returns
 * them by value. `loss` must be a scalar. Parameters the loss does not depend on get zeros.
 */
export function gradients<V>(g: TapeSink<V>, loss: V, wrt: V[]): Map<V, V> {
  const forward = [...g.nodes];
  if (g.shapeOf(loss).length !== 0) throw new Error(`the loss must be a scalar, got shape [${g.shapeOf(loss)}]`);

  // Values that depend on a requested parameter: only these get gradient work.
  const depends = new Set<V>(wrt);
  for (const node of forward) {
    const kind = g.metaOf(node.output).kind;
    if (NON_DIFFERENTIABLE.has(node.op) || node.detached || (kind !== 'float' && kind !== 'low')) continue;
    if (node.inputs.some((input) => depends.has(input))) depends.add(node.output);
  }

  const pending = new Map<V, V[]>();
  const add = (value: V, grad: V) => {
    const list = pending.get(value);
    if (list) list.push(grad);
    else pending.set(value, [grad]);
  };
  const total = (value: V): V | undefined => {
    const list = pending.get(value);
    if (!list) return undefined;
    const sum = list.reduce((acc, grad) => g.op('Add', [acc, grad]));
    pending.set(value, [sum]);
    return sum;
  };

  const recomputed = new Map<Segment<V>, (value: V) => V>();
  if (depends.has(loss)) add(loss, g.constant([1], []));
  for (let i = forward.length - 1; i >= 0; i -= 1) {
    const node = forward[i];
    if (!depends.has(node.output)) continue;
    const dY = total(node.output);
    if (dY === undefined) continue; // does not reach the loss
    const needs = node.inputs.map((input) => depends.has(input));
    const rule = GRAD_RULES[node.op];
    if (!rule) throw new Error(`no gradient rule for op ${node.op} (node ${String(node.output)}); add one to native/engine/grad-rules`);
    let ruleNode = node;
    if (node.segment) {
      let value = recomputed.get(node.segment);
      if (!value) recomputed.set(node.segment, (value = recomputation(g, node.segment, dY)));
      const recomputedValue = value;
      // A weight matrix's compute-dtype copy is made again behind dY (unused ones are dropped with the dead nodes).
      const input = (v: V) => {
        const copy = g.weightCopies.get(v);
        return copy && g.shapeOf(v).length >= 2 ? copy(g.zeroAfter(dY, 'int')) : recomputedValue(v);
      };
      ruleNode = { ...node, inputs: node.inputs.map(input), output: value(node.output) };
    }
    const dX = rule({ g, node: ruleNode, dY, needs });
    node.inputs.forEach((input, k) => {
      const grad = dX[k];
      if (!needs[k] || grad === null || grad === undefined) return;
      add(input, unbroadcast(g, grad, g.shapeOf(input)));
    });
  }

  const result = new Map<V, V>();
  for (const w of wrt) result.set(w, total(w) ?? zeros(g, g.shapeOf(w)));
  return result;
}

/**
 * The segment built again after `dY` exists: returns the recomputed counterpart of a forward value (values from
 * outside the segment — weights, constants, graph inputs — are themselves). Nodes are emitted on first use; those no
 * rule ends up reading are dropped when the graph is written (OnnxGraphSink.toBytes).
 */
function recomputation<V>(g: TapeSink<V>, segment: Segment<V>, dY: V): (value: V) => V {
  const producers = new Map<V, TapeNode<V>>(segment.nodes.map((n) => [n.output, n]));
  const zero = { float: g.zeroAfter(dY, 'float'), int: g.zeroAfter(dY, 'int') };
  const made = new Map<V, V>();
  const value = (v: V): V => {
    const known = made.get(v);
    if (known !== undefined) return known;
    let out = v;
    if (segment.inputs.includes(v)) out = g.op('Add', [v, g.metaOf(v).kind === 'int' ? zero.int : zero.float]);
    else {
      const node = producers.get(v);
      if (node) out = g.reemit(node, node.inputs.map(value));
    }
    made.set(v, out);
    return out;
  };
  return value;
}
