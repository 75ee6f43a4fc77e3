// NF4 (native/engine/nf4.ts): the quantizer against a float64 reference of the rule (nearest level to value/absmax in
// float32, ties to the lower level) on random and adversarial blocks, the packing, and the graph's dequantization
// against the host's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { NF4_BLOCK, NF4_LEVELS, quantizeNf4 } from '../../../../native/engine/nf4';
import { dequantizeNf4 } from './nf4-reference';
import { NF4_BYTES_PER_VALUE } from '../../../../native/train/estimate';
import { OnnxGraphSink } from '../../../../native/engine/onnx-export';
import { seededRandom } from '../model/llama-reference';

/** The rule, written plainly: argmin over the 16 levels of |x − level| in float64, the first (lower) on a tie. */
function referenceCodes(values: Float32Array): { codes: number[]; absmax: number[] } {
  const codes: number[] = [], absmax: number[] = [];
  for (let start = 0; start < values.length; start += NF4_BLOCK) {
    const block = Array.from(values.subarray(start, start + NF4_BLOCK));
    const max = Math.max(...block.map(Math.abs));
    absmax.push(max);
    for (const v of block) {
      if (max === 0) { codes.push(7); continue; }
      const x = Math.fround(v / max);
      let best = 0;
      for (let i = 1; i < 16; i++) if (Math.abs(x - NF4_LEVELS[i]) < Math.abs(x - NF4_LEVELS[best])) best = i;
      codes.push(best);
    }
  }
  return { codes, absmax };
}

function unpack(codes: Uint8Array): number[] {
  return Array.from(codes).flatMap((byte) => [byte >> 4, byte & 15]);
}

function adversarialRows(): Float32Array {
  const rows: number[][] = [];
  rows.push(new Array(64).fill(0)); // all zeros: absmax 0
  const outlier = Array.from({ length: 64 }, (_, i) => 1e-3 * Math.sin(i)); outlier[17] = 1e4;
  rows.push(outlier);
  rows.push(Array.from({ length: 64 }, (_, i) => (i % 2 ? -0 : 0.5 * Math.cos(i)))); // negative zeros
  rows.push(Array.from({ length: 64 }, (_, i) => (i + 1) * 1e-45 * (i % 3 === 0 ? -1 : 1))); // denormals
  // Exact ties: values on the midpoint of two levels (absmax 1 from the last entry) must take the lower level.
  const ties = Array.from({ length: 64 }, (_, i) => Math.fround((NF4_LEVELS[i % 15] + NF4_LEVELS[(i % 15) + 1]) / 2)); ties[63] = 1;
  rows.push(ties);
  rows.push(Array.from({ length: 64 }, (_, i) => -1 + i / 63)); // ±absmax at both ends
  return Float32Array.from(rows.flat());
}

test('NF4 codes and absmax match the float64 reference of the rule on random and adversarial blocks', () => {
  const rnd = seededRandom(5);
  const random = Float32Array.from({ length: 64 * 40 }, () => (rnd() - 0.5) * 0.1 * (1 + 20 * (rnd() < 0.02 ? 1 : 0)));
  for (const [label, values] of [['random', random], ['adversarial', adversarialRows()]] as const) {
    const got = quantizeNf4(values, [values.length / 128, 128], label);
    const want = referenceCodes(values);
    assert.deepEqual(Array.from(got.absmax), want.absmax.map(Math.fround), `${label}: absmax`);
    assert.deepEqual(unpack(got.codes), want.codes, `${label}: codes`);
  }
  // The tie row: where float32 holds the midpoint exactly (at least around 0: ±level/2), the lower level wins.
  const codes = unpack(quantizeNf4(adversarialRows(), [6, 64], 'ties').codes).slice(4 * 64, 4 * 64 + 15);
  const exact = Array.from({ length: 15 }, (_, k) => k).filter((k) => Math.fround((NF4_LEVELS[k] + NF4_LEVELS[k + 1]) / 2) === (NF4_LEVELS[k] + NF4_LEVELS[k + 1]) / 2);
  assert.ok(exact.includes(6) && exact.includes(7), `exact ties at ${exact}`);
  for (const k of exact) assert.equal(codes[k], k, `a tie between levels ${k} and ${k + 1} takes the lower`);
});

test('NF4 packs the first value in the high nibble and dequantizes to level × absmax', () => {
  const values = new Float32Array(64);
  values[0] = -2; values[1] = 2; values[2] = 0.1;
  const q = quantizeNf4(values, [1, 64], 'w');
  assert.equal(q.absmax[0], 2);
  assert.equal(q.codes[0], (0 << 4) | 15);
  const back = dequantizeNf4(q);
  assert.equal(back[0], -2);
  assert.equal(back[1], 2);
  assert.equal(back[2], Math.fround(NF4_LEVELS[nearest(0.05)] * 2));
  assert.equal(back[3], 0);
});

function nearest(x: number): number {
  let best = 0;
  for (let i = 1; i < 16; i++) if (Math.abs(x - NF4_LEVELS[i]) < Math.abs(x - NF4_LEVELS[best])) best = i;
  return best;
}

test('NF4 refuses rows that are not whole blocks and non-finite weights, naming the tensor and where', () => {
  assert.throws(() => quantizeNf4(new Float32Array(96), [2, 48], 'model.layers.0.mlp.up_proj.weight'), /up_proj\.weight.*\[2, 48\].*blocks of 64/);
  const bad = new Float32Array(128); bad[70] = Number.NaN;
  assert.throws(() => quantizeNf4(bad, [2, 64], 'w'), /value 70 \(row 1, column 6\) is NaN/);
});

test('the graph dequantizes NF4 exactly as the host does (float32)', async () => {
  const rnd = seededRandom(8);
  const values = Float32Array.from({ length: 3 * 128 }, () => rnd() - 0.5);
  const q = quantizeNf4(values, [3, 128], 'w');
  const g = new OnnxGraphSink('float32', () => ({ kind: 'nf4', codes: q.codes, absmax: q.absmax }));
  g.output('whole', g.weight('w', [3, 128]));
  g.output('rows', g.weight('w', [3, 128], [1, 3]));
  const session = await ort.InferenceSession.create(g.toBytes());
  const out = await session.run({});
  const host = dequantizeNf4(q);
  assert.deepEqual(Array.from(out.whole.data as Float32Array), Array.from(host));
  assert.deepEqual(Array.from(out.rows.data as Float32Array), Array.from(host.subarray(128)));
  await session.release();
});

test("the estimate's NF4 size per value is the format's: half a byte of code plus a float32 absmax per block", () => {
  const q = quantizeNf4(new Float32Array(4 * 128).fill(0.5), [4, 128], 'w');
  assert.equal(NF4_BYTES_PER_VALUE, (q.codes.byteLength + q.absmax.byteLength) / (4 * 128));
  assert.equal(NF4_BYTES_PER_VALUE, 0.5 + 4 / NF4_BLOCK);
});
