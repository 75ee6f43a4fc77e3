// The run-folder poll: the first look and new or deleted runs change the list; a run's files or its worker's death
// change that run; nothing else reports anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunFolderPoller } from '../../../../extension/runs/run-watch';
import { makeRuns, metric } from './run-fixtures';

test('the poll reports the list on the first look, then only what changed', () => {
  const alive = new Set([4242]);
  const root = makeRuns([
    { id: 'a', status: { state: 'running', step: 1, total_steps: 9 }, metrics: [metric(1)], worker: { pid: 4242, socket: '/tmp/x.sock', started_at: '' } },
    { id: 'b', status: { state: 'completed', step: 9, total_steps: 9 } },
  ]);
  const poller = new RunFolderPoller((pid) => alive.has(pid));
  assert.deepEqual(poller.poll(root), { listChanged: true, changed: [] });
  assert.deepEqual(poller.poll(root), { listChanged: false, changed: [] }, 'nothing changed, nothing reported');

  appendFileSync(join(root, 'a', 'metrics.jsonl'), JSON.stringify(metric(2)) + '\n');
  assert.deepEqual(poller.poll(root), { listChanged: false, changed: [join(root, 'a')] }, 'a step appended');

  alive.delete(4242);
  assert.deepEqual(poller.poll(root), { listChanged: false, changed: [join(root, 'a')] }, 'the worker died without a word');

  writeFileSync(join(root, 'b', 'status.json'), JSON.stringify({ state: 'pending', step: 9, total_steps: 9, updated_at: '' }));
  assert.deepEqual(poller.poll(root).changed, [join(root, 'b')], 'resumed from elsewhere');

  rmSync(join(root, 'b'), { recursive: true });
  assert.equal(poller.poll(root).listChanged, true, 'a run deleted');
  const c = makeRuns([{ id: 'c' }]);
  assert.equal(poller.poll(c).listChanged, true, 'another runs folder');
  assert.deepEqual(poller.poll(undefined), { listChanged: true, changed: [] }, 'no runs folder');
});
