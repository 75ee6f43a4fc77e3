// Tests native/train/duration.ts: a run whose work is absurd is refused before its first step; a long one is said once,
// with its projected duration, from the pace of the second step (the first includes compiling).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUN_OPTIONS, type RunConfig, type WorkerEvent } from '../../../../native/protocol';
import { runTrainingLoop, type MicroBatch, type TrainingData } from '../../../../native/train/loop';
import { assertSaneWork, formatLongDuration, longRunWarning, MAX_MICRO_BATCH_PASSES } from '../../../../native/train/duration';

const config = (overrides: Partial<RunConfig>): RunConfig => ({ ...DEFAULT_RUN_OPTIONS, model: 'm', data: 'd', out: 'o', warmup_steps: 0, ...overrides });

test('assertSaneWork: steps × accumulation past the bound is refused naming both and the limit; the bound itself passes', () => {
  assert.doesNotThrow(() => assertSaneWork(config({ gradient_accumulation_steps: 1 }), MAX_MICRO_BATCH_PASSES));
  assert.throws(() => assertSaneWork(config({ num_epochs: 10_000, gradient_accumulation_steps: 65_536 }), 10_000), (error: Error) => {
    assert.match(error.message, /655,360,000 forward and backward passes \(10,000 steps × gradient_accumulation_steps 65,536, from num_epochs 10,000\)/);
    assert.match(error.message, /lower --epochs \/ --max-steps or --grad-accum/);
    return true;
  });
  assert.throws(() => assertSaneWork(config({ max_steps: 2_000_000, gradient_accumulation_steps: 64 }), 2_000_000), /from max_steps 2,000,000/);
});

test('longRunWarning: a day or more is said in days or hours with how to shorten it; less is not', () => {
  assert.equal(longRunWarning(1, 86_399), undefined);
  assert.equal(longRunWarning(Number.NaN, 10), undefined);
  assert.match(longRunWarning(30, 10_000)!, /^warning: at 30\.0 s per step, the 10,000 steps left take about 3\.5 days — stop now .* lower --epochs/);
  assert.equal(formatLongDuration(30 * 3600), '30.0 hours');
  assert.equal(formatLongDuration(600), '10 minutes');
});

const batch: MicroBatch = { inputIds: [[1]], labels: [[1]], attentionMask: [[1]] };
const data: TrainingData = { microBatchesFor: () => [batch, batch], evalBatches: [] };

async function loop(cfg: RunConfig, stepSeconds: number[]) {
  const events: WorkerEvent[] = [];
  let clock = 0, steps = 0;
  const trainer = {
    async step() {
      clock += stepSeconds[Math.min(steps++, stepSeconds.length - 1)];
      return { loss: 1, gradNorm: 1, tokens: 4 };
    },
    async evalLoss() { return 1; },
  };
  const outcome = await runTrainingLoop(cfg, mkdtempSync(join(tmpdir(), 'duration-')), trainer, data, {
    emit: (e) => events.push(e), saveCheckpoint: async () => 'ckpt', saveAdapter: async () => {}, stopRequested: () => steps >= 3,
    memoryMb: () => 1, now: () => clock,
  });
  return { outcome, steps, warnings: events.filter((e) => e.type === 'status' && e.message.startsWith('warning')) };
}

test('the loop refuses absurd work before its first step, and says a long projection once from the second step', async () => {
  await assert.rejects(loop(config({ num_epochs: 10_000, gradient_accumulation_steps: 65_536 }), [1]), /forward and backward passes/);
  // 1,000 steps: the first takes 600 s (compiling), the next 100 s each → 998 left × 100 s ≈ 27.7 hours.
  const long = await loop(config({ max_steps: 1000, save_every: 0 }), [600, 100]);
  assert.equal(long.warnings.length, 1);
  assert.match(long.warnings[0].type === 'status' ? long.warnings[0].message : '', /at 100\.0 s per step, the 998 steps left take about 27\.7 hours/);
  assert.equal(long.outcome, 'stopped');
  const short = await loop(config({ max_steps: 1000, save_every: 0 }), [600, 1]);
  assert.equal(short.warnings.length, 0, 'a slow first step (compiling) alone is no reason to warn');
});
