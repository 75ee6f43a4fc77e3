// A frozen weight's values on the host, as float32, exactly as the training graph sees them: a safetensors range
// decoded from its dtype, or an NF4 weight dequantized (level × absmax in float32, as native/engine/nf4.ts's graph
// does). DoRA's initial magnitudes are the row norms of these values, so a run starts exactly at the base model.
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { FileRange, WeightSource } from '../engine/onnx-export';
import { NF4_BLOCK, NF4_LEVELS } from '../engine/nf4';
import { bf16ToF32, f16ToF32 } from './safetensors';

function readRange(dir: string, range: FileRange): Uint8Array {
  const bytes = new Uint8Array(range.length);
  const fd = openSync(join(dir, range.location), 'r');
  try {
    let done = 0;
    while (done < range.length) {
      const n = readSync(fd, bytes, done, range.length - done, range.offset + done);
      if (n === 0) throw new Error(`${range.location} ends before byte ${range.offset + range.length}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/** The values of a weight source (`dir`: the folder file ranges are relative to). */
export function weightValues(source: WeightSource, dir: string): Float32Array {
  if (source.kind === 'data') return Float32Array.from(source.data);
  if (source.kind === 'file') {
    const bytes = readRange(dir, source);
    const count = source.length / (source.dtype === 'F64' ? 8 : source.dtype === 'F32' ? 4 : 2);
    const aligned = bytes.buffer;
    if (source.dtype === 'F32') return new Float32Array(aligned, 0, count);
    if (source.dtype === 'F64') return Float32Array.from(new Float64Array(aligned, 0, count));
    const halves = new Uint16Array(aligned, 0, count);
    return source.dtype === 'BF16' ? bf16ToF32(halves) : f16ToF32(halves);
  }
  const codes = source.codes instanceof Uint8Array ? source.codes : readRange(dir, source.codes);
  const absmaxBytes = source.absmax instanceof Float32Array ? undefined : readRange(dir, source.absmax);
  const absmax = source.absmax instanceof Float32Array ? source.absmax : new Float32Array(absmaxBytes!.buffer, 0, absmaxBytes!.length / 4);
  const values = new Float32Array(codes.length * 2);
  for (let i = 0; i < codes.length; i++) {
    const scale = absmax[Math.floor((2 * i) / NF4_BLOCK)];
    values[2 * i] = Math.fround(NF4_LEVELS[codes[i] >> 4] * scale);
    values[2 * i + 1] = Math.fround(NF4_LEVELS[codes[i] & 15] * scale);
  }
  return values;
}
