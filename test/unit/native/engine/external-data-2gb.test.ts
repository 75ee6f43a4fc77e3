// A model whose external data lies beyond 2 GB and 4 GB in a weights file loads and computes the right values: the
// frozen-weight path (OnnxGraphSink 'file' weights: offset + length into an existing file, bf16 cast in-graph).
// The file is sparse (ftruncate + two small writes), so the test costs no disk space and no CI minutes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, writeSync, ftruncateSync, closeSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxGraphSink } from '../../../../native/engine/onnx-export';
import { f32ToBf16 } from '../../../../native/model/safetensors';

test('weights at offsets past 2 GiB and 4 GiB of a sparse file load through external data (f32, and bf16 cast in-graph)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lora-ext-'));
  try {
    const f32Offset = 2 ** 31 + 4096, bf16Offset = 2 ** 32 + 8192, size = 2 ** 32 + 65536;
    const w32 = Float32Array.from([1.5, -2, 3.25, 4]);
    const w16 = f32ToBf16(Float32Array.from([0.5, 8, -0.25, 2]));
    const fd = openSync(join(dir, 'weights.bin'), 'w');
    ftruncateSync(fd, size);
    writeSync(fd, new Uint8Array(w32.buffer), 0, 16, f32Offset);
    writeSync(fd, new Uint8Array(w16.buffer), 0, 8, bf16Offset);
    closeSync(fd);
    assert.equal(statSync(join(dir, 'weights.bin')).size, size);

    const sources: Record<string, { dtype: 'F32' | 'BF16'; offset: number; length: number }> = {
      a: { dtype: 'F32', offset: f32Offset, length: 16 },
      b: { dtype: 'BF16', offset: bf16Offset, length: 8 },
    };
    const sink = new OnnxGraphSink('float32', (name) => ({ kind: 'file', location: 'weights.bin', ...sources[name] }));
    const x = sink.input('x', 'float', [4]);
    sink.output('y', sink.op('Add', [sink.op('Mul', [x, sink.weight('a', [4])]), sink.weight('b', [4])]));
    writeFileSync(join(dir, 'model.onnx'), sink.toBytes());

    const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), { executionProviders: ['cpu'] });
    const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [4]) });
    assert.deepEqual(Array.from(y.data as Float32Array), [1.5 + 0.5, -4 + 8, 9.75 - 0.25, 16 + 2]);
    await session.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
