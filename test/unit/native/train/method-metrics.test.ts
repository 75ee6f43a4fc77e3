// Tests of native/train/method-metrics.ts: a run's numbers (final and eval loss, median step time and tokens/s,
// trainable parameters, AdaLoRA's regularization) from made-up metrics.jsonl records and checkpoint shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMetrics } from '../../../../native/train/run-dir';
import { finalTrainLoss, lastEvalLoss, median, medianStepSeconds, medianTokensPerSecond, orthRegularization, trainableFromState } from '../../../../native/train/method-metrics';

const record = (step: number, loss: number, elapsed: number, extra = {}) => JSON.stringify({ step, loss, elapsed_s: elapsed, lr: 1e-3, ...extra });

test('final loss is the mean of the last 10 steps; eval loss the last one recorded', () => {
  const records = parseMetrics(Array.from({ length: 15 }, (_, i) => record(i + 1, i + 1, i, i === 7 ? { eval_loss: 0.5 } : {})).join('\n'));
  assert.equal(finalTrainLoss(records), (6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14 + 15) / 10);
  assert.equal(finalTrainLoss(records.slice(0, 3)), 2, 'fewer steps than 10: all of them');
  assert.ok(Number.isNaN(finalTrainLoss([])));
  assert.equal(lastEvalLoss(records), 0.5);
  assert.equal(lastEvalLoss(records.slice(0, 3)), undefined);
});

test('median: odd count the middle value, even count the mean of the middle two, none NaN; the input is not reordered', () => {
  const values = [5, 1, 3];
  assert.equal(median(values), 3);
  assert.deepEqual(values, [5, 1, 3]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('median step time and tokens/s: the first step (compile), eval steps and gaps (a resume) left out', () => {
  // elapsed: step 1 at 30 s (compilation), then 1, 3, 2 s per step; step 5 evaluates (+20 s); step 7 follows a gap.
  const records = parseMetrics([
    record(1, 1, 30, { tokens: 100 }), record(2, 1, 31, { tokens: 200 }), record(3, 1, 34, { tokens: 260 }), record(4, 1, 36, { tokens: 300 }),
    record(5, 1, 57, { tokens: 400, eval_loss: 1 }), record(7, 1, 90, { tokens: 9000 }),
  ].join('\n'));
  assert.equal(medianStepSeconds(records), 2);
  // Per step: 100 tokens / 1 s, 60 / 3 s, 40 / 2 s → 100, 20, 20 tokens/s.
  assert.equal(medianTokensPerSecond(records), 20);
  assert.ok(Number.isNaN(medianStepSeconds(records.slice(0, 1))));
  assert.ok(Number.isNaN(medianTokensPerSecond(parseMetrics([record(1, 1, 1), record(2, 1, 2)].join('\n')))), 'no tokens recorded: no rate');
});

test('trainable parameters: the tensors AdamW keeps moments for, at their trained shapes', () => {
  assert.equal(trainableFromState({
    'm.q_proj.lora_A': [24, 256], 'm.q_proj.lora_A.exp_avg': [24, 256], 'm.q_proj.lora_A.exp_avg_sq': [24, 256],
    'm.q_proj.lora_E': [24, 1], 'm.q_proj.lora_E.exp_avg': [24, 1], 'm.q_proj.lora_E.exp_avg_sq': [24, 1],
    // AdaLoRA's allocator state and ReLoRA's frozen terms are not trained.
    'm.q_proj.lora_A.exp_avg_ipt': [24, 256], 'm.q_proj.lora_E.rank_mask': [24], 'adalora.pattern_set': [1],
  }), 24 * 256 + 24);
});

test('AdaLoRA\'s orthogonal regularization as PEFT: w × mean of ‖AAᵀ−I‖_F (A [r, in]) and ‖BᵀB−I‖_F (B [out, r])', () => {
  const ones = new Float32Array([1, 1, 1]);
  // As A [1, 3]: AAᵀ = [3], so ‖·−I‖ = 2. As B [1, 3]: BᵀB is 3×3 of ones, ‖·−I‖ = √6 (six off-diagonal ones).
  assert.equal(orthRegularization([{ kind: 'A', data: ones, rows: 1, cols: 3 }], 1), 2);
  assert.ok(Math.abs(orthRegularization([{ kind: 'B', data: ones, rows: 1, cols: 3 }], 1) - Math.sqrt(6)) < 1e-12);
  const identity = new Float32Array([1, 0, 0, 1]);
  assert.equal(orthRegularization([{ kind: 'A', data: identity, rows: 2, cols: 2 }, { kind: 'B', data: ones, rows: 1, cols: 3 }], 0.5), (0.5 * Math.sqrt(6)) / 2);
  assert.equal(orthRegularization([], 0.5), 0);
});
