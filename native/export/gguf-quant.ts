// float32 values → the bytes of a GGUF tensor type: F32, F16, BF16 (rounded to nearest even, as numpy/torch), and
// Q8_0 (ggml-quants.c quantize_row_q8_0_ref, gguf-py quants.py Q8_0): blocks of 32 values along a row, each stored as
// an f16 scale d = max|x| / 127 and 32 int8 q = round(x / d), rounding halves away from zero (C roundf).
import { f16ToF32, f32ToBf16, f32ToF16 } from '../model/safetensors';
import type { GgmlType } from './gguf-writer';

export const Q8_0_BLOCK = 32;

/** Q8_0 bytes of `values` (its length a multiple of 32; rows are contiguous, so blocks never straddle rows). */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % Q8_0_BLOCK !== 0) throw new Error(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values, got ${values.length}`);
  const blocks = values.length / Q8_0_BLOCK;
  const out = new Uint8Array(blocks * 34);
  const view = new DataView(out.buffer);
  const scale = new Float32Array(1);
  for (let b = 0; b < blocks; b++) {
    const base = b * Q8_0_BLOCK;
    let amax = 0;
    for (let i = 0; i < Q8_0_BLOCK; i++) amax = Math.max(amax, Math.abs(values[base + i]));
    const d = Math.fround(amax / 127);
    const id = d === 0 ? 0 : Math.fround(1 / d);
    scale[0] = d;
    view.setUint16(b * 34, f32ToF16(scale)[0], true);
    for (let i = 0; i < Q8_0_BLOCK; i++) {
      const x = Math.fround(values[base + i] * id);
      // roundf: halves away from zero (Math.round rounds -2.5 to -2).
      view.setInt8(b * 34 + 2 + i, Math.sign(x) * Math.round(Math.abs(x)));
    }
  }
  return out;
}

/** The bytes of `values` stored as `type`. */
export function encodeTensor(values: Float32Array, type: GgmlType): Uint8Array {
  switch (type) {
    case 'F32': return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case 'F16': { const h = f32ToF16(values); return new Uint8Array(h.buffer, h.byteOffset, h.byteLength); }
    case 'BF16': { const h = f32ToBf16(values); return new Uint8Array(h.buffer, h.byteOffset, h.byteLength); }
    case 'Q8_0': return quantizeQ8_0(values);
  }
}

/** Values back from Q8_0 bytes (for tests and checks): d · q. */
export function dequantizeQ8_0(bytes: Uint8Array): Float32Array {
  const blocks = bytes.length / 34;
  const out = new Float32Array(blocks * Q8_0_BLOCK);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < blocks; b++) {
    const d = f16ToF32(Uint16Array.of(view.getUint16(b * 34, true)))[0];
    for (let i = 0; i < Q8_0_BLOCK; i++) out[b * Q8_0_BLOCK + i] = d * view.getInt8(b * 34 + 2 + i);
  }
  return out;
}
