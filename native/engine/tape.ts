// TapeSink: a GraphSink that forwards every call to the sink that writes the graph (ONNX) and records what autodiff
// needs — each node (op, inputs, attributes, output), each value's static shape and kind, and the recomputed segments
// (GraphSink.checkpoint) its nodes belong to. The model code (native/model/llama.ts) stays unaware of training; the
// backward pass is emitted through the same sink afterwards.
//
// Inside a segment, a frozen weight stored in bf16/f16 is cast to the compute dtype where it is used, behind a
// zero that depends on the segment's input (a Reshape whose shape is `shape + 0`): ONNX Runtime's constant folding
// would otherwise turn every Cast of an initializer into a persistent fp32 copy at session creation, and its
// common-subexpression elimination would merge the backward pass's cast with the forward one.
import type { Attr, GraphSink, StoredWeight } from './graph';
import { inferMeta, type ValueMeta } from './shapes';
import { NF4_BLOCK, nf4DequantizeGraph } from './nf4';

export interface Segment<V> {
  /** The values the segment reads from before it: all that the forward pass keeps for it. */
  inputs: V[];
  nodes: TapeNode<V>[];
  /** An int64 scalar 0 computed from inputs[0] (made on first use), and the gated casts of stored weights. */
  zeroInt?: V;
  weights: Map<string, V>;
}

export interface TapeNode<V> {
  op: string;
  inputs: V[];
  attrs: Record<string, Attr>;
  output: V;
  /** The recomputed segment the node belongs to, if any. */
  segment?: Segment<V>;
  /** Emitted by `toFloat` (a Cast whose target dtype only the inner sink knows). */
  toFloat?: true;
  /** Emitted by `stopGradient`: an Identity autodiff treats as a constant (nothing flows back through it). */
  detached?: true;
}

export class TapeSink<V> implements GraphSink<V> {
  readonly nodes: TapeNode<V>[] = [];
  readonly meta = new Map<V, ValueMeta>();
  /** Trainable inputs by name. */
  readonly params = new Map<string, V>();
  readonly outputs = new Map<string, V>();
  private current: Segment<V> | undefined;
  /**
   * The compute-dtype copies of frozen weights made in segments, each with how to make it again behind another int64
   * zero: autodiff gives a matrix product's backward its own copy behind the product's incoming gradient, so the copy
   * the recomputed forward made dies with that product instead of living until the backward reaches it.
   */
  readonly weightCopies = new Map<V, (zeroInt: V) => V>();

  constructor(readonly inner: GraphSink<V>) {}

  metaOf(value: V): ValueMeta {
    const meta = this.meta.get(value);
    if (!meta) throw new Error(`value ${String(value)} was not made by this tape`);
    return meta;
  }

  shapeOf(value: V): number[] {
    return this.metaOf(value).shape;
  }

  input(name: string, dtype: 'int64' | 'float', shape: number[]): V {
    const value = this.inner.input(name, dtype, shape);
    this.meta.set(value, { shape, kind: dtype === 'int64' ? 'int' : 'float' });
    return value;
  }

  weight(hfName: string, shape: number[], rows?: [number, number]): V {
    const segment = this.current;
    if (!segment) {
      const value = this.inner.weight(hfName, shape, rows);
      this.meta.set(value, { shape: rows ? [rows[1] - rows[0], ...shape.slice(1)] : shape, kind: 'float' });
      return value;
    }
    const key = rows ? `${hfName}[${rows[0]}:${rows[1]}]` : hfName;
    const known = segment.weights.get(key);
    if (known) return known;
    const stored = this.storedWeight(hfName, shape);
    let value = stored.value;
    if (!stored.compute || rows) {
      // Reshape(W, shape + 0) is a view; the copy is the dequantization, the Slice and/or the cast after it.
      const gate = (value: V, dims: number[], zeroInt: V) => {
        const target = this.op('Add', [this.constInt(dims), zeroInt]);
        this.metaOf(target).ints = dims; // shape + 0: static shape inference may rely on it
        return this.op('Reshape', [value, target]);
      };
      const copy = (zeroInt: V) => {
        let w = stored.nf4
          ? nf4DequantizeGraph(this, gate(stored.value, this.shapeOf(stored.value), zeroInt), stored.nf4.absmax, shape)
          : gate(stored.value, shape, zeroInt);
        if (rows) w = this.op('Slice', [w, this.constInt([rows[0]]), this.constInt([rows[1]]), this.constInt([0])]);
        return this.toFloat(w);
      };
      value = copy(this.segmentZero(segment));
      this.weightCopies.set(value, copy);
    }
    segment.weights.set(key, value);
    return value;
  }

  storedWeight(hfName: string, shape: number[]): StoredWeight<V> {
    const stored = this.inner.storedWeight(hfName, shape);
    if (stored.nf4) {
      const n = shape.reduce((a, b) => a * b, 1);
      this.meta.set(stored.value, { shape: [n / 2], kind: 'int' });
      this.meta.set(stored.nf4.absmax, { shape: [n / NF4_BLOCK], kind: 'float' });
    } else this.meta.set(stored.value, stored.compute ? { shape, kind: 'float' } : { shape, kind: 'low', low: stored.low });
    return stored;
  }

  param(name: string, shape: number[]): V {
    const value = this.inner.param(name, shape);
    this.meta.set(value, { shape, kind: 'float' });
    this.params.set(name, value);
    return value;
  }

  constant(values: ArrayLike<number>, shape: number[]): V {
    const value = this.inner.constant(values, shape);
    this.meta.set(value, { shape, kind: 'float' });
    return value;
  }

  constInt(values: number[], shape: number[] = [values.length]): V {
    const value = this.inner.constInt(values, shape);
    this.meta.set(value, { shape, kind: 'int', ints: values });
    return value;
  }

  op(type: string, inputs: V[], attrs: Record<string, Attr> = {}): V {
    const meta = inferMeta(type, inputs.map((input) => this.metaOf(input)), attrs);
    const output = this.inner.op(type, inputs, attrs);
    this.meta.set(output, meta);
    this.record({ op: type, inputs, attrs, output });
    return output;
  }

  toFloat(x: V): V {
    const output = this.inner.toFloat(x);
    if (output === x) return x;
    this.meta.set(output, { shape: this.shapeOf(x), kind: 'float' });
    // Recorded as a Cast: from an int/bool it carries no gradient; from bf16/f16 the Cast rule passes it back in that type.
    this.record({ op: 'Cast', inputs: [x], attrs: {}, output, toFloat: true });
    return output;
  }

  stopGradient(x: V): V {
    const output = this.inner.stopGradient(x);
    this.meta.set(output, { ...this.metaOf(x) });
    this.record({ op: 'Identity', inputs: [x], attrs: {}, output, detached: true });
    return output;
  }

  output(name: string, value: V): void {
    this.inner.output(name, value);
    this.outputs.set(name, value);
  }

  checkpoint(label: string, inputs: V[], body: (...inputs: V[]) => V): V {
    if (this.current) return body(...inputs); // nested: part of the enclosing segment
    if (inputs.length === 0) throw new Error(`segment ${label} needs at least one input`);
    this.current = { inputs, nodes: [], weights: new Map() };
    try {
      return body(...inputs);
    } finally {
      this.current = undefined;
    }
  }

  /** Emits `node` again on other inputs (a recomputation); the new value has the same meta, constant ints included. */
  reemit(node: TapeNode<V>, inputs: V[]): V {
    const output = node.toFloat ? this.toFloat(inputs[0]) : node.detached ? this.stopGradient(inputs[0]) : this.op(node.op, inputs, node.attrs);
    const ints = this.metaOf(node.output).ints;
    if (ints) this.metaOf(output).ints = ints;
    return output;
  }

  private record(node: TapeNode<V>): void {
    if (this.current) {
      node.segment = this.current;
      this.current.nodes.push(node);
    }
    this.nodes.push(node);
  }

  /**
   * A scalar 0 (compute dtype or int64) that ONNX Runtime can neither precompute nor run before `x` exists:
   * Less(s, s) for s = Σ x is false for every s, NaN included.
   */
  zeroAfter(x: V, kind: 'float' | 'int'): V {
    const never = this.op('Less', [...Array(2).fill(this.op('ReduceSum', [x], { keepdims: 0 }))]);
    return kind === 'float' ? this.toFloat(never) : this.op('Cast', [never], { to: 7 });
  }

  /** int64 0 that depends on the segment's first input. */
  private segmentZero(segment: Segment<V>): V {
    segment.zeroInt ??= this.zeroAfter(segment.inputs[0], 'int');
    return segment.zeroInt;
  }
}
