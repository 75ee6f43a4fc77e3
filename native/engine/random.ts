// Uniform random numbers drawn inside the graph from a per-step int64 seed input, and inverted-dropout masks.
// Counter-based (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"): a draw is a pure function of
// (seed, stream, flat element index), so a resumed run or a recomputed segment replays the uninterrupted run's masks
// exactly; ONNX RandomUniform cannot (static seed attribute, state in the kernel). The hash: a golden-ratio Weyl
// sequence of the index, then two rounds that square a 31-bit word and keep its middle bits (the mixing of Widynski's
// "Squares" RNG, 2020); with a plain counter or one round, serial and finite-difference tests fail. Only int64
// Add/Sub/Mul/Div (opset 17 has no bitwise ops; Mod is not in the CUDA audit table), every value in [0, 2^62): no
// overflow, so CPU, CUDA and the BigInt reference agree bit for bit. 17 elementwise ops per element.
import type { GraphSink } from './graph';

const M = 2 ** 30;
/** (√5 − 1)/2 · 2^30 rounded down to odd: i ↦ i·A mod 2^30 is a bijection that puts consecutive indices far apart. */
const A = 663608941;
/** Round constants: SHA-256's initial hash words (fractional bits of √2 … √17), top 30 bits. */
const C = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab].map((h) => Math.floor(h / 4));
/** Offset of the first round, in [2^29, 2^30): the middle bits of small squares would be mostly zeros. */
const K1 = 2 ** 29 + Math.floor(C[6] / 2);

// The same arithmetic on BigInt, for the stream's keys and the reference.
const big = { M: BigInt(M), A: BigInt(A) };
const bitsB = (x: bigint, lo: number, width: number) => (x >> BigInt(lo)) % 2n ** BigInt(width);
const mixB = (x: bigint, k: bigint) => bitsB((x + k) * (x + k), 16, 30);

/** Keys of a stream (a call site), in [0, 2^30): two rounds on its Weyl value, computed once in JS. */
function streamKeys(stream: number): [bigint, bigint] {
  if (!Number.isSafeInteger(stream) || stream < 0 || stream >= M) throw new Error(`stream must be an integer in [0, 2^30), got ${stream}`);
  const w = (BigInt(stream) * big.A + BigInt(C[4])) % big.M;
  return [mixB(mixB(w, BigInt(C[5])), BigInt(C[0])), mixB(mixB(w, BigInt(C[6])), BigInt(C[2]))];
}

/** Keys of a seed: two independent lanes of two rounds over its low and high 30-bit words (~60 bits of key). */
function seedKeysB(seed: bigint): [bigint, bigint] {
  const lo = seed % big.M, hi = seed / big.M;
  const w = (lo * big.A) % big.M;
  const lane = (c1: number, c2: number) => mixB((mixB(w, BigInt(c1)) + hi) % big.M, BigInt(c2));
  return [lane(C[0], C[1]), lane(C[2], C[3])];
}

/** int64 arithmetic on graph values; the helpers take JS numbers (< 2^53) as scalar constants. */
function intOps<V>(g: GraphSink<V>) {
  const k = (n: number) => g.constInt([n], []);
  const add = (x: V, y: V) => g.op('Add', [x, y]);
  const addK = (x: V, n: number) => add(x, k(n));
  const mulK = (x: V, n: number) => g.op('Mul', [x, k(n)]);
  const divK = (x: V, n: number) => g.op('Div', [x, k(n)]);
  const square = (x: V) => g.op('Mul', [x, x]);
  /** ⌊x / 2^lo⌋ mod 2^width for x ≥ 0. */
  const bits = (x: V, lo: number, width: number) => g.op('Sub', [divK(x, 2 ** lo), mulK(divK(x, 2 ** (lo + width)), 2 ** width)]);
  const modM = (x: V) => g.op('Sub', [x, mulK(divK(x, M), M)]);
  /** A squaring round: x, key in [0, 2^30) → the middle 30 bits of (x + key)² < 2^62. */
  const mix = (x: V, key: number) => bits(square(addK(x, key)), 16, 30);
  return { k, add, addK, mulK, divK, square, bits, modM, mix };
}

/**
 * A compute-dtype tensor of `shape` with values in [0, 1) (multiples of 2^-24, exact in float32), drawn from `seed`
 * (an int64 scalar ≥ 0) and `stream` (an integer in [0, 2^30) naming the call site: each LoRA module its own).
 */
export function emitUniform<V>(g: GraphSink<V>, seed: V, shape: number[], stream: number): V {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count >= 2 ** 31) throw new Error(`emitUniform: ${count} elements, at most 2^31 − 1 per draw`);
  const [sA, sB] = streamKeys(stream);
  const I = intOps(g);
  const lo = I.modM(seed), hi = I.divK(seed, M);
  const w = I.modM(I.mulK(lo, A));
  const lane = (c1: number, c2: number) => I.mix(I.modM(I.add(I.mix(w, c1), hi)), c2);
  const [a, b] = [lane(C[0], C[1]), lane(C[2], C[3])];

  // Weyl value (i·A + a + sA) mod 2^30 of the flat index i = row·cols + col, as a [rows, 1] part plus a [cols] part.
  // The sum is < 2^31, so one conditional subtraction reduces it (Div by M + K1 is 0 or 1); K1 rides along.
  const cols = shape.length > 0 ? shape[shape.length - 1] : 1;
  const rows = cols === 0 ? 0 : count / cols;
  const range = (n: number) => g.op('Range', [I.k(0), I.k(n), I.k(1)]);
  const rowStep = Number((BigInt(cols) * big.A) % big.M);
  const rowPart = I.addK(I.modM(I.add(I.mulK(range(rows), rowStep), I.addK(a, Number(sA)))), K1);
  const colPart = I.modM(I.mulK(range(cols), A));
  const v = I.add(g.op('Reshape', [rowPart, g.constInt([rows, 1])]), colPart);
  const y1 = g.op('Sub', [v, I.mulK(I.divK(v, M + K1), M)]); // in [2^29, 2^31)

  const x1 = I.bits(I.square(y1), 16, 30);
  const k2 = I.addK(I.divK(I.addK(b, Number(sB)), 4), 2 ** 29); // in [2^29, 2^30)
  const r = I.bits(I.square(I.add(x1, k2)), 22, 24);
  const u = g.op('Mul', [g.toFloat(r), g.constant([2 ** -24], [])]);
  return shape.length === 2 && shape[0] === rows ? u : g.op('Reshape', [u, g.constInt(shape, [shape.length])]);
}

/** Inverted dropout: 0 with probability p, else 1/(1 − p), in the compute dtype (PyTorch's nn.Dropout in training). */
export function dropoutMask<V>(g: GraphSink<V>, seed: V, shape: number[], stream: number, p: number): V {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout probability must be in [0, 1), got ${p}`);
  const u = emitUniform(g, seed, shape, stream);
  return g.op('Where', [g.op('Less', [u, g.constant([p], [])]), g.constant([0], []), g.constant([1 / (1 - p)], [])]);
}

/** The draws emitUniform makes for flat indices 0 … count − 1, computed exactly in BigInt (float64 holds them exactly). */
export function uniformReference(seed: number | bigint, count: number, stream: number): Float64Array {
  const s = BigInt(seed);
  if (s < 0n || s >= 2n ** 63n) throw new Error(`seed must be an int64 ≥ 0, got ${seed}`);
  const [sA, sB] = streamKeys(stream);
  const [a, b] = seedKeysB(s);
  const offset = a + sA, k2 = (b + sB) / 4n + 2n ** 29n, k1 = BigInt(K1);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const y1 = (BigInt(i) * big.A + offset) % big.M + k1;
    const y2 = bitsB(y1 * y1, 16, 30) + k2;
    out[i] = Number(bitsB(y2 * y2, 22, 24)) / 2 ** 24;
  }
  return out;
}
