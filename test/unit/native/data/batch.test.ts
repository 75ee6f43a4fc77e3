// Tests native/data/batch.ts: determinism per (seed, epoch), every example once per epoch, length grouping, bucket
// padding, labels -100 on padding, and the eval split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planMicroBatches, splitEval, seededRandom, trainedTokens } from '../../../../native/data/batch';
import { IGNORE_INDEX, type TokenizedExample } from '../../../../native/data/template';
import type { MicroBatch } from '../../../../native/train/loop';
import { UserError } from '../../../../native/util/errors';

/** Example i has a length drawn from 5..300 and ids that name it (first id = i + 1000). */
function examples(n: number, seed = 1): TokenizedExample[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const len = 5 + Math.floor(random() * 296);
    const inputIds = Array.from({ length: len }, (_, j) => (j === 0 ? i + 1000 : 7 + (j % 50)));
    const labels = inputIds.map((_, j) => (j + 1 < len && j >= 2 ? inputIds[j + 1] : IGNORE_INDEX));
    return { inputIds, labels, truncated: false };
  });
}

const firstIds = (batches: MicroBatch[]) => batches.flatMap((b) => b.inputIds.map((row) => row[0]));
const padded = (batches: MicroBatch[]) => batches.reduce((s, b) => s + b.inputIds.length * b.inputIds[0].length, 0);
const base = { microBatchSize: 4, seed: 42, epoch: 0, padId: 0 };

test('same seed and epoch give the same batches; another epoch or seed gives another order', () => {
  const ex = examples(100);
  const a = planMicroBatches(ex, base);
  assert.deepEqual(planMicroBatches(ex, base), a);
  assert.notDeepEqual(firstIds(planMicroBatches(ex, { ...base, epoch: 1 })), firstIds(a));
  assert.notDeepEqual(firstIds(planMicroBatches(ex, { ...base, seed: 43 })), firstIds(a));
});

test('every example appears exactly once per epoch, unchanged apart from padding', () => {
  const ex = examples(103);
  for (const lengthGrouped of [true, false]) {
    const batches = planMicroBatches(ex, { ...base, epoch: 3, lengthGrouped });
    assert.deepEqual([...firstIds(batches)].sort((x, y) => x - y), ex.map((_, i) => i + 1000));
    for (const b of batches) {
      b.inputIds.forEach((row, r) => {
        const original = ex[row[0] - 1000];
        const n = original.inputIds.length;
        assert.deepEqual(row.slice(0, n), original.inputIds);
        assert.ok(row.slice(n).every((id) => id === 0), 'padded with padId');
        assert.deepEqual(b.labels[r].slice(0, n), original.labels);
        assert.ok(b.labels[r].slice(n).every((l) => l === IGNORE_INDEX), 'labels -100 on padding');
        assert.deepEqual(b.attentionMask[r], row.map((_, j) => (j < n ? 1 : 0)));
      });
    }
  }
});

test('lengths are padded to multiples of 64, capped by the longest example', () => {
  const ex = examples(60);
  const longest = Math.max(...ex.map((e) => e.inputIds.length));
  for (const b of planMicroBatches(ex, base)) {
    const len = b.inputIds[0].length;
    assert.ok(len % 64 === 0 || len === longest, `length ${len}`);
    assert.ok(len <= longest);
    assert.ok(b.inputIds.every((row) => row.length === len));
  }
  const custom = planMicroBatches(ex, { ...base, bucketMultiple: 16 });
  assert.ok(custom.every((b) => b.inputIds[0].length % 16 === 0 || b.inputIds[0].length === longest));
});

test('length grouping cuts padding several-fold versus random batches', () => {
  const ex = examples(400);
  const grouped = padded(planMicroBatches(ex, { ...base, bucketMultiple: 1 }));
  const random = padded(planMicroBatches(ex, { ...base, bucketMultiple: 1, lengthGrouped: false }));
  const real = ex.reduce((s, e) => s + e.inputIds.length, 0);
  assert.ok(grouped - real < (random - real) / 4, `padding grouped ${grouped - real} vs random ${random - real}`);
});

test('a hard maxLength cuts rows and keeps their last label -100', () => {
  const ex = examples(8);
  for (const b of planMicroBatches(ex, { ...base, maxLength: 10 })) {
    assert.equal(b.inputIds[0].length, 10);
    for (const row of b.labels) assert.equal(row[9], IGNORE_INDEX);
  }
});

test('trainedTokens counts the labels that are not -100', () => {
  const ex = examples(4);
  const [b] = planMicroBatches(ex, { ...base, microBatchSize: 4 });
  assert.equal(trainedTokens(b), ex.reduce((s, e) => s + e.labels.filter((l) => l !== IGNORE_INDEX).length, 0));
});

test('trainedTokens takes any { labels } (the trainer counts with it too): only -100 is skipped, token id 0 counts', () => {
  assert.equal(trainedTokens({ labels: [[5, IGNORE_INDEX, 0], [IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]] }), 2);
  assert.equal(trainedTokens({ labels: [] }), 0);
});

test('splitEval: seeded, disjoint, in file order, and validated', () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const a = splitEval(items, 0.1, 7);
  assert.equal(a.eval.length, 5);
  assert.deepEqual([...a.train, ...a.eval].sort((x, y) => x - y), items);
  assert.deepEqual(a.train, [...a.train].sort((x, y) => x - y));
  assert.deepEqual(splitEval(items, 0.1, 7), a);
  assert.notDeepEqual(splitEval(items, 0.1, 8).eval, a.eval);
  assert.equal(splitEval([1, 2, 3], 0.01, 1).eval.length, 1, 'at least one eval example');
  assert.throws(() => splitEval(items, 1.5, 1), UserError);
  assert.throws(() => splitEval([1], 0.5, 1), UserError);
});
