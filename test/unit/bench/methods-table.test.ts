// Tests of bench/methods/table.ts: the numbers of the method table from made-up run files, and its layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finalTrainLoss, formatBytes, lastEvalLoss, markdownTable, medianStepSeconds, orthRegularization, parseMetrics, trainableFromState } from '../../../bench/methods/table';

const record = (step: number, loss: number, elapsed: number, extra = {}) => JSON.stringify({ step, loss, elapsed_s: elapsed, lr: 1e-3, ...extra });

test('metrics.jsonl: blank lines skipped, a torn last line ignored, a torn middle line refused', () => {
  assert.deepEqual(parseMetrics(`${record(1, 3, 1)}\n\n${record(2, 2, 2)}\n{"step": 3, "lo`).map((r) => r.step), [1, 2]);
  assert.throws(() => parseMetrics(`${record(1, 3, 1)}\n{"st\n${record(2, 2, 2)}`), /metrics\.jsonl:2: not JSON/);
});

test('final loss is the mean of the last 10 steps; eval loss the last one recorded', () => {
  const records = parseMetrics(Array.from({ length: 15 }, (_, i) => record(i + 1, i + 1, i, i === 7 ? { eval_loss: 0.5 } : {})).join('\n'));
  assert.equal(finalTrainLoss(records), (6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14 + 15) / 10);
  assert.equal(finalTrainLoss(records.slice(0, 3)), 2, 'fewer steps than 10: all of them');
  assert.equal(lastEvalLoss(records), 0.5);
  assert.equal(lastEvalLoss(records.slice(0, 3)), undefined);
});

test('median step time: first step (compile) and eval steps left out', () => {
  // elapsed: step 1 at 30 s (compilation), then 1, 3, 2 s per step; step 5 evaluates (+20 s).
  const records = parseMetrics([record(1, 1, 30), record(2, 1, 31), record(3, 1, 34), record(4, 1, 36), record(5, 1, 57, { eval_loss: 1 })].join('\n'));
  assert.equal(medianStepSeconds(records), 2);
  assert.ok(Number.isNaN(medianStepSeconds(records.slice(0, 1))));
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

test('the table: a header, an alignment rule, a row per method, numbers right-aligned', () => {
  const table = markdownTable([
    { method: 'LoRA', trainableParams: 303_104, adapterBytes: 1_219_584, finalLoss: 0.02346, evalLoss: 0.031, stepS: 0.4123 },
    { method: 'AdaLoRA (init_r 24 → target_r 16)', trainableParams: 455_328, adapterBytes: 900, finalLoss: 0.1, stepS: NaN },
  ]).split('\n');
  assert.equal(table.length, 4);
  assert.match(table[0], /^\| method +\| trainable params \| +adapter size \| final train loss \(last 10\) \| eval loss \| median step \|$/);
  assert.match(table[1], /^\|-+\|-+:\|-+:\|-+:\|-+:\|-+:\|$/);
  assert.match(table[2], /^\| LoRA +\| +303,104 \| 1\.16 MiB \(1,219,584 B\) \| +0\.0235 \| +0\.0310 \| +412 ms \|$/);
  assert.match(table[3], /\| +0\.1000 \| +— \| +— \|$/);
  assert.ok(table.every((l) => l.length === table[0].length), 'columns padded to one width');
  assert.equal(formatBytes(900), '0.9 KiB (900 B)');
  const ada = markdownTable([{ method: 'AdaLoRA', trainableParams: 1, adapterBytes: 1, finalLoss: 0.3, evalLoss: 0.4, stepS: 1, penalty: 0.1 }]).split('\n')[2];
  assert.match(ada, /\| +0\.2000\* \| +0\.3000\* \|/, 'losses less the regularization, marked');
});
