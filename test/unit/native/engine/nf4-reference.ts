// The host-side reference of NF4 dequantization (level × absmax, in float32) for tests: production dequantizes in the
// graph only (native/engine/nf4.ts nf4DequantizeGraph), and the tests check the graph against this.
import { NF4_BLOCK, NF4_LEVELS, type Nf4Tensor } from '../../../../native/engine/nf4';

/** The float32 values an NF4 tensor stands for: level × absmax (what the graph must compute before each product). */
export function dequantizeNf4(t: Nf4Tensor): Float32Array {
  const out = new Float32Array(t.codes.length * 2);
  for (let i = 0; i < out.length; i++) {
    const byte = t.codes[i >> 1];
    const code = i % 2 === 0 ? byte >> 4 : byte & 15;
    out[i] = Math.fround(NF4_LEVELS[code] * t.absmax[Math.floor(i / NF4_BLOCK)]);
  }
  return out;
}

