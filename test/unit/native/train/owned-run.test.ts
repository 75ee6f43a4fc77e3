// The process that owns a run: a second SIGINT quits at once (the CLI's "Ctrl-C again") with the run folder still
// telling the truth — stopped, the last complete checkpoint kept — instead of "running" with a dead worker.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { WorkerEvent } from '../../../../native/protocol';
import { readRunStatus, readWorkerInfo } from '../../../../native/train/run-dir';
import { runLockPath } from '../../../../native/train/run-lock';
import { trainOwnedRun } from '../../../../native/train/owned-run';
import { runFixture } from './run-fixture';

const { newRun } = runFixture('owned-run-', { max_steps: 100_000, save_every: 2 });

test('a second signal records the quit (stopped, the checkpoint kept, no worker.json or lock) before the process exits', async () => {
  const runDir = newRun('quit', {});
  let seen: { status: ReturnType<typeof readRunStatus>; worker: boolean; lock: boolean } | undefined;
  let signalled = false;
  const result = await trainOwnedRun(runDir, {
    onEvent: (event: WorkerEvent) => {
      if (!signalled && event.type === 'checkpoint' && event.step === 2) {
        signalled = true;
        process.emit('SIGINT', 'SIGINT'); // the first: stop after the current step
        process.emit('SIGINT', 'SIGINT'); // the second: the CLI exits here (130); this test looks instead
      }
    },
    log: () => {},
    onRepeatedSignal: () => {
      seen = { status: readRunStatus(runDir), worker: readWorkerInfo(runDir) !== undefined, lock: existsSync(runLockPath(runDir)) };
    },
  });
  assert.ok(seen, 'the second signal was seen as a repeat');
  assert.equal(seen.status?.state, 'stopped');
  assert.match(seen.status?.message ?? '', /^quit at once on a second SIGINT: the checkpoint at step 2 is kept, steps after it are not$/);
  assert.deepEqual([seen.worker, seen.lock], [false, false]);
  assert.equal(result.outcome, 'stopped', 'not exiting, the run ends as the first signal asked');
});
