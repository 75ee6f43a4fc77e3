import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUN_OPTIONS, type RunConfig, type WorkerEvent } from '../../../../native/protocol';
import { runTrainingLoop, takeMicroBatches, totalSteps, type LoopSaving, type LoopState, type MicroBatch, type TrainerLike, type TrainingData } from '../../../../native/train/loop';
import { parseMetrics, readRunStatus } from '../../../../native/train/run-dir';
import { RunStopped } from '../../../../native/train/stop-point';

/** A fake trainer whose loss depends on its weight and the batch contents, so order and resume matter. */
class FakeTrainer implements TrainerLike {
  weight = 1;
  async step(batches: MicroBatch[], lr: number) {
    const signal = batches.reduce((sum, b) => sum + b.inputIds[0][0], 0);
    const loss = this.weight * signal;
    this.weight -= lr * 0.1 * this.weight;
    return { loss, gradNorm: Math.abs(this.weight), tokens: batches.length * 4 };
  }
  async evalLoss() {
    return this.weight;
  }
}

function fakeData(perEpoch: number): TrainingData {
  const batch = (v: number): MicroBatch => ({ inputIds: [[v]], labels: [[v]], attentionMask: [[1]] });
  return {
    microBatchesFor: (epoch) => Array.from({ length: perEpoch }, (_, i) => batch(((i * 7 + epoch * 3) % perEpoch) + 1)),
    evalBatches: [batch(1)],
  };
}

function config(overrides: Partial<RunConfig>): RunConfig {
  return { ...DEFAULT_RUN_OPTIONS, model: 'm', data: 'd', out: 'o', warmup_steps: 0, learning_rate: 0.5, ...overrides };
}

async function run(cfg: RunConfig, dir: string, trainer: FakeTrainer, options: { stopAt?: number; start?: LoopState; stopRequested?: () => boolean } = {}) {
  const events: WorkerEvent[] = [];
  const saved: LoopState[] = [];
  const adapters: number[] = [];
  const weights = new Map<number, number>();
  let steps = 0;
  const outcome = await runTrainingLoop(cfg, dir, trainer, fakeData(5), {
    emit: (e) => {
      events.push(e);
      if (e.type === 'step') steps = e.step;
    },
    saveCheckpoint: async (s) => {
      saved.push(structuredClone(s));
      weights.set(s.step, trainer.weight);
      return join(dir, 'checkpoints', `step-${s.step}`);
    },
    saveAdapter: async () => {
      adapters.push(steps);
    },
    stopRequested: options.stopRequested ?? (() => options.stopAt !== undefined && steps >= options.stopAt),
    memoryMb: () => 1,
  }, options.start);
  return { outcome, events, saved, weights, adapters };
}

test('totalSteps: epochs × ceil(batches / accumulation), or max_steps', () => {
  assert.equal(totalSteps(config({ num_epochs: 3, gradient_accumulation_steps: 2 }), 5), 9);
  assert.equal(totalSteps(config({ max_steps: 4 }), 5), 4);
});

test('takeMicroBatches crosses epoch boundaries', () => {
  const { batches, next } = takeMicroBatches(fakeData(5), { epoch: 0, index: 4 }, 3);
  assert.equal(batches.length, 3);
  assert.deepEqual(next, { epoch: 1, index: 2 });
});

test('loop writes metrics, checkpoints at save_every and at the end, and completes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loop-'));
  try {
    const { outcome, events, saved } = await run(config({ max_steps: 6, save_every: 4, eval_every: 3 }), dir, new FakeTrainer());
    assert.equal(outcome, 'completed');
    const metrics = parseMetrics(readFileSync(join(dir, 'metrics.jsonl'), 'utf8'));
    assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3, 4, 5, 6]);
    assert.ok(metrics[2].eval_loss !== undefined && metrics[5].eval_loss !== undefined && metrics[0].eval_loss === undefined);
    assert.deepEqual(saved.map((s) => s.step), [4, 6]);
    assert.equal(events.filter((e) => e.type === 'checkpoint').length, 2);
    assert.equal(readRunStatus(dir)?.step, 6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stop saves a checkpoint; resuming from it reproduces the uninterrupted losses', async () => {
  const dirA = mkdtempSync(join(tmpdir(), 'loop-a-'));
  const dirB = mkdtempSync(join(tmpdir(), 'loop-b-'));
  try {
    const cfg = config({ max_steps: 9, gradient_accumulation_steps: 2, save_every: 0, lr_scheduler_type: 'cosine' });
    const full = await run(cfg, dirA, new FakeTrainer());
    const fullLosses = parseMetrics(readFileSync(join(dirA, 'metrics.jsonl'), 'utf8')).map((m) => m.loss);

    const first = new FakeTrainer();
    const stopped = await run(cfg, dirB, first, { stopAt: 4 });
    assert.equal(stopped.outcome, 'stopped');
    assert.equal(stopped.saved.at(-1)?.step, 4);
    const resumed = new FakeTrainer();
    resumed.weight = stopped.weights.get(4)!;
    await run(cfg, dirB, resumed, { start: stopped.saved.at(-1) });
    const resumedLosses = parseMetrics(readFileSync(join(dirB, 'metrics.jsonl'), 'utf8')).map((m) => m.loss);
    assert.deepEqual(resumedLosses, fullLosses);
    assert.equal(full.outcome, 'completed');
  } finally {
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  }
});

test('a step stopped while its program compiles (RunStopped) is not taken: the last step is checkpointed, and an evaluation stopped so is left out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loop-stop-'));
  try {
    class CompilingTrainer extends FakeTrainer {
      calls = 0;
      override async step(batches: MicroBatch[], lr: number) {
        if (++this.calls === 4) throw new RunStopped(); // a new bucket at step 4, stopped while it compiled
        return super.step(batches, lr);
      }
      override async evalLoss(): Promise<number> {
        throw new RunStopped(); // the evaluation's program was being compiled
      }
    }
    const trainer = new CompilingTrainer();
    const stopped = await run(config({ max_steps: 9, save_every: 0, eval_every: 2 }), dir, trainer, { stopRequested: () => trainer.calls >= 4 });
    assert.equal(stopped.outcome, 'stopped');
    assert.deepEqual(parseMetrics(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).map((m) => [m.step, m.eval_loss]), [[1, undefined], [2, undefined], [3, undefined]]);
    assert.deepEqual(stopped.saved.map((s) => s.step), [3]);
    assert.deepEqual(stopped.adapters, [3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stop before the first step of this process writes nothing: no checkpoint, no adapter (a fresh run starts again as it was)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loop-stop0-'));
  try {
    class StoppedAtOnce extends FakeTrainer {
      override async step(): Promise<never> {
        throw new RunStopped();
      }
    }
    const fresh = await run(config({ max_steps: 9 }), dir, new StoppedAtOnce(), { stopRequested: () => false });
    assert.equal(fresh.outcome, 'stopped');
    assert.deepEqual([fresh.saved, fresh.adapters], [[], []]);
    const start: LoopState = { step: 5, position: { epoch: 1, index: 0 }, tokens: 20, elapsed_s: 1 };
    const resumed = await run(config({ max_steps: 9 }), dir, new FakeTrainer(), { start, stopRequested: () => true });
    assert.equal(resumed.outcome, 'stopped');
    assert.deepEqual([resumed.saved, resumed.adapters], [[], []], 'the checkpoint resumed from and its adapter stay as they are');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a non-finite loss fails with advice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loop-nan-'));
  try {
    const trainer = new FakeTrainer();
    trainer.weight = Number.NaN;
    await assert.rejects(run(config({ max_steps: 2 }), dir, trainer), /lower learning_rate/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('saving on demand (LoopSaving, before a session created during training): it saves what a stop would, once; a step line written before its evaluation gets the eval loss; a stop after it writes nothing more; a checkpoint saved only on demand goes once superseded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loop-saving-'));
  try {
    let saving: LoopSaving | undefined;
    const seen: (number | undefined)[] = [];
    const trainer = new FakeTrainer();
    let calls = 0;
    const saveNow = async () => {
      seen.push(saving!.savedStep());
      await saving!.saveNow();
      seen.push(saving!.savedStep());
    };
    const step = trainer.step.bind(trainer);
    trainer.step = async (batches, lr) => {
      if (++calls === 2) await saveNow(); // before step 2 compiles: step 1 is unsaved
      return step(batches, lr);
    };
    trainer.evalLoss = async () => {
      await saveNow(); // the evaluation after step 2 compiles
      return trainer.weight;
    };
    const events: WorkerEvent[] = [];
    const checkpoints: number[] = [];
    const adapters: number[] = [];
    const dropped: number[] = [];
    let last = 0;
    const outcome = await runTrainingLoop(config({ max_steps: 4, save_every: 0, eval_every: 2 }), dir, trainer, fakeData(5), {
      emit: (e) => {
        events.push(e);
        if (e.type === 'step') last = e.step;
      },
      saveCheckpoint: async (s) => (checkpoints.push(s.step), join(dir, `step-${s.step}`)),
      saveAdapter: async () => void adapters.push(last),
      stopRequested: () => last >= 2,
      memoryMb: () => 1,
      attach: (s) => (saving = s),
      dropCheckpoint: (at) => void dropped.push(at),
    });
    assert.equal(outcome, 'stopped');
    assert.deepEqual(seen, [undefined, 1, undefined, 2], 'unsaved before each save, saved at its step after');
    assert.deepEqual(checkpoints, [1, 2], 'the stop after step 2 had nothing left to save');
    assert.deepEqual(dropped, [1], "step 1's checkpoint, saved on demand only, goes once step 2's is complete; step 2's is the run's last");
    assert.deepEqual(adapters, [1, 2]);
    const metrics = parseMetrics(readFileSync(join(dir, 'metrics.jsonl'), 'utf8'));
    assert.deepEqual(metrics.map((m) => [m.step, m.eval_loss]), [[1, undefined], [2, trainer.weight]], 'one line per step, the eval loss added to the line written early');
    assert.deepEqual(events.filter((e) => e.type === 'step').map((e) => e.type === 'step' && e.step), [1, 2]);
    assert.deepEqual(events.filter((e) => e.type === 'eval').map((e) => e.type === 'eval' && e.step), [2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a checkpoint saved on demand on the save_every cadence stands for the periodic one and is kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loop-saving-cadence-'));
  try {
    let saving: LoopSaving | undefined;
    const trainer = new FakeTrainer();
    trainer.evalLoss = async () => {
      await saving!.saveNow(); // every evaluation compiles first
      return trainer.weight;
    };
    const checkpoints: number[] = [];
    const dropped: number[] = [];
    const outcome = await runTrainingLoop(config({ max_steps: 4, save_every: 2, eval_every: 1 }), dir, trainer, fakeData(5), {
      emit: () => {},
      saveCheckpoint: async (s) => (checkpoints.push(s.step), join(dir, `step-${s.step}`)),
      saveAdapter: async () => {},
      stopRequested: () => false,
      memoryMb: () => 1,
      attach: (s) => (saving = s),
      dropCheckpoint: (at) => void dropped.push(at),
    });
    assert.equal(outcome, 'completed');
    assert.deepEqual(checkpoints, [1, 2, 3, 4], 'one checkpoint per step: the periodic ones at 2 and 4 were the evaluations\' saves');
    assert.deepEqual(dropped, [1, 3], 'the off-cadence ones go when the next is complete; 2 (the cadence) and 4 (the last) stay');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
