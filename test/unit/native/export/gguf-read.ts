// A GGUF reader written from ggml docs/gguf.md, independent of native/export: KV values (arrays as JS arrays), tensor
// infos (dims innermost first, as stored) and where the data section starts.
import assert from 'node:assert/strict';

export interface ReadTensor { name: string; dims: number[]; type: number; offset: number }

/** A GGUF reader from the spec: returns the KV values (arrays as JS arrays), tensor infos and the data section start. */
export function readGguf(bytes: Buffer): { version: number; kv: Map<string, unknown>; tensors: ReadTensor[]; dataStart: number } {
  let at = 0;
  const u32 = () => { const v = bytes.readUInt32LE(at); at += 4; return v; };
  const u64 = () => { const v = Number(bytes.readBigUInt64LE(at)); at += 8; return v; };
  const str = () => { const n = u64(); const s = bytes.toString('utf8', at, at + n); at += n; return s; };
  const value = (type: number): unknown => {
    switch (type) {
      case 0: return bytes.readUInt8(at++);
      case 1: return bytes.readInt8(at++);
      case 2: { const v = bytes.readUInt16LE(at); at += 2; return v; }
      case 3: { const v = bytes.readInt16LE(at); at += 2; return v; }
      case 4: return u32();
      case 5: { const v = bytes.readInt32LE(at); at += 4; return v; }
      case 6: { const v = bytes.readFloatLE(at); at += 4; return v; }
      case 7: return bytes.readUInt8(at++) === 1;
      case 8: return str();
      case 9: { const t = u32(); const n = u64(); return Array.from({ length: n }, () => value(t)); }
      case 10: return u64();
      case 11: { const v = bytes.readBigInt64LE(at); at += 8; return v; }
      case 12: { const v = bytes.readDoubleLE(at); at += 8; return v; }
      default: throw new Error(`unknown GGUF value type ${type}`);
    }
  };
  assert.equal(bytes.toString('ascii', 0, 4), 'GGUF');
  at = 4;
  const version = u32();
  const tensorCount = u64();
  const kvCount = u64();
  const kv = new Map<string, unknown>();
  for (let i = 0; i < kvCount; i++) { const key = str(); kv.set(key, value(u32())); }
  const tensors: ReadTensor[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const n = u32();
    const dims = Array.from({ length: n }, () => u64());
    tensors.push({ name, dims, type: u32(), offset: u64() });
  }
  const alignment = (kv.get('general.alignment') as number | undefined) ?? 32;
  return { version, kv, tensors, dataStart: Math.ceil(at / alignment) * alignment };
}
