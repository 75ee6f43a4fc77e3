// Tests the tokenizing phase of native/train/run.ts: the training file and the eval file are tokenized by ONE template
// pool (a tiny dataset: one worker, never more than the pool's maximum for both files), and no template worker is
// alive once tokenizing is over — when training starts compiling, after a stop while tokenizing, and after a bad eval
// file ends the run. Forks are counted by watching child_process.fork, which template-slot.ts calls through the module.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { WorkerEvent } from '../../../../native/protocol';
import { runTraining } from '../../../../native/train/run';
import { defaultMaxWorkers } from '../../../../native/data/template-pool';
import { UserError } from '../../../../native/util/errors';
import { FEW_RECORDS, runFixture } from './run-fixture';

const childProcess = createRequire(__filename)('node:child_process') as typeof import('node:child_process');
const { root, newRun } = runFixture('run-tokenize-pool-', { max_steps: 1 });
const evalData = join(root, 'eval.jsonl');
writeFileSync(evalData, FEW_RECORDS.slice(0, 2).map((r) => JSON.stringify(r)).join('\n') + '\n');

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/**
 * Runs `runDir` until `stopWhen` says stop, counting the template workers forked; `alive` is how many of them were
 * still running at the first 'compiling' status (tokenizing is over by then).
 */
async function trainCounting(runDir: string, stopWhen: (event: WorkerEvent) => boolean) {
  const fork = mock.method(childProcess, 'fork');
  const workers = () => fork.mock.calls.filter((call) => String(call.arguments[0]).includes('template-worker')).map((call) => call.result as ChildProcess);
  let stop = false;
  let aliveAtCompiling: number | undefined;
  try {
    const outcome = await runTraining(runDir, {
      emit: (event) => {
        if (event.type === 'status' && event.phase === 'compiling' && aliveAtCompiling === undefined) aliveAtCompiling = workers().filter((w) => !exited(w)).length;
        if (stopWhen(event)) stop = true;
      },
      stopRequested: () => stop,
    }).then((o) => o.outcome, (error: unknown) => error);
    return { outcome, workers: workers(), aliveAtCompiling };
  } finally {
    fork.mock.restore();
  }
}

test('one pool tokenizes the training and the eval file: one worker for a tiny dataset, gone before compiling', async () => {
  const run = newRun('both', { eval_data: evalData });
  const { outcome, workers, aliveAtCompiling } = await trainCounting(run, (e) => e.type === 'status' && e.phase === 'compiling');
  assert.equal(outcome, 'stopped');
  // Two pools (one per file) forked two; a few hundred bytes need one worker, and never more than the maximum.
  assert.equal(workers.length, 1, `${workers.length} template workers forked`);
  assert.ok(workers.length <= defaultMaxWorkers());
  assert.equal(aliveAtCompiling, 0, 'a template worker was alive when compiling started');
  assert.ok(workers.every(exited));
});

test('a stop while the eval file is tokenized leaves no template worker', async () => {
  const run = newRun('stop', { eval_data: evalData });
  const { outcome, workers } = await trainCounting(run, (e) => e.type === 'status' && e.message.startsWith('tokenizing 2 eval records'));
  assert.equal(outcome, 'stopped');
  assert.equal(workers.length, 1);
  assert.ok(workers.every(exited), 'a template worker outlived the stop');
});

test('a bad eval file ends the run with its error and leaves no template worker (the training file\'s worker included)', async () => {
  const bad = join(root, 'bad-eval.jsonl');
  writeFileSync(bad, `${JSON.stringify(FEW_RECORDS[0])}\n{"instruction": 5, "output": "x"}\n`);
  const run = newRun('bad', { eval_data: bad });
  const { outcome, workers } = await trainCounting(run, () => false);
  assert.ok(outcome instanceof UserError && outcome.message.includes('error'), String(outcome));
  assert.equal(workers.length, 1, 'the training file was tokenized first, by one worker');
  assert.ok(workers.every(exited), 'a template worker outlived the error');
});
