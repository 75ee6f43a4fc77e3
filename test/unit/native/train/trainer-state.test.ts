// Tests native/train/trainer-state.ts on a trainer_state.json shaped like transformers' (a TRL SFT run: a log entry
// per step, evaluations, the final summary): the loss curve as LoRA Studio's metrics, the newest state of an output
// folder (top level or latest checkpoint, by global_step) and its newest adapter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrainerState, readNewestTrainerState, trainerAdapterDir, trainerCheckpoints } from '../../../../native/train/trainer-state';
import { UserError } from '../../../../native/util/errors';

const SAMPLE = 'test/fixtures/trainer-state/trainer_state.json';
const sampleText = readFileSync(SAMPLE, 'utf8');

test('the sample has only TrainerState\'s fields (transformers trainer_callback.py, as extracted into the fixtures)', () => {
  const fields = JSON.parse(readFileSync('test/fixtures/cluster-schemas/trainer-state.json', 'utf8')).trainer_state as string[];
  assert.ok(fields.includes('log_history') && fields.includes('global_step'));
  assert.deepEqual(Object.keys(JSON.parse(sampleText)).filter((key) => !fields.includes(key)), []);
});

test('log_history → one metric per logged step, eval_loss on its step, the final summary marks the end', () => {
  const state = parseTrainerState(sampleText, SAMPLE);
  assert.deepEqual([state.globalStep, state.maxSteps, state.finished], [6, 6, true]);
  assert.deepEqual(state.metrics.map((m) => m.step), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(state.metrics.map((m) => m.eval_loss), [undefined, undefined, 2.4715, undefined, undefined, 2.0904]);
  assert.deepEqual([state.metrics[1].loss, state.metrics[1].lr, state.metrics[1].grad_norm, state.metrics[1].epoch, state.metrics[1].tokens], [2.5879, 0.0001, 1.7702, 0.5, 1024]);
});

test('a file that is not a Trainer state is a located error; a run still going is not finished', () => {
  assert.throws(() => parseTrainerState('{"log_history": [', 'x.json'), (e: unknown) => e instanceof UserError && /x\.json: not valid JSON/.test(e.message));
  assert.throws(() => parseTrainerState('{"global_step": 3}', 'y.json'), /y\.json: log_history: has no log_history list/);
  const partial = JSON.parse(sampleText);
  partial.log_history = partial.log_history.slice(0, 4);
  partial.global_step = 3;
  const state = parseTrainerState(JSON.stringify(partial), 'z.json');
  assert.deepEqual([state.globalStep, state.finished, state.metrics.length], [3, false, 3]);
});

test('an output folder: checkpoints in step order, the newest state by global_step, the newest adapter', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trainer-out-'));
  try {
    const full = JSON.parse(sampleText);
    const at = (step: number) => ({ ...full, global_step: step, log_history: full.log_history.filter((e: { step: number; train_runtime?: number }) => e.step <= step && e.train_runtime === undefined) });
    for (const step of [3, 6]) {
      mkdirSync(join(dir, `checkpoint-${step}`));
      writeFileSync(join(dir, `checkpoint-${step}`, 'trainer_state.json'), JSON.stringify(at(step)));
    }
    writeFileSync(join(dir, 'checkpoint-3', 'adapter_config.json'), '{}');
    mkdirSync(join(dir, 'checkpoint-10-old'));
    assert.deepEqual(trainerCheckpoints(dir).map((c) => c.step), [3, 6]);
    assert.equal(trainerAdapterDir(dir), join(dir, 'checkpoint-3'), 'checkpoint-6 has no adapter yet');
    // A stale top-level state (an earlier attempt) loses to the newer checkpoint.
    writeFileSync(join(dir, 'trainer_state.json'), JSON.stringify(at(3)));
    assert.equal(readNewestTrainerState(dir)?.file, join(dir, 'checkpoint-6', 'trainer_state.json'));
    writeFileSync(join(dir, 'trainer_state.json'), sampleText);
    writeFileSync(join(dir, 'adapter_config.json'), '{}');
    const newest = readNewestTrainerState(dir)!;
    assert.deepEqual([newest.file, newest.finished], [join(dir, 'trainer_state.json'), true]);
    assert.equal(trainerAdapterDir(dir), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
