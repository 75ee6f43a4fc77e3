// Tests of extension/panels/dashboard-data.ts on run folders built by the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dashboardInit, siblingRuns, workerAlive } from '../../../../extension/panels/dashboard-data';

const root = mkdtempSync(join(tmpdir(), 'lora-runs-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const line = (step: number, loss: number, extra = {}) => JSON.stringify({ step, epoch: 0, loss, lr: 1e-4, grad_norm: 1, tokens: 0, tokens_per_s: 1, elapsed_s: step, memory_mb: 1, ...extra });

function run(name: string, opts: { status?: object; metrics?: string[]; checkpoint?: number; worker?: object }): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  if (opts.status) writeFileSync(join(dir, 'status.json'), JSON.stringify({ updated_at: '', ...opts.status }));
  if (opts.metrics) writeFileSync(join(dir, 'metrics.jsonl'), opts.metrics.join('\n'));
  if (opts.checkpoint !== undefined) {
    mkdirSync(join(dir, 'checkpoints', `step-${opts.checkpoint}`), { recursive: true });
    writeFileSync(join(dir, 'checkpoints', `step-${opts.checkpoint}`, 'trainer_state.json'), '{}');
  }
  if (opts.worker) writeFileSync(join(dir, 'worker.json'), JSON.stringify(opts.worker));
  return dir;
}

test('a finished run: metrics (torn last line ignored), eval points, state from status.json', () => {
  const dir = run('done', { status: { state: 'completed', step: 3, total_steps: 3 }, metrics: [line(1, 3), line(2, 2, { eval_loss: 2.5 }), line(3, 1), '{"step": 4, "lo'] });
  const init = dashboardInit(dir, false, []);
  assert.equal(init.state, 'completed');
  assert.deepEqual(init.metrics.map((m) => m.step), [1, 2, 3]);
  assert.deepEqual(init.evals, [{ step: 2, eval_loss: 2.5 }]);
  assert.equal(init.totalSteps, 3);
  assert.equal(init.canResume, false);
  assert.equal(init.name, 'done');
});

test('"running" without a live worker is shown as failed and resumable from its checkpoint', () => {
  const dir = run('crashed', { status: { state: 'running', step: 5, total_steps: 10 }, metrics: [line(5, 1)], checkpoint: 4 });
  const init = dashboardInit(dir, false, []);
  assert.equal(init.state, 'failed');
  assert.match(init.message ?? '', /exited unexpectedly \(last step 5\)/);
  assert.equal(init.canResume, true);
  assert.equal(dashboardInit(dir, true, []).state, 'running');
  assert.equal(dashboardInit(dir, true, []).canResume, false);
});

test('a brand-new run folder with nothing yet is pending', () => {
  const init = dashboardInit(run('fresh', {}), false, []);
  assert.equal(init.state, 'pending');
  assert.deepEqual(init.metrics, []);
});

test('sibling runs with metrics, newest first, excluding this one', () => {
  const a = run('old', { metrics: [line(1, 1)] });
  const b = run('new', { metrics: [line(1, 1)] });
  utimesSync(join(a, 'metrics.jsonl'), new Date(1000), new Date(1000));
  const refs = siblingRuns(b).map((r) => r.name);
  assert.equal(refs.includes('new'), false);
  assert.equal(refs.includes('fresh'), false, 'no metrics → not offered');
  assert.equal(refs[refs.length - 1], 'old');
});

test('workerAlive: our own pid is alive, a missing worker.json is not', () => {
  assert.equal(workerAlive(run('live', { worker: { pid: process.pid, socket: '', started_at: '' } })), true);
  assert.equal(workerAlive(run('nobody', {})), false);
});
