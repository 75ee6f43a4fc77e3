// safetensors, read lazily and written atomically. Format (huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}} padded with
// spaces, then the tensor bytes; offsets are relative to the end of the header. Reading parses only the header and
// then each tensor by its byte range, so a 16 GB model never enters the JS heap (and ONNX external data can point
// at the same ranges).
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { UserError } from '../util/errors';
import { writeFileAtomic } from '../util/atomic-write';
import { checkModelFileLinks } from './folder-links';

export type StDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const ST_DTYPE_BYTES: Record<StDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface StEntry {
  name: string;
  dtype: StDType;
  shape: number[];
  /** Absolute byte offset in the file. */
  offset: number;
  /** Bytes. */
  length: number;
}

export interface SafetensorsFile {
  path: string;
  entries: Map<string, StEntry>;
  metadata: Record<string, string>;
}

/** Headers above this are refused as corrupt (the reference implementation caps at 100 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function corrupt(path: string, what: string): UserError {
  return new UserError(`${what}`, { where: { file: path }, fix: 'the file is damaged or not a .safetensors file; download or export it again' });
}

export function openSafetensors(path: string): SafetensorsFile {
  if (!existsSync(path)) throw new UserError(`file not found: ${path}`, { where: { file: path }, fix: 'check the model or adapter folder' });
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw corrupt(path, `too short to be a safetensors file (${size} bytes)`);
    const prefix = Buffer.alloc(8);
    readSync(fd, prefix, 0, 8, 0);
    const headerLength = Number(prefix.readBigUInt64LE(0));
    if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) throw corrupt(path, `header length ${headerLength} does not fit the file (${size} bytes)`);
    const headerBytes = Buffer.alloc(headerLength);
    readSync(fd, headerBytes, 0, headerLength, 8);
    let header: unknown;
    try {
      header = JSON.parse(headerBytes.toString('utf8'));
    } catch (error) {
      throw corrupt(path, `header is not valid JSON (${(error as Error).message})`);
    }
    if (!isObject(header)) throw corrupt(path, `header is ${JSON.stringify(header)?.slice(0, 40)}, not a JSON object of tensors`);
    const dataStart = 8 + headerLength;
    const entries = new Map<string, StEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(header)) {
      if (name === '__metadata__') {
        if (value !== null && (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string'))) throw corrupt(path, '__metadata__ is not an object of strings');
        metadata = (value ?? {}) as Record<string, string>;
        continue;
      }
      const info = value as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
      if (!isObject(info) || typeof info.dtype !== 'string' || !(info.dtype in ST_DTYPE_BYTES)) throw corrupt(path, `tensor ${name}: unsupported dtype ${JSON.stringify(isObject(info) ? info.dtype : info)}`);
      const dtype = info.dtype as StDType;
      const shape = info.shape ?? [];
      if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
        throw corrupt(path, `tensor ${name}: shape ${JSON.stringify(info.shape)} is not a list of whole numbers ≥ 0`);
      }
      const offsets = Array.isArray(info.data_offsets) ? info.data_offsets : [NaN, NaN];
      const [begin, end] = offsets;
      // dtype size × product(shape), exact: a product past 2^53 cannot be a tensor of a file that fits on a disk.
      const expected = shape.reduce((a, b) => a * b, 1) * ST_DTYPE_BYTES[dtype];
      // Offsets count from the end of the header: a negative begin would read the header itself as weights.
      if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || !Number.isSafeInteger(expected) || end - begin !== expected || dataStart + end > size) {
        throw corrupt(path, `tensor ${name}: data_offsets [${begin}, ${end}] do not match its shape [${shape}] ${dtype} (${Number.isSafeInteger(expected) ? expected : 'too many'} bytes) or lie outside the data area (${size - dataStart} bytes)`);
      }
      entries.set(name, { name, dtype, shape, offset: dataStart + begin, length: end - begin });
    }
    checkTiling(path, [...entries.values()], dataStart, size);
    return { path, entries, metadata };
  } finally {
    closeSync(fd);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The tensors must tile the data area, in offset order, without overlap or gap, to the end of the file — what the
 * reference reader (huggingface/safetensors, `validate`) requires. Two tensors sharing bytes would silently alias.
 */
function checkTiling(path: string, entries: StEntry[], dataStart: number, size: number): void {
  const sorted = entries.filter((e) => e.length > 0).sort((a, b) => a.offset - b.offset);
  let next = dataStart;
  for (const entry of sorted) {
    if (entry.offset < next) {
      const other = sorted.find((e) => e !== entry && e.offset < entry.offset + entry.length && entry.offset < e.offset + e.length);
      throw corrupt(path, `tensor ${entry.name} overlaps tensor ${other?.name ?? 'another'} (data_offsets [${entry.offset - dataStart}, ${entry.offset - dataStart + entry.length}])`);
    }
    if (entry.offset > next) throw corrupt(path, `${entry.offset - next} bytes before tensor ${entry.name} (at data offset ${next - dataStart}) belong to no tensor`);
    next = entry.offset + entry.length;
  }
  if (next !== size) throw corrupt(path, `${size - next} bytes after the last tensor belong to no tensor (a truncated or appended file)`);
}

function entryOf(file: SafetensorsFile, name: string): StEntry {
  const entry = file.entries.get(name);
  if (!entry) throw new UserError(`tensor ${name} is not in ${file.path}`, { where: { file: file.path }, fix: 'check that the model/adapter matches (tensor names differ)' });
  return entry;
}

/** The tensor's raw bytes, read by offset. */
export function readTensorBytes(file: SafetensorsFile, name: string): Uint8Array {
  const entry = entryOf(file, name);
  const bytes = new Uint8Array(entry.length);
  const fd = openSync(file.path, 'r');
  try {
    let read = 0;
    while (read < entry.length) {
      const n = readSync(fd, bytes, read, entry.length - read, entry.offset + read);
      // A file that shrank since its header was read: looping on 0 bytes would never end.
      if (n === 0) throw corrupt(file.path, `tensor ${name} ends past the end of the file (it shrank while being read)`);
      read += n;
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/** The tensor as float32 (F16/BF16/F64 converted). */
export function readTensorF32(file: SafetensorsFile, name: string): Float32Array {
  const entry = entryOf(file, name);
  const bytes = readTensorBytes(file, name);
  const count = entry.length / ST_DTYPE_BYTES[entry.dtype];
  switch (entry.dtype) {
    case 'F32':
      return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    case 'F64':
      return Float32Array.from(new Float64Array(bytes.buffer, bytes.byteOffset, count));
    case 'BF16':
      return bf16ToF32(new Uint16Array(bytes.buffer, bytes.byteOffset, count));
    case 'F16':
      return f16ToF32(new Uint16Array(bytes.buffer, bytes.byteOffset, count));
    default:
      throw new UserError(`tensor ${name} is ${entry.dtype}, not a floating-point tensor`, { where: { file: file.path } });
  }
}

export interface WeightStore {
  files: SafetensorsFile[];
  entry(name: string): { file: SafetensorsFile; entry: StEntry } | undefined;
  names(): string[];
}

/** A model folder's weights: model.safetensors, or the shards listed in model.safetensors.index.json. */
export function openWeights(modelDir: string): WeightStore {
  const indexPath = join(modelDir, 'model.safetensors.index.json');
  checkModelFileLinks(modelDir, [indexPath, join(modelDir, 'model.safetensors')]);
  let paths: string[];
  if (existsSync(indexPath)) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(readFileSync(indexPath, 'utf8')) as typeof index;
    } catch (error) {
      throw new UserError(`model.safetensors.index.json is not valid JSON: ${(error as Error).message}`, { where: { file: indexPath } });
    }
    if (!index.weight_map || typeof index.weight_map !== 'object') throw new UserError('model.safetensors.index.json has no "weight_map" object', { where: { file: indexPath } });
    for (const [tensor, shard] of Object.entries(index.weight_map)) {
      // A shard is a file of this folder: an index must not make LoRA Studio read (or merge write) files elsewhere.
      if (typeof shard !== 'string' || shard === '' || isAbsolute(shard) || shard.split(/[\\/]/).some((part) => part === '..' || part === '')) {
        throw new UserError(`weight_map["${tensor}"] is ${JSON.stringify(shard)}, not the name of a shard file in this folder`, {
          where: { file: indexPath, field: 'weight_map' }, fix: 'each value must be a shard file name such as "model-00001-of-00002.safetensors"',
        });
      }
    }
    paths = [...new Set(Object.values(index.weight_map))].sort().map((shard) => join(modelDir, shard));
    const missing = paths.filter((path) => !existsSync(path));
    if (missing.length > 0) {
      throw new UserError(`missing weight shard(s): ${missing.join(', ')}`, { where: { file: indexPath }, fix: 'download every shard the index lists' });
    }
    checkModelFileLinks(modelDir, paths);
  } else if (existsSync(join(modelDir, 'model.safetensors'))) {
    paths = [join(modelDir, 'model.safetensors')];
  } else {
    throw new UserError(`no model.safetensors or model.safetensors.index.json in ${modelDir}`, {
      where: { file: modelDir },
      fix: 'LoRA Studio reads safetensors weights; convert pytorch_model.bin with transformers (save_pretrained(safe_serialization=True))',
    });
  }
  const files = paths.map(openSafetensors);
  const byName = new Map<string, { file: SafetensorsFile; entry: StEntry }>();
  for (const file of files) for (const entry of file.entries.values()) byName.set(entry.name, { file, entry });
  return { files, entry: (name) => byName.get(name), names: () => [...byName.keys()] };
}

export interface TensorToWrite {
  name: string;
  dtype: StDType;
  shape: number[];
  data: Uint8Array | Float32Array | Float64Array | Uint16Array | Int32Array | BigInt64Array;
}

/** The bytes of a safetensors file (header padded to 8 bytes, tensors in the given order). */
export function encodeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const bodies: Uint8Array[] = [];
  for (const tensor of tensors) {
    const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    const expected = tensor.shape.reduce((a, b) => a * b, 1) * ST_DTYPE_BYTES[tensor.dtype];
    if (bytes.byteLength !== expected) throw new Error(`tensor ${tensor.name}: ${bytes.byteLength} bytes for shape [${tensor.shape}] ${tensor.dtype} (expected ${expected})`);
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    bodies.push(bytes);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return [prefix, Buffer.from(json, 'utf8'), ...bodies];
}

export function writeSafetensors(path: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

// Float conversions. bf16 is the top half of an f32; rounding to nearest even as torch does.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32ToBf16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i += 1) {
    f32[0] = values[i];
    const bits = u32[0];
    if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) out[i] = (bits >>> 16) | 0x40; // keep NaN a NaN
    else out[i] = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
  }
  return out;
}

export function bf16ToF32(values: Uint16Array): Float32Array {
  const out = new Float32Array(values.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < values.length; i += 1) bits[i] = values[i] << 16;
  return out;
}

export function f16ToF32(values: Uint16Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i += 1) {
    const h = values[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const fraction = h & 0x3ff;
    out[i] = exponent === 0 ? sign * 2 ** -14 * (fraction / 1024)
      : exponent === 0x1f ? (fraction ? NaN : sign * Infinity)
      : sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return out;
}

export function f32ToF16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i += 1) {
    f32[0] = values[i];
    const x = u32[0];
    const sign = (x >>> 16) & 0x8000;
    const exponent = ((x >>> 23) & 0xff) - 127 + 15;
    let mantissa = x & 0x7fffff;
    if (((x >>> 23) & 0xff) === 0xff) {
      out[i] = sign | 0x7c00 | (mantissa ? 0x200 : 0);
    } else if (exponent >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (exponent <= 0) {
      if (exponent < -10) {
        out[i] = sign;
      } else {
        mantissa |= 0x800000;
        const shift = 14 - exponent;
        const half = 1 << (shift - 1);
        let rounded = mantissa >>> shift;
        const rest = mantissa & ((1 << shift) - 1);
        if (rest > half || (rest === half && (rounded & 1))) rounded += 1;
        out[i] = sign | rounded;
      }
    } else {
      let rounded = (exponent << 10) | (mantissa >>> 13);
      const rest = mantissa & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (rounded & 1))) rounded += 1;
      out[i] = sign | rounded;
    }
  }
  return out;
}
