// NF4, the 4-bit NormalFloat of QLoRA (Dettmers et al. 2023) as bitsandbytes stores it: a weight flattened row-major
// in blocks of 64 values; each block keeps its absmax (float32) and one 4-bit code per value, the index of the NF4
// level nearest to value/absmax (computed in float32; an exact tie takes the lower level). Dequantized value =
// level × absmax. Two codes per byte, the first value in the high nibble (bitsandbytes' packing).
import { UserError } from '../util/errors';
import type { GraphSink } from './graph';

/** bitsandbytes' NF4 table (functional.py get_4bit_type('nf4')), ascending. */
export const NF4_LEVELS = Float32Array.of(
  -1, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1,
);

/** Values per absmax block. */
export const NF4_BLOCK = 64;

/** The code of level 0: what an all-zero block (absmax 0) stores. */
const ZERO_CODE = 7;

/**
 * Midpoints between neighbouring levels. Each is (a + b)/2 of two float32 levels in float64, exact, so comparing a
 * float32 value against it decides "nearest" exactly: above → the upper level, on it (a tie) → the lower.
 */
const MIDPOINTS = Float64Array.from({ length: 15 }, (_, i) => (NF4_LEVELS[i] + NF4_LEVELS[i + 1]) / 2);

/** The NF4 code of x = value/absmax (already rounded to float32). */
export function nf4Code(x: number): number {
  let code = 0;
  while (code < 15 && x > MIDPOINTS[code]) code += 1;
  return code;
}

/**
 * Why a weight of `shape` cannot be stored as NF4, or undefined: it must be a matrix whose rows are whole blocks (so a
 * block never straddles two rows), as every linear layer of the supported architectures is.
 */
export function nf4ShapeProblem(shape: readonly number[]): string | undefined {
  if (shape.length === 2 && shape[1] % NF4_BLOCK === 0) return undefined;
  return `its shape [${shape.join(', ')}] does not cut into whole blocks of ${NF4_BLOCK} values per row`;
}

/** The shapes an NF4 weight of `shape` is stored as: codes (uint8, two per byte) and absmax (float32, one per block). */
export function nf4StoredShapes(shape: readonly [number, number] | readonly number[]): { codes: [number, number]; absmax: [number] } {
  return { codes: [shape[0], shape[1] / 2], absmax: [(shape[0] * shape[1]) / NF4_BLOCK] };
}

export interface Nf4Tensor {
  /** Two codes per byte, value 2i in the high nibble of byte i. */
  codes: Uint8Array;
  /** One float32 absmax per block of NF4_BLOCK values. */
  absmax: Float32Array;
}

/**
 * Quantizes `values` (a weight [rows, cols] flattened row-major). `name` names the tensor in errors. Every row must
 * hold whole blocks (cols a multiple of 64), as every linear layer of the supported architectures does.
 */
export function quantizeNf4(values: Float32Array, shape: readonly number[], name: string): Nf4Tensor {
  const cols = shape[shape.length - 1];
  const problem = nf4ShapeProblem(shape) ?? (values.length !== shape[0] * cols ? `its ${values.length} values do not fill its shape [${shape.join(', ')}]` : undefined);
  if (problem) {
    throw new UserError(`cannot quantize ${name} to NF4: ${problem}`, {
      fix: 'NF4 needs every linear weight to be a matrix whose rows are a multiple of 64 values; train this model with --quantization none',
    });
  }
  const blocks = values.length / NF4_BLOCK;
  const codes = new Uint8Array(values.length / 2);
  const absmax = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const start = b * NF4_BLOCK;
    let max = 0;
    for (let i = start; i < start + NF4_BLOCK; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        throw new UserError(`cannot quantize ${name} to NF4: value ${i} (row ${Math.floor(i / cols)}, column ${i % cols}) is ${v}`, {
          fix: 'the model file holds a non-finite weight; re-download or re-export the model',
        });
      }
      max = Math.max(max, Math.abs(v));
    }
    absmax[b] = max;
    for (let i = start; i < start + NF4_BLOCK; i += 2) {
      const hi = max === 0 ? ZERO_CODE : nf4Code(Math.fround(values[i] / max));
      const lo = max === 0 ? ZERO_CODE : nf4Code(Math.fround(values[i + 1] / max));
      codes[i >> 1] = (hi << 4) | lo;
    }
  }
  return { codes, absmax };
}

/**
 * The two levels each byte stands for, [256 × 2] float32: the graph dequantizes by gathering rows of this table with
 * the bytes as indices, then scaling each block by its absmax.
 */
export function nf4PairTable(): Float32Array {
  const table = new Float32Array(512);
  for (let byte = 0; byte < 256; byte++) {
    table[2 * byte] = NF4_LEVELS[byte >> 4];
    table[2 * byte + 1] = NF4_LEVELS[byte & 15];
  }
  return table;
}

/** Each sink's [256, 2] pair-table constant, made on its first NF4 weight and shared by the rest. */
const pairTables = new WeakMap<object, unknown>();

/**
 * Emits the dequantization of an NF4 weight of `shape` (codes [n/2] uint8, absmax [n/64] float32) into the compute
 * dtype: gather each byte's two levels from the sink's nf4PairTable constant, scale each block by its absmax,
 * reshape. A weight's float copy exists only from here to its product (native/engine/tape.ts).
 */
export function nf4DequantizeGraph<V>(g: GraphSink<V>, codes: V, absmax: V, shape: readonly number[]): V {
  const n = shape.reduce((a, b) => a * b, 1);
  let table = pairTables.get(g) as V | undefined;
  if (table === undefined) pairTables.set(g, (table = g.constant(nf4PairTable(), [256, 2])));
  const pairs = g.op('Gather', [table, g.op('Cast', [codes], { to: INT32 })], { axis: 0 });
  const blocks = g.op('Reshape', [pairs, g.constInt([n / NF4_BLOCK, NF4_BLOCK])]);
  const scaled = g.op('Mul', [blocks, g.op('Reshape', [g.toFloat(absmax), g.constInt([n / NF4_BLOCK, 1])])]);
  return g.op('Reshape', [scaled, g.constInt([...shape])]);
}

/** ONNX element type int32: Gather's indices (uint8 is not an index type). */
const INT32 = 6;
