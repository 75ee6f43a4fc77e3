import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { readRun } from '../../../../extension/runs/run-store';
import { activeRun, shortDuration, statusText } from '../../../../extension/runs/status-text';
import { StepPace } from '../../../../native/train/event-text';
import { makeRuns, metric } from './run-fixtures';

test('status-bar text: step/total, loss and ETA from the step rate seen across updates', () => {
  // Step 40 at 80 s, then step 50 at 100 s: 2 s a step → 150 steps left = 300 s.
  const root = makeRuns([
    { id: 'r', status: { state: 'running', step: 40, total_steps: 200 }, metrics: [metric(40, { loss: 1.3, elapsed_s: 80 })], worker: { pid: 9, socket: 's', started_at: '' } },
    { id: 'starting', status: { state: 'running', step: 0, total_steps: 0, message: 'tokenizing 1,234 records…' }, worker: { pid: 9, socket: 's', started_at: '' } },
  ]);
  const pace = new StepPace();
  const earlier = readRun(join(root, 'r'), () => true);
  // One update tells no rate: no ETA rather than one that counts the compile time in.
  assert.equal(statusText(earlier, pace).text, '$(sync~spin) LoRA 40/200 · loss 1.300');
  const run = { ...earlier, step: 50, last: metric(50, { loss: 1.23456, elapsed_s: 100 }) };
  const { text, tooltip } = statusText(run, pace);
  assert.equal(text, '$(sync~spin) LoRA 50/200 · loss 1.235 · ETA 5m00s');
  assert.equal(statusText(run, pace).text, text, 'the same record again keeps the ETA');
  assert.match(tooltip, /step 50 of 200, loss 1\.2346/);
  assert.match(tooltip, /1,500 tokens\/s/);
  assert.equal(statusText(readRun(join(root, 'starting'), () => true)).text, '$(sync~spin) LoRA: tokenizing 1,234 records…');
  rmSync(root, { recursive: true });
});

test('the active run is the first live running one; none hides the item', () => {
  const root = makeRuns([
    { id: 'old', status: { state: 'completed', step: 1, total_steps: 1 } },
    { id: 'live', status: { state: 'running', step: 1, total_steps: 9 }, worker: { pid: 7, socket: 's', started_at: '' } },
  ]);
  const runs = ['old', 'live'].map((id) => readRun(join(root, id), (pid) => pid === 7));
  assert.equal(activeRun(runs)?.id, 'live');
  assert.equal(activeRun(runs.slice(0, 1)), undefined);
  assert.deepEqual([shortDuration(42), shortDuration(185), shortDuration(4020), shortDuration(-1)], ['42s', '3m05s', '1h07m', '?']);
  rmSync(root, { recursive: true });
});
