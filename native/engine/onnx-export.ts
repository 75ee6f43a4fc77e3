// The ONNX writer behind `GraphSink` (native/model/llama.ts): every graph the product runs — generation, evaluation
// and, with the engine's tape and autodiff emitting the backward pass through it, training. Frozen weights are
// initializers that either carry data (tests) or point into the model's safetensors files as ONNX external data
// (offset + length, never copied), cast in-graph from bf16/f16 to the compute dtype.
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema, AttributeProto_AttributeType, GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema, TensorProtoSchema, TensorProto_DataLocation, TensorProto_DataType, TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema, TypeProtoSchema, TypeProto_TensorSchema, ValueInfoProtoSchema,
  type AttributeProto, type NodeProto, type TensorProto, type ValueInfoProto,
} from 'onnx-buf';
import type { Attr, GraphSink, StoredWeight } from './graph';
import { NF4_BLOCK, nf4DequantizeGraph } from './nf4';

export const ONNX_OPSET = 17;
export type ComputeDtype = 'float32' | 'float64';

/** Where a frozen weight's bytes are: inline data (tests) or a byte range of a file on disk (safetensors). */
/** Bytes of a file: ONNX external data, `location` relative to the folder ORT confines external data to. */
export interface FileRange {
  location: string;
  offset: number;
  length: number;
}

export type WeightSource =
  | { kind: 'data'; data: Float32Array | Float64Array }
  | ({ kind: 'file'; dtype: 'F32' | 'F16' | 'BF16' | 'F64' } & FileRange)
  /** NF4 (native/engine/nf4.ts): codes uint8 [n/2] and absmax float32 [n/64], in a file or in memory. */
  | { kind: 'nf4'; codes: FileRange | Uint8Array; absmax: FileRange | Float32Array };

const ELEM: Record<string, number> = {
  F32: TensorProto_DataType.FLOAT, F16: TensorProto_DataType.FLOAT16, BF16: TensorProto_DataType.BFLOAT16, F64: TensorProto_DataType.DOUBLE,
};

function valueInfo(name: string, elemType: number, shape: number[]): ValueInfoProto {
  const dims = shape.map((d) => create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(d) } }));
  const tensorType = create(TypeProto_TensorSchema, { elemType, shape: create(TensorShapeProtoSchema, { dim: dims }) });
  return create(ValueInfoProtoSchema, { name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }) });
}

function attribute(name: string, value: Attr): AttributeProto {
  if (typeof value === 'string') return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(value) });
  if (Array.isArray(value)) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: value.map(BigInt) });
  // ONNX attributes that are floats in the ops used here; everything else is an integer.
  if (name === 'alpha' || name === 'beta' || name === 'epsilon') return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: value });
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(value) });
}

const BOOL_OUTPUT = new Set(['Equal', 'Not', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or']);

/** Collects nodes into an ONNX model. Value handles are tensor names. */
export class OnnxGraphSink implements GraphSink<string> {
  private nodes: NodeProto[] = [];
  private initializers: TensorProto[] = [];
  private inputs: ValueInfoProto[] = [];
  private outputs: ValueInfoProto[] = [];
  private weightValues = new Map<string, string>();
  private counter = 0;
  /** Element type of every value, so a graph can be audited per node (e.g. for CUDA kernels). */
  private types = new Map<string, string>();
  /** op, element type and name of every node, in order. */
  readonly nodeList: { op: string; type: string; name: string }[] = [];
  readonly inputNames: string[] = [];
  readonly outputNames: string[] = [];
  private readonly elem: number;

  constructor(private readonly dtype: ComputeDtype, private readonly weights: (hfName: string) => WeightSource) {
    this.elem = dtype === 'float64' ? TensorProto_DataType.DOUBLE : TensorProto_DataType.FLOAT;
  }

  private fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  private typeName(elem: number): string {
    const names: Record<number, string> = { 1: 'float', 2: 'uint8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'double', 16: 'bfloat16' };
    return names[elem] ?? `type${elem}`;
  }

  input(name: string, dtype: 'int64' | 'float', shape: number[]): string {
    this.types.set(name, this.typeName(dtype === 'int64' ? TensorProto_DataType.INT64 : this.elem));
    this.inputs.push(valueInfo(name, dtype === 'int64' ? TensorProto_DataType.INT64 : this.elem, shape));
    this.inputNames.push(name);
    return name;
  }

  param(name: string, shape: number[]): string {
    return this.input(name, 'float', shape);
  }

  weight(hfName: string, shape: number[], rows?: [number, number]): string {
    const key = rows ? `${hfName}[${rows[0]}:${rows[1]}]` : hfName;
    const known = this.weightValues.get(key);
    if (known) return known;
    const stored = this.storedWeight(hfName, shape);
    const whole = stored.nf4 ? nf4DequantizeGraph(this, stored.value, stored.nf4.absmax, shape) : this.toFloat(stored.value);
    const value = rows ? this.op('Slice', [whole, this.constInt([rows[0]]), this.constInt([rows[1]]), this.constInt([0])]) : whole;
    this.weightValues.set(key, value);
    return value;
  }

  storedWeight(hfName: string, shape: number[]): StoredWeight<string> {
    if (!this.types.has(hfName)) {
      const source = this.weights(hfName);
      if (source.kind === 'nf4') {
        const n = shape.reduce((a, b) => a * b, 1);
        this.initializers.push(this.rawTensor(hfName, [n / 2], TensorProto_DataType.UINT8, source.codes));
        this.initializers.push(this.rawTensor(`${hfName}.absmax`, [n / NF4_BLOCK], TensorProto_DataType.FLOAT, source.absmax));
        this.types.set(hfName, 'uint8');
        this.types.set(`${hfName}.absmax`, 'float');
      } else if (source.kind === 'data') {
        const data = this.dtype === 'float64' ? Float64Array.from(source.data) : Float32Array.from(source.data);
        this.initializers.push(this.rawTensor(hfName, shape, this.elem, data));
        this.types.set(hfName, this.typeName(this.elem));
      } else {
        this.initializers.push(this.rawTensor(hfName, shape, ELEM[source.dtype], source));
        this.types.set(hfName, this.typeName(ELEM[source.dtype]));
      }
    }
    const type = this.types.get(hfName);
    if (type === 'uint8') return { value: hfName, compute: false, nf4: { absmax: `${hfName}.absmax` } };
    const low = type === 'bfloat16' ? TensorProto_DataType.BFLOAT16 : type === 'float16' ? TensorProto_DataType.FLOAT16 : undefined;
    return { value: hfName, compute: type === this.typeName(this.elem), low };
  }

  /** An initializer from a file range (external data) or from bytes in memory. */
  private rawTensor(name: string, shape: number[], dataType: number, data: FileRange | Uint8Array | Float32Array | Float64Array): TensorProto {
    const dims = shape.map(BigInt);
    if (ArrayBuffer.isView(data)) {
      return create(TensorProtoSchema, { name, dims, dataType, rawData: Uint8Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) });
    }
    const entry = (key: string, v: string) => create(StringStringEntryProtoSchema, { key, value: v });
    return create(TensorProtoSchema, {
      name, dims, dataType, dataLocation: TensorProto_DataLocation.EXTERNAL,
      externalData: [entry('location', data.location), entry('offset', String(data.offset)), entry('length', String(data.length))],
    });
  }

  constant(values: ArrayLike<number>, shape: number[]): string {
    const name = this.fresh('const');
    const data = this.dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
    this.initializers.push(create(TensorProtoSchema, { name, dims: shape.map(BigInt), dataType: this.elem, rawData: new Uint8Array(data.buffer) }));
    this.types.set(name, this.typeName(this.elem));
    return name;
  }

  constInt(values: number[], shape: number[] = [values.length]): string {
    const name = this.fresh('int');
    const data = BigInt64Array.from(values.map(BigInt));
    this.initializers.push(create(TensorProtoSchema, { name, dims: shape.map(BigInt), dataType: TensorProto_DataType.INT64, rawData: new Uint8Array(data.buffer) }));
    this.types.set(name, 'int64');
    return name;
  }

  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    const output = this.fresh(type);
    const attribute_ = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    this.nodes.push(create(NodeProtoSchema, { opType: type, name: output, input: inputs, output: [output], attribute: attribute_ }));
    // Kernels are selected by the first input's type (Where: by its values); the output type follows the op.
    const inType = this.types.get(type === 'Where' ? inputs[1] : inputs[0]) ?? 'float';
    const outType = type === 'Cast' ? this.typeName(Number(attrs.to)) : BOOL_OUTPUT.has(type) ? 'bool' : inType;
    this.types.set(output, outType);
    this.nodeList.push({ op: type, type: inType, name: output });
    return output;
  }

  toFloat(x: string): string {
    if (this.types.get(x) === this.typeName(this.elem)) return x;
    return this.op('Cast', [x], { to: this.elem });
  }

  stopGradient(x: string): string {
    return this.op('Identity', [x]);
  }

  checkpoint(_label: string, inputs: string[], body: (...inputs: string[]) => string): string {
    return body(...inputs);
  }

  output(name: string, value: string): void {
    this.nodes.push(create(NodeProtoSchema, { opType: 'Identity', name, input: [value], output: [name] }));
    this.outputs.push(create(ValueInfoProtoSchema, { name }));
    this.outputNames.push(name);
  }

  /** The serialized model (opset 17). */
  /**
   * The serialized model (opset 17), without nodes no output depends on. ONNX Runtime runs every node it is given,
   * and its execution order puts a dead node last, so a dead node would keep its inputs alive to the end of the run
   * (autodiff's recomputation leaves some: a rule reads only some of a node's recomputed inputs).
   */
  toBytes(): Uint8Array {
    const needed = new Set(this.outputNames);
    const kept = new Set<NodeProto>();
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i];
      if (!node.output.some((o) => needed.has(o))) continue;
      kept.add(node);
      for (const input of node.input) needed.add(input);
    }
    const nodes = this.nodes.filter((n) => kept.has(n));
    const graph = create(GraphProtoSchema, { name: 'llama', node: nodes, initializer: this.initializers, input: this.inputs, output: this.outputs });
    const model = create(ModelProtoSchema, {
      irVersion: 8n, producerName: 'lora-studio', graph,
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(ONNX_OPSET) })],
    });
    return toBinary(ModelProtoSchema, model);
  }
}
