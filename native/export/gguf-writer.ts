// GGUF v3 writer (ggml docs/gguf.md; gguf-py gguf_writer.py): the header ("GGUF", version 3, tensor and KV counts),
// the metadata key/values, the tensor infos (name, dims innermost first, ggml type, offset), padding to
// `general.alignment`, then each tensor's bytes, each padded to the alignment. Everything is little-endian.
//
// Streamed: the infos are written first from each tensor's declared size, then each tensor's bytes are produced and
// written one at a time, so a many-GB model never sits in memory whole. Atomic: a temp file in the same folder, fsync,
// rename (as native/util/atomic-write.ts), so a failed or cancelled export leaves no partial .gguf behind.
import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { makeDirs } from '../util/make-dirs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../util/errors';

/** gguf-py constants.py GGUFValueType. */
export const GGUF_VALUE = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;
export type GgufScalarType = Exclude<keyof typeof GGUF_VALUE, 'ARRAY'>;

/** ggml types written here (ggml.h enum ggml_type) with their block size and bytes per block. */
export const GGML_TYPE = {
  F32: { id: 0, block: 1, bytes: 4 },
  F16: { id: 1, block: 1, bytes: 2 },
  Q8_0: { id: 8, block: 32, bytes: 34 },
  BF16: { id: 30, block: 1, bytes: 2 },
} as const;
export type GgmlType = keyof typeof GGML_TYPE;

export const GGUF_DEFAULT_ALIGNMENT = 32;

/** A metadata value: a scalar of one type, or an array of one element type. */
export type GgufValue =
  | { type: GgufScalarType; value: number | bigint | boolean | string }
  | { type: 'ARRAY'; itemType: GgufScalarType; values: readonly (number | bigint | boolean | string)[] };

export interface GgufTensor {
  name: string;
  /** Row-major shape as in PyTorch/safetensors ([out, in] for a linear weight); GGUF stores it reversed. */
  shape: readonly number[];
  type: GgmlType;
  /** The tensor's bytes, produced when it is its turn (may be several chunks, e.g. row blocks). */
  data(): Uint8Array | Iterable<Uint8Array>;
}

/** Bytes a tensor of `shape` takes as `type` (the innermost dimension must be a whole number of blocks). */
export function tensorByteSize(shape: readonly number[], type: GgmlType): number {
  const t = GGML_TYPE[type];
  const inner = shape[shape.length - 1] ?? 1;
  if (inner % t.block !== 0) throw new Error(`a ${type} tensor needs its last dimension to be a multiple of ${t.block}, got [${shape.join(', ')}]`);
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return (rows * inner / t.block) * t.bytes;
}

/** Buffers small pieces (header, KV, infos) into one growing byte array. */
class ByteSink {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  u64(v: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  scalar(type: GgufScalarType, v: number | bigint | boolean | string): void {
    const b = Buffer.alloc(8);
    switch (type) {
      case 'UINT8': b.writeUInt8(Number(v)); return this.push(b.subarray(0, 1));
      case 'INT8': b.writeInt8(Number(v)); return this.push(b.subarray(0, 1));
      case 'UINT16': b.writeUInt16LE(Number(v)); return this.push(b.subarray(0, 2));
      case 'INT16': b.writeInt16LE(Number(v)); return this.push(b.subarray(0, 2));
      case 'UINT32': b.writeUInt32LE(Number(v)); return this.push(b.subarray(0, 4));
      case 'INT32': b.writeInt32LE(Number(v)); return this.push(b.subarray(0, 4));
      case 'FLOAT32': b.writeFloatLE(Number(v)); return this.push(b.subarray(0, 4));
      case 'BOOL': b.writeUInt8(v ? 1 : 0); return this.push(b.subarray(0, 1));
      case 'UINT64': b.writeBigUInt64LE(BigInt(v)); return this.push(b);
      case 'INT64': b.writeBigInt64LE(BigInt(v)); return this.push(b);
      case 'FLOAT64': b.writeDoubleLE(Number(v)); return this.push(b);
      case 'STRING': return this.string(String(v));
    }
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

const padTo = (n: number, alignment: number) => (alignment - (n % alignment)) % alignment;

/** The header, metadata and tensor infos; and the offset of each tensor within the data section. */
export function encodeGgufHead(metadata: ReadonlyMap<string, GgufValue>, tensors: readonly Pick<GgufTensor, 'name' | 'shape' | 'type'>[], alignment: number): { head: Buffer; offsets: number[]; sizes: number[] } {
  const sink = new ByteSink();
  sink.push(Buffer.from('GGUF', 'ascii'));
  sink.u32(3);
  sink.u64(tensors.length);
  sink.u64(metadata.size);
  for (const [key, value] of metadata) {
    sink.string(key);
    sink.u32(GGUF_VALUE[value.type]);
    if (value.type === 'ARRAY') {
      sink.u32(GGUF_VALUE[value.itemType]);
      sink.u64(value.values.length);
      for (const item of value.values) sink.scalar(value.itemType, item);
    } else {
      sink.scalar(value.type, value.value);
    }
  }
  const offsets: number[] = [];
  const sizes: number[] = [];
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new Error(`duplicate GGUF tensor name ${t.name}`);
    seen.add(t.name);
    sink.string(t.name);
    sink.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) sink.u64(t.shape[d]);
    sink.u32(GGML_TYPE[t.type].id);
    sink.u64(offset);
    const size = tensorByteSize(t.shape, t.type);
    offsets.push(offset);
    sizes.push(size);
    offset += size + padTo(size, alignment);
  }
  sink.push(Buffer.alloc(padTo(sink.length, alignment)));
  return { head: sink.bytes(), offsets, sizes };
}

export interface WriteGgufOptions {
  /** Called after each tensor is written (done, total, name). */
  onProgress?: (done: number, total: number, name: string) => void;
  /** Checked between tensors; true stops the export and removes the temp file. */
  cancelled?: () => boolean;
}

/**
 * Refuses a GGUF output path that would replace something else: a folder, or a file that is not a GGUF (`--out
 * model/model.safetensors` replaced the model's weights; `--out data.jsonl` the dataset). A GGUF there (an earlier
 * export) or an empty file is replaced. Checked before any work, and again when writing.
 */
export function checkGgufTarget(path: string): void {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return;
  if (stat.isDirectory()) throw new UserError(`${path} is a folder, not a file`, { fix: `pass a file path for the GGUF, e.g. ${join(path, 'model.gguf')}` });
  if (!stat.isFile()) throw new UserError(`${path} is not a regular file`, { fix: 'pass a new file path for the GGUF' });
  if (stat.size === 0) return;
  const magic = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, magic, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (magic.toString('latin1') !== 'GGUF') {
    throw new UserError(`${path} exists and is not a GGUF file: writing the GGUF would replace it`, { fix: 'choose a new path for the GGUF (nothing was written)' });
  }
}

/**
 * Writes a GGUF file atomically; resolves to its size in bytes. `general.alignment` in `metadata` sets the alignment.
 * Between tensors the event loop runs, so SIGINT/SIGTERM handlers (the UI's Cancel) can set `cancelled`.
 */
export async function writeGguf(path: string, metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensor[], options: WriteGgufOptions = {}): Promise<number> {
  const alignmentValue = metadata.get('general.alignment');
  const alignment = alignmentValue && alignmentValue.type !== 'ARRAY' ? Number(alignmentValue.value) : GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) throw new Error(`general.alignment must be a positive multiple of 8, got ${alignment}`);
  const { head, sizes } = encodeGgufHead(metadata, tensors, alignment);
  checkGgufTarget(path);
  makeDirs(dirname(path));
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temp, 'w');
  let total = 0;
  const write = (chunk: Uint8Array) => {
    let at = 0;
    while (at < chunk.byteLength) at += writeSync(fd, chunk, at, chunk.byteLength - at);
    total += chunk.byteLength;
  };
  try {
    write(head);
    for (const [i, t] of tensors.entries()) {
      await new Promise((next) => setImmediate(next));
      if (options.cancelled?.()) throw new ExportCancelled();
      const produced = t.data();
      let written = 0;
      for (const chunk of produced instanceof Uint8Array ? [produced] : produced) {
        write(chunk);
        written += chunk.byteLength;
      }
      if (written !== sizes[i]) throw new Error(`GGUF tensor ${t.name}: produced ${written} bytes, its shape and type need ${sizes[i]}`);
      write(new Uint8Array(padTo(written, alignment)));
      options.onProgress?.(i + 1, tensors.length, t.name);
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (error) {
    // A rename that fails (a folder appeared at the path) must not leave a model-sized temp file behind.
    rmSync(temp, { force: true });
    throw error;
  }
  return total;
}

/** Thrown when `cancelled()` turned true; the CLI reports it as a cancellation, not a failure. */
export class ExportCancelled extends Error {
  constructor() {
    super('export cancelled');
    this.name = 'ExportCancelled';
  }
}

/** A small builder for the metadata map, in insertion order (the order llama.cpp's dumps show). */
export class GgufMetadata {
  readonly map = new Map<string, GgufValue>();
  string(key: string, value: string): this { return this.set(key, { type: 'STRING', value }); }
  u32(key: string, value: number): this { return this.set(key, { type: 'UINT32', value }); }
  i32(key: string, value: number): this { return this.set(key, { type: 'INT32', value }); }
  f32(key: string, value: number): this { return this.set(key, { type: 'FLOAT32', value }); }
  bool(key: string, value: boolean): this { return this.set(key, { type: 'BOOL', value }); }
  array(key: string, itemType: GgufScalarType, values: readonly (number | bigint | boolean | string)[]): this {
    return this.set(key, { type: 'ARRAY', itemType, values });
  }
  set(key: string, value: GgufValue): this {
    this.map.set(key, value);
    return this;
  }
}
