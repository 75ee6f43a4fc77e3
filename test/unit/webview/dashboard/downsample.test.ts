// Tests of webview/dashboard/downsample.ts: spikes survive, short runs are untouched, smoothing is debiased.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignSeries, downsampleIndices, emaSmooth, pick } from '../../../../webview/dashboard/downsample';

test('short series are kept whole (3 steps stay 3 points)', () => {
  assert.deepEqual(downsampleIndices([[3, 2, 1]], 3, 500), [0, 1, 2]);
  assert.deepEqual(downsampleIndices([[]], 0, 500), []);
  assert.deepEqual(downsampleIndices([[5]], 1, 500), [0]);
});

test('30,000 points become at most 2 per bucket plus the ends, keeping a single-step spike and dip', () => {
  const n = 30_000;
  const ys = Array.from({ length: n }, (_, i) => 2 + Math.sin(i / 50) * 0.1);
  ys[12_345] = 50; // a loss spike
  ys[27_001] = -3; // a dip
  const keep = downsampleIndices([ys], n, 1000);
  assert.ok(keep.length <= 2 * 1000 + 2, `kept ${keep.length}`);
  assert.ok(keep.length >= 1000);
  assert.ok(keep.includes(12_345) && keep.includes(27_001));
  assert.equal(keep[0], 0);
  assert.equal(keep[keep.length - 1], n - 1);
  for (let i = 1; i < keep.length; i++) assert.ok(keep[i] > keep[i - 1], 'sorted, no duplicates');
  const picked = pick(ys, keep);
  assert.equal(Math.max(...picked), 50);
  assert.equal(Math.min(...picked), -3);
});

test('every bucket keeps its min and max of each column (checked against brute force)', () => {
  const n = 1000, buckets = 10;
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const a = Array.from({ length: n }, rand);
  const b = Array.from({ length: n }, (_, i) => (i % 17 === 0 ? null : rand()));
  const keep = new Set(downsampleIndices([a, b], n, buckets));
  for (let k = 0; k < buckets; k++) {
    for (const col of [a, b]) {
      const slice = col.slice(k * 100, (k + 1) * 100).map((v, j) => ({ v, i: k * 100 + j })).filter((e) => e.v !== null) as { v: number; i: number }[];
      const min = slice.reduce((m, e) => (e.v < m.v ? e : m));
      const max = slice.reduce((m, e) => (e.v > m.v ? e : m));
      assert.ok(keep.has(min.i) && keep.has(max.i), `bucket ${k}`);
    }
  }
  assert.ok(keep.size <= 4 * buckets + 2);
});

test('EMA smoothing: weight 0 is identity, constants stay constant from the first point, nulls pass through', () => {
  assert.deepEqual(emaSmooth([1, 2, 3], 0), [1, 2, 3]);
  const s = emaSmooth([4, 4, 4, 4], 0.9);
  for (const v of s) assert.ok(Math.abs((v as number) - 4) < 1e-12);
  const t = emaSmooth([1, null, 3], 0.5);
  assert.equal(t[0], 1);
  assert.equal(t[1], null);
  // (0.5·0.5 + 0.5·3) / (1 - 0.25) = 1.75 / 0.75
  assert.ok(Math.abs((t[2] as number) - 1.75 / 0.75) < 1e-12);
});

test('alignSeries merges different x values with nulls for gaps', () => {
  const [xs, a, b] = alignSeries([{ x: [1, 2, 3], y: [10, 20, 30] }, { x: [2, 4], y: [5, 6] }]);
  assert.deepEqual(xs, [1, 2, 3, 4]);
  assert.deepEqual(a, [10, 20, 30, null]);
  assert.deepEqual(b, [null, 5, null, 6]);
});
