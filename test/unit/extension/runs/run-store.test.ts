import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { comparisonsFolder, listRuns, newRunId, pidAlive, readLastLine, readRun, runFolderPaths } from '../../../../extension/runs/run-store';
import { RunFolderPoller } from '../../../../extension/runs/run-watch';
import { makeRuns, metric } from './run-fixtures';

const worker = (pid: number) => ({ pid, socket: '/tmp/x.sock', started_at: '2026-01-01T00:00:00Z' });
const alive = (pids: number[]) => (pid: number) => pids.includes(pid);

test('lists run folders newest first, skipping folders without training_config.json', () => {
  const root = makeRuns([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
  utimesSync(join(root, 'a', 'training_config.json'), 1000, 1000);
  utimesSync(join(root, 'b', 'training_config.json'), 3000, 3000);
  utimesSync(join(root, 'c', 'training_config.json'), 2000, 2000);
  assert.deepEqual(listRuns(root).map((run) => run.id), ['b', 'c', 'a']);
  assert.deepEqual(listRuns(join(root, 'missing')), []);
  rmSync(root, { recursive: true });
});

test('state comes from status.json, the last metric and whether the worker lives', () => {
  const root = makeRuns([
    { id: 'live', status: { state: 'running', step: 7, total_steps: 100 }, metrics: [metric(6), metric(7)], worker: worker(111) },
    { id: 'dead', status: { state: 'running', step: 7, total_steps: 100, message: 'step 7' }, metrics: [metric(7)], worker: worker(222), checkpoints: [5] },
    { id: 'done', status: { state: 'completed', step: 100, total_steps: 100 }, metrics: [metric(100)], adapter: true, checkpoints: [50, 100] },
    { id: 'nostatus', metrics: [metric(3)] },
    { id: 'fresh' },
  ]);
  const runs = new Map(listRuns(root, alive([111])).map((run) => [run.id, run]));
  assert.equal(runs.get('live')?.state, 'running');
  assert.equal(runs.get('live')?.live, true);
  assert.equal(runs.get('live')?.last?.step, 7);
  assert.equal(runs.get('live')?.totalSteps, 100);
  assert.equal(runs.get('dead')?.state, 'failed', 'a running status with a dead worker is a failure');
  assert.equal(runs.get('dead')?.message, 'the training worker stopped without recording why — last step 7 (last status: step 7); resume continues from the checkpoint at step 5; see the log');
  assert.equal(runs.get('done')?.state, 'completed');
  assert.equal(runs.get('done')?.hasAdapter, true);
  assert.deepEqual(runs.get('done')?.checkpoints.map((c) => c.step), [50, 100]);
  assert.equal(runs.get('nostatus')?.state, 'stopped');
  assert.equal(runs.get('nostatus')?.step, 3);
  assert.equal(runs.get('fresh')?.state, 'pending');
  rmSync(root, { recursive: true });
});

test('a starting run stays pending until its worker appears; a vanished or never-started worker is a failure', () => {
  const root = makeRuns([
    { id: 'starting', status: { state: 'pending', step: 0, total_steps: 0, message: 'starting the training worker…' } },
    { id: 'vanished', status: { state: 'pending', step: 0, total_steps: 0 }, worker: worker(333) },
  ]);
  const written = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(readRun(join(root, 'starting'), () => false, written + 1000).state, 'pending');
  const late = readRun(join(root, 'starting'), () => false, written + 10 * 60_000);
  assert.equal(late.state, 'failed');
  assert.match(late.message ?? '', /never started/);
  assert.equal(readRun(join(root, 'vanished'), () => false, written).state, 'failed');
  assert.equal(readRun(join(root, 'vanished'), () => false, written).message, 'the training worker stopped without recording why — last step 0; no checkpoint was saved; see the log');
  assert.equal(readRun(join(root, 'vanished'), alive([333]), written).state, 'running');
  rmSync(root, { recursive: true });
});

test('the last metric is read from the tail and a torn final line is ignored', () => {
  const root = makeRuns([{ id: 'r', metrics: [metric(1), metric(2)], tail: '{"step":3,"los' }]);
  assert.equal(readRun(join(root, 'r'), () => false).last?.step, 2);
  appendFileSync(join(root, 'r', 'metrics.jsonl'), 's":1}\n');
  assert.equal(readRun(join(root, 'r'), () => false).last?.step, 3);
  assert.equal(readLastLine(join(root, 'nope')), undefined);
  rmSync(root, { recursive: true });
});

test('pidAlive and run ids', () => {
  assert.equal(pidAlive(process.pid), true);
  assert.equal(pidAlive(0), false);
  assert.equal(pidAlive(2 ** 22 + 12345), false);
  assert.equal(newRunId('/m/Qwen2.5 0.5B!', new Date('2026-11-25T03:51:07Z')), '2026-11-25_03-51-07_Qwen2.5-0.5B-');
});

test('run ids: the training panel\'s (no model yet) is the time and "run"; ids sort as their times do', () => {
  assert.equal(newRunId('', new Date('2026-11-25T03:51:07Z')), '2026-11-25_03-51-07_run');
  // UTC, zero-padded: string order is time order, across months, years and the local clock's DST changes.
  const times = ['2026-03-29T00:59:59Z', '2026-03-29T01:00:00Z', '2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z', '2027-01-01T00:00:00Z'];
  const ids = times.map((t) => newRunId('/m/x', new Date(t)));
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
});

test('Compare Methods\' runs are listed too: each comparison\'s method folders beside the runs folder, named comparison/method, and polled', () => {
  const root = makeRuns([{ id: 'runs/a' }, { id: 'compare/2026-11-29_x/lora' }, { id: 'compare/2026-11-29_x/dora' }, { id: 'compare/2026-11-29_x/notes' }]);
  rmSync(join(root, 'compare', '2026-11-29_x', 'notes', 'training_config.json'));
  const runs = join(root, 'runs');
  assert.equal(comparisonsFolder(runs), join(root, 'compare'));
  assert.deepEqual(runFolderPaths(runs).sort(), [join(root, 'compare', '2026-11-29_x', 'dora'), join(root, 'compare', '2026-11-29_x', 'lora'), join(runs, 'a')]);
  assert.deepEqual(listRuns(runs).map((run) => run.id).sort(), ['2026-11-29_x/dora', '2026-11-29_x/lora', 'a']);
  const poller = new RunFolderPoller(() => false);
  poller.poll(runs);
  appendFileSync(join(root, 'compare', '2026-11-29_x', 'dora', 'metrics.jsonl'), `${JSON.stringify(metric(1))}\n`);
  assert.deepEqual(poller.poll(runs).changed, [join(root, 'compare', '2026-11-29_x', 'dora')], 'a comparison\'s run is watched like the others');
  rmSync(root, { recursive: true });
});
