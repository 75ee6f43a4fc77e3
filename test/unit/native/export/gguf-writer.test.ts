// The GGUF v3 writer read back by an independent reader written from ggml docs/gguf.md: every metadata type, arrays,
// tensor infos (dims innermost first), offsets aligned to general.alignment, the data; Q8_0 blocks as ggml quantizes
// them; a failing tensor leaves neither the target nor a temp file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufMetadata, writeGguf } from '../../../../native/export/gguf-writer';
import { dequantizeQ8_0, encodeTensor, quantizeQ8_0 } from '../../../../native/export/gguf-quant';
import { readGguf } from './gguf-read';

test('GGUF writer: header, every KV type, tensor infos and aligned data read back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gguf-writer-'));
  try {
    for (const alignment of [32, 64]) {
      const meta = new GgufMetadata()
        .string('general.architecture', 'llama').u32('general.alignment', alignment)
        .set('u8', { type: 'UINT8', value: 200 }).set('i8', { type: 'INT8', value: -5 })
        .set('u16', { type: 'UINT16', value: 60000 }).set('i16', { type: 'INT16', value: -300 })
        .i32('i32', -70000).f32('f32', 0.5).bool('yes', true)
        .set('u64', { type: 'UINT64', value: 2n ** 40n }).set('i64', { type: 'INT64', value: -(2n ** 40n) })
        .set('f64', { type: 'FLOAT64', value: 1e-300 })
        .array('tokens', 'STRING', ['a', 'ü', '<|im_end|>']).array('types', 'INT32', [1, 3, 6]);
      const a = Float32Array.from({ length: 3 * 5 }, (_, i) => i - 7);
      const b = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i));
      const path = join(dir, `m${alignment}.gguf`);
      const size = await writeGguf(path, meta.map, [
        { name: 'a.weight', shape: [3, 5], type: 'F32', data: () => encodeTensor(a, 'F32') },
        { name: 'b.weight', shape: [2, 64], type: 'Q8_0', data: () => [quantizeQ8_0(b.subarray(0, 64)), quantizeQ8_0(b.subarray(64))] },
        { name: 'c.bias', shape: [5], type: 'F16', data: () => encodeTensor(Float32Array.of(1, 2, 3, 0.5, -4), 'F16') },
      ]);
      const bytes = readFileSync(path);
      assert.equal(bytes.length, size);
      const file = readGguf(bytes);
      assert.equal(file.version, 3);
      assert.deepEqual([...file.kv.entries()], [
        ['general.architecture', 'llama'], ['general.alignment', alignment], ['u8', 200], ['i8', -5], ['u16', 60000], ['i16', -300],
        ['i32', -70000], ['f32', 0.5], ['yes', true], ['u64', 2 ** 40], ['i64', -(2n ** 40n)], ['f64', 1e-300],
        ['tokens', ['a', 'ü', '<|im_end|>']], ['types', [1, 3, 6]],
      ]);
      assert.deepEqual(file.tensors.map((t) => [t.name, t.dims, t.type]), [['a.weight', [5, 3], 0], ['b.weight', [64, 2], 8], ['c.bias', [5], 1]]);
      for (const t of file.tensors) assert.equal(t.offset % alignment, 0, `${t.name} offset ${t.offset} is not aligned to ${alignment}`);
      assert.equal(file.dataStart % alignment, 0);
      const at = (name: string) => file.dataStart + file.tensors.find((t) => t.name === name)!.offset;
      assert.deepEqual(new Float32Array(bytes.buffer.slice(bytes.byteOffset + at('a.weight'), bytes.byteOffset + at('a.weight') + 60)), a);
      const q = dequantizeQ8_0(bytes.subarray(at('b.weight'), at('b.weight') + 136));
      for (let i = 0; i < b.length; i++) assert.ok(Math.abs(q[i] - b[i]) <= 1 / 127 / 2 + 1e-3, `Q8_0 value ${i}: ${q[i]} vs ${b[i]}`);
      assert.equal(bytes.readUInt16LE(at('c.bias') + 6), 0x3800, 'f16 0.5');
      assert.equal(size, at('c.bias') + alignment, 'the last tensor (10 bytes) is padded to the alignment too');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Q8_0: scale max|x|/127 as f16, values rounded half away from zero (ggml quantize_row_q8_0_ref)', () => {
  const x = Float32Array.from({ length: 32 }, (_, i) => (i - 16) / 16 * 1.27);
  x[3] = -1.27 * 1.5; // the block's largest magnitude, negative
  const q = quantizeQ8_0(x);
  assert.equal(q.length, 34);
  const d = Math.fround(1.27 * 1.5 / 127);
  assert.ok(Math.abs(dequantizeQ8_0(q)[3] - -1.27 * 1.5) < 1e-3);
  const ints = new Int8Array(q.buffer, 2, 32);
  assert.equal(ints[3], -127);
  for (let i = 0; i < 32; i++) {
    const v = Math.fround(x[i] * Math.fround(1 / d));
    assert.equal(ints[i], Math.sign(v) * Math.round(Math.abs(v)), `value ${i}`);
  }
  // A half rounds away from zero, as C roundf (Math.round would give -2 for -2.5).
  const half = new Float32Array(32);
  half[0] = 127;
  half[1] = -2.5;
  assert.equal(new Int8Array(quantizeQ8_0(half).buffer, 2, 32)[1], -3);
  assert.deepEqual([...new Int8Array(quantizeQ8_0(new Float32Array(32)).buffer, 2, 32)], new Array(32).fill(0), 'an all-zero block stays zero');
});

test('GGUF writer: a tensor that fails, has the wrong size or is cancelled leaves no file and no temp file behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gguf-writer-'));
  try {
    const meta = new GgufMetadata().string('general.architecture', 'llama');
    const path = join(dir, 'x.gguf');
    await assert.rejects(writeGguf(path, meta.map, [{ name: 'a', shape: [4], type: 'F32', data: () => { throw new Error('disk gone'); } }]), /disk gone/);
    await assert.rejects(writeGguf(path, meta.map, [{ name: 'a', shape: [4], type: 'F32', data: () => new Uint8Array(12) }]), /produced 12 bytes.*need 16/);
    await assert.rejects(writeGguf(path, meta.map, [{ name: 'a', shape: [2, 40], type: 'Q8_0', data: () => new Uint8Array(0) }]), /multiple of 32/);
    // Cancel after the first tensor: the second is never produced.
    let produced = 0;
    let stop = false;
    const tensor = (name: string) => ({ name, shape: [4], type: 'F32' as const, data: () => { produced++; return new Uint8Array(16); } });
    await assert.rejects(writeGguf(path, meta.map, [tensor('a'), tensor('b')], { cancelled: () => stop, onProgress: () => { stop = true; } }), (e: Error) => e.name === 'ExportCancelled');
    assert.equal(produced, 1);
    // A signal handler runs on the event loop: a write that never yields (as a synchronous loop did) would not see it.
    // An immediate queued before the write stands in for SIGTERM's handler; it must stop the write before any tensor.
    produced = 0;
    let signalled = false;
    setImmediate(() => { signalled = true; });
    await assert.rejects(writeGguf(path, meta.map, [tensor('a'), tensor('b')], { cancelled: () => signalled }), (e: Error) => e.name === 'ExportCancelled');
    assert.equal(produced, 0);
    assert.equal(existsSync(path), false);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
