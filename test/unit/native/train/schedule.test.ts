import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRateAt } from '../../../../native/train/schedule';

const base = { lr: 1e-3, warmupSteps: 10, totalSteps: 110 };

test('warmup rises linearly from 0', () => {
  assert.equal(learningRateAt(0, { ...base, scheduler: 'cosine' }), 0);
  assert.ok(Math.abs(learningRateAt(5, { ...base, scheduler: 'linear' }) - 5e-4) < 1e-15);
});

test('constant, linear and cosine after warmup', () => {
  assert.equal(learningRateAt(60, { ...base, scheduler: 'constant' }), 1e-3);
  assert.ok(Math.abs(learningRateAt(60, { ...base, scheduler: 'linear' }) - 5e-4) < 1e-15);
  assert.ok(Math.abs(learningRateAt(60, { ...base, scheduler: 'cosine' }) - 5e-4) < 1e-15);
  assert.ok(Math.abs(learningRateAt(35, { ...base, scheduler: 'cosine' }) - 1e-3 * 0.5 * (1 + Math.cos(Math.PI / 4))) < 1e-15);
  assert.equal(learningRateAt(110, { ...base, scheduler: 'linear' }), 0);
});
