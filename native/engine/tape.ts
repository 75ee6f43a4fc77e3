// TapeSink: a GraphSink that forwards every call to the sink that writes the graph (ONNX) and records what autodiff
// needs — each node (op, inputs, attributes, output) and each value's static shape and kind. The model code
// (native/model/llama.ts) stays unaware of training; the backward pass is emitted through the same sink afterwards.
import type { Attr, GraphSink } from './graph';
import { inferMeta, type ValueMeta } from './shapes';

export interface TapeNode<V> {
  op: string;
  inputs: V[];
  attrs: Record<string, Attr>;
  output: V;
}

export class TapeSink<V> implements GraphSink<V> {
  readonly nodes: TapeNode<V>[] = [];
  readonly meta = new Map<V, ValueMeta>();
  /** Trainable inputs by name. */
  readonly params = new Map<string, V>();
  readonly outputs = new Map<string, V>();

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

  weight(hfName: string, shape: number[]): V {
    const value = this.inner.weight(hfName, shape);
    this.meta.set(value, { shape, kind: 'float' });
    return value;
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
    this.nodes.push({ op: type, inputs, attrs, output });
    return output;
  }

  toFloat(x: V): V {
    const output = this.inner.toFloat(x);
    this.meta.set(output, { shape: this.shapeOf(x), kind: 'float' });
    // Recorded as a cast from a non-float value: it carries no gradient.
    this.nodes.push({ op: 'Cast', inputs: [x], attrs: {}, output });
    return output;
  }

  output(name: string, value: V): void {
    this.inner.output(name, value);
    this.outputs.set(name, value);
  }
}
