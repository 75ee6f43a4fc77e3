import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, openSafetensors, openWeights, readTensorF32, writeSafetensors,
} from '../../../../native/model/safetensors';

const dir = mkdtempSync(join(tmpdir(), 'st-'));

test('the written bytes follow the spec exactly: u64 header length, space-padded JSON header, data in order', () => {
  const path = join(dir, 'exact.safetensors');
  writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }], { format: 'pt' });
  const bytes = readFileSync(path);
  const header = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
  const expected = Buffer.concat([Buffer.from(new BigUint64Array([BigInt(padded.length)]).buffer), Buffer.from(padded), Buffer.from(new Float32Array([1, 2]).buffer)]);
  assert.deepEqual(bytes, expected);
});

test('round trip of f32, bf16 and f16 tensors, read lazily by offset', () => {
  const path = join(dir, 'round.safetensors');
  const values = new Float32Array([0.5, -1.25, 3, 65504, 1e-3]);
  writeSafetensors(path, [
    { name: 'w.f32', dtype: 'F32', shape: [5], data: values },
    { name: 'w.bf16', dtype: 'BF16', shape: [5], data: f32ToBf16(values) },
    { name: 'w.f16', dtype: 'F16', shape: [1, 5], data: f32ToF16(values) },
  ]);
  const file = openSafetensors(path);
  assert.deepEqual([...file.entries.keys()], ['w.f32', 'w.bf16', 'w.f16']);
  assert.deepEqual(file.entries.get('w.f16')?.shape, [1, 5]);
  assert.deepEqual(readTensorF32(file, 'w.f32'), values);
  const bf = readTensorF32(file, 'w.bf16');
  const hf = readTensorF32(file, 'w.f16');
  for (let i = 0; i < values.length; i += 1) {
    assert.ok(Math.abs(bf[i] - values[i]) <= Math.abs(values[i]) * 2 ** -8, `bf16 ${values[i]} → ${bf[i]}`);
    assert.ok(Math.abs(hf[i] - values[i]) <= Math.abs(values[i]) * 2 ** -10, `f16 ${values[i]} → ${hf[i]}`);
  }
});

test('bf16 rounds to nearest even; f16 handles subnormals, infinity and NaN', () => {
  // 1 + 2^-8 is exactly between two bf16 values (1 and 1 + 2^-7): ties go to the even one (1).
  assert.equal(bf16ToF32(f32ToBf16(new Float32Array([1 + 2 ** -8])))[0], 1);
  assert.equal(bf16ToF32(f32ToBf16(new Float32Array([1 + 3 * 2 ** -8])))[0], 1 + 2 ** -6);
  const special = f16ToF32(f32ToF16(new Float32Array([2 ** -20, Infinity, -Infinity, NaN, 1e6])));
  assert.equal(special[0], 2 ** -20);
  assert.equal(special[1], Infinity);
  assert.equal(special[2], -Infinity);
  assert.ok(Number.isNaN(special[3]));
  assert.equal(special[4], Infinity);
});

test('corrupt files name the file and the problem', () => {
  const short = join(dir, 'short.safetensors');
  writeFileSync(short, Buffer.from([1, 2, 3]));
  assert.throws(() => openSafetensors(short), /short\.safetensors: too short/);
  const lying = join(dir, 'lying.safetensors');
  const header = '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}';
  writeFileSync(lying, Buffer.concat([Buffer.from(new BigUint64Array([BigInt(header.length)]).buffer), Buffer.from(header), Buffer.alloc(8)]));
  assert.throws(() => openSafetensors(lying), /tensor a: data_offsets \[0, 8\] do not match its shape \[4\]/);
});

test('sharded weights through model.safetensors.index.json; a missing shard is named', () => {
  const model = mkdtempSync(join(tmpdir(), 'st-model-'));
  writeSafetensors(join(model, 'model-00001-of-00002.safetensors'), [{ name: 'x', dtype: 'F32', shape: [1], data: new Float32Array([1]) }]);
  writeSafetensors(join(model, 'model-00002-of-00002.safetensors'), [{ name: 'y', dtype: 'F32', shape: [1], data: new Float32Array([2]) }]);
  writeFileSync(join(model, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: 'model-00001-of-00002.safetensors', y: 'model-00002-of-00002.safetensors' } }));
  const weights = openWeights(model);
  assert.deepEqual(weights.names().sort(), ['x', 'y']);
  const y = weights.entry('y')!;
  assert.deepEqual(readTensorF32(y.file, 'y'), new Float32Array([2]));
  writeFileSync(join(model, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: 'gone.safetensors' } }));
  assert.throws(() => openWeights(model), /missing weight shard\(s\): .*gone\.safetensors/);
});

/** A safetensors file with this header and `dataBytes` bytes of data. */
function rawFile(name: string, header: object, dataBytes: number): string {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([prefix, json, Buffer.alloc(dataBytes)]));
  return path;
}

test('a header whose offsets point into the header, or whose shape is not a list of whole numbers, is refused as corrupt', () => {
  assert.throws(() => openSafetensors(rawFile('neg.safetensors', { w: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }, 8)), /data_offsets \[-8, 0\]/);
  assert.throws(() => openSafetensors(rawFile('abc.safetensors', { w: { dtype: 'F32', shape: 'abc', data_offsets: [0, 8] } }, 8)), /shape "abc" is not a list of whole numbers/);
  assert.throws(() => openSafetensors(rawFile('frac.safetensors', { w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 6] } }, 8)), /shape \[1\.5\]/);
});

test('an index may only name shard files of its own folder: ../, absolute paths and non-strings are refused', () => {
  const folder = join(dir, 'indexed');
  mkdirSync(folder, { recursive: true });
  writeSafetensors(join(folder, 'model-00001-of-00001.safetensors'), [{ name: 'w', dtype: 'F32', shape: [1], data: new Float32Array([1]) }]);
  for (const shard of ['../outside/x.safetensors', '/etc/passwd', 7, 'a//b.safetensors']) {
    writeFileSync(join(folder, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { w: shard } }));
    assert.throws(() => openWeights(folder), /weight_map\["w"\] is .*, not the name of a shard file in this folder/, String(shard));
  }
  writeFileSync(join(folder, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { w: 'model-00001-of-00001.safetensors' } }));
  assert.deepEqual(openWeights(folder).names(), ['w']);
});

test('tensors must tile the data area exactly (as the reference reader requires): overlap, gaps, trailing bytes and an overflowing shape are refused', () => {
  const f32 = (begin: number, end: number, n: number) => ({ dtype: 'F32', shape: [n], data_offsets: [begin, end] });
  assert.equal(openSafetensors(rawFile('tiled.safetensors', { a: f32(0, 8, 2), b: f32(8, 16, 2), e: { dtype: 'F32', shape: [0], data_offsets: [16, 16] } }, 16)).entries.size, 3);
  assert.throws(() => openSafetensors(rawFile('overlap.safetensors', { a: f32(0, 8, 2), b: f32(4, 12, 2) }, 12)), /tensor b overlaps tensor a/);
  assert.throws(() => openSafetensors(rawFile('gap.safetensors', { a: f32(0, 8, 2), b: f32(12, 20, 2) }, 20)), /4 bytes before tensor b \(at data offset 8\) belong to no tensor/);
  assert.throws(() => openSafetensors(rawFile('tail.safetensors', { a: f32(0, 8, 2) }, 12)), /4 bytes after the last tensor belong to no tensor/);
  assert.throws(() => openSafetensors(rawFile('beyond.safetensors', { a: f32(0, 16, 4) }, 8)), /outside the data area \(8 bytes\)/);
  assert.throws(() => openSafetensors(rawFile('huge.safetensors', { a: { dtype: 'F32', shape: [2 ** 40, 2 ** 20], data_offsets: [0, 8] } }, 8)), /\(too many bytes\)/);
});

test('a header that is not an object of tensors, or metadata that is not strings, is refused as corrupt, not a crash', () => {
  for (const header of [null, [1, 2], 'text', 3]) {
    const path = join(dir, 'not-object.safetensors');
    const json = JSON.stringify(header);
    writeFileSync(path, Buffer.concat([Buffer.from(new BigUint64Array([BigInt(json.length)]).buffer), Buffer.from(json)]));
    assert.throws(() => openSafetensors(path), /not-object\.safetensors: header is .* not a JSON object of tensors/);
  }
  assert.throws(() => openSafetensors(rawFile('meta.safetensors', { __metadata__: { format: 1 } }, 0)), /__metadata__ is not an object of strings/);
  assert.throws(() => openSafetensors(rawFile('num.safetensors', { a: 5 }, 0)), /tensor a: unsupported dtype 5/);
});

test('reading a tensor of a file that shrank after its header was read ends with an error instead of looping forever', () => {
  const path = join(dir, 'shrinks.safetensors');
  writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [4], data: new Float32Array([1, 2, 3, 4]) }]);
  const file = openSafetensors(path);
  truncateSync(path, statSync(path).size - 8);
  assert.throws(() => readTensorF32(file, 'a'), /shrinks\.safetensors: tensor a ends past the end of the file/);
});
