// K optimizer steps per run(): wraps a one-step ONNX model (state in → state out, plus per-step data) in an ONNX Loop,
// so parameters and moments cross the host/device boundary once per K steps (see shared GPU.md: no IO binding from JS).
// Per-step inputs are fed stacked on a new leading axis [K, …]; per-step outputs (loss, grad norm) come back stacked.
// Body values are renamed with a 'b/' prefix so no name of the body shadows one of the outer graph; initializers stay in
// the outer graph (frozen weights are uploaded once, read by every iteration through outer scope).
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema, AttributeProto_AttributeType, GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, TensorProtoSchema, TensorProto_DataType,
  TensorShapeProto_DimensionSchema, type ValueInfoProto,
} from 'onnx-buf';

export interface KStepOptions {
  k: number;
  /** [input name, output name] of every state tensor: output of step i feeds input of step i+1. */
  state: [string, string][];
  /** Inputs that change per step (micro-batch data, lr, step number): fed as '<name>' with shape [K, …]. */
  perStep: string[];
}

/** Returns the bytes of a model with the same input names (per-step ones stacked) whose state outputs are after K steps. */
export function wrapKSteps(stepModel: Uint8Array, opts: KStepOptions): Uint8Array {
  const model = fromBinary(ModelProtoSchema, stepModel);
  const inner = model.graph!;
  const stateIn = new Map(opts.state.map(([i, o]) => [i, o]));
  const stateOuts = new Set(opts.state.map(([, o]) => o));
  const perStep = new Set(opts.perStep);
  const initNames = new Set(inner.initializer.map((t) => t.name));
  const inputByName = new Map(inner.input.map((v) => [v.name, v]));
  for (const name of [...stateIn.keys(), ...perStep]) if (!inputByName.has(name)) throw new Error(`wrapKSteps: the step model has no input "${name}"`);
  for (const name of stateOuts) if (!inner.output.some((v) => v.name === name)) throw new Error(`wrapKSteps: the step model has no output "${name}"`);

  // Inside the body, everything but outer-scope values (shared inputs, initializers) gets the prefix.
  const local = (name: string) => (name === '' || initNames.has(name) || (inputByName.has(name) && !stateIn.has(name) && !perStep.has(name)) ? name : `b/${name}`);
  const bool = TensorProto_DataType.BOOL, int64 = TensorProto_DataType.INT64;
  const scalarInfo = (name: string, elemType: number): ValueInfoProto => {
    const v = structuredCloneInfo(inner.input[0]);
    v.name = name;
    if (v.type?.value.case === 'tensorType') {
      v.type.value.value.elemType = elemType;
      v.type.value.value.shape!.dim = [];
    }
    return v;
  };
  const renamed = (v: ValueInfoProto, name: string) => Object.assign(structuredCloneInfo(v), { name });

  const bodyNodes = [
    ...opts.perStep.map((name) => create(NodeProtoSchema, {
      opType: 'Gather', input: [name, 'b/iter'], output: [local(name)], name: `step ${name}`,
      attribute: [create(AttributeProtoSchema, { name: 'axis', type: AttributeProto_AttributeType.INT, i: 0n })],
    })),
    ...inner.node.map((n) => Object.assign(n, { input: n.input.map(local), output: n.output.map(local) })),
    create(NodeProtoSchema, { opType: 'Identity', input: ['b/cond'], output: ['b/cond_out'] }),
  ];
  // Per-step outputs (everything that is not state) become scan outputs, stacked on a new leading axis.
  const scans = inner.output.filter((v) => !stateOuts.has(v.name));
  const body = create(GraphProtoSchema, {
    name: 'step',
    node: bodyNodes,
    input: [scalarInfo('b/iter', int64), scalarInfo('b/cond', bool), ...opts.state.map(([i]) => renamed(inputByName.get(i)!, local(i)))],
    output: [scalarInfo('b/cond_out', bool), ...opts.state.map(([, o]) => renamed(inner.output.find((v) => v.name === o)!, local(o))), ...scans.map((v) => renamed(v, local(v.name)))],
  });

  const constant = (name: string, dataType: number, raw: Uint8Array) => create(TensorProtoSchema, { name, dims: [], dataType, rawData: new Uint8Array(raw) });
  const stacked = (v: ValueInfoProto) => {
    const c = structuredCloneInfo(v);
    if (c.type?.value.case === 'tensorType') c.type.value.value.shape!.dim.unshift(create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(opts.k) } }));
    return c;
  };
  model.graph = create(GraphProtoSchema, {
    name: `${inner.name} x${opts.k}`,
    initializer: [...inner.initializer, constant('loop/K', int64, new Uint8Array(BigInt64Array.from([BigInt(opts.k)]).buffer)), constant('loop/true', bool, Uint8Array.from([1]))],
    input: inner.input.map((v) => (perStep.has(v.name) ? stacked(v) : v)),
    output: [...opts.state.map(([, o]) => inner.output.find((v) => v.name === o)!), ...scans.map(stacked)],
    node: [create(NodeProtoSchema, {
      opType: 'Loop', name: 'k steps',
      input: ['loop/K', 'loop/true', ...opts.state.map(([i]) => i)],
      output: [...opts.state.map(([, o]) => o), ...scans.map((v) => v.name)],
      attribute: [create(AttributeProtoSchema, { name: 'body', type: AttributeProto_AttributeType.GRAPH, g: body })],
    })],
  });
  return toBinary(ModelProtoSchema, model);
}

/** A deep copy of a ValueInfoProto (protobuf-es messages are plain objects with bigint fields). */
function structuredCloneInfo(v: ValueInfoProto): ValueInfoProto {
  return structuredClone(v);
}
