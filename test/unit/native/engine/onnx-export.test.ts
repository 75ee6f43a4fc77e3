// The ONNX writer (native/engine/onnx-export.ts): what it leaves out of the serialized graph.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { OnnxGraphSink } from '../../../../native/engine/onnx-export';

test('nodes no output depends on are not written (ONNX Runtime would run them last and keep their inputs alive)', async () => {
  const g = new OnnxGraphSink('float32', () => ({ kind: 'data', data: new Float32Array(0) }));
  const x = g.input('x', 'float', [2]);
  const used = g.op('Exp', [x]);
  const deadInput = g.op('Mul', [used, used]);
  g.op('Neg', [deadInput]); // dead, and so is the Mul that only it reads
  g.output('y', g.op('Add', [used, x]));
  const nodes = fromBinary(ModelProtoSchema, g.toBytes()).graph!.node.map((n) => n.opType);
  assert.deepEqual(nodes, ['Exp', 'Add', 'Identity']);
  const session = await ort.InferenceSession.create(g.toBytes());
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(0, 1), [2]) });
  assert.deepEqual([...(out.y.data as Float32Array)].map((v) => +v.toFixed(5)), [1, +(Math.E + 1).toFixed(5)]);
});
