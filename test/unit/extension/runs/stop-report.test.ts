import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endReport } from '../../../../extension/runs/stop-report';

const run = (facts: Partial<Parameters<typeof endReport>[0]>): Parameters<typeof endReport>[0] => ({
  id: 'r1', dir: '/runs/r1', state: 'stopped', step: 0, totalSteps: 100, checkpoints: [], hasAdapter: false, ...facts,
});
const at = (...steps: number[]) => steps.map((step) => ({ step, path: `/runs/r1/checkpoints/step-${step}` }));

test('a run that finished before the stop took effect says it finished and where its adapter is', () => {
  const report = endReport(run({ state: 'completed', step: 100, checkpoints: at(100), hasAdapter: true }), 'not-running');
  assert.deepEqual(report, { severity: 'info', hasAdapter: true, message: 'r1 had already finished (100 steps) before the stop took effect; its adapter is in /runs/r1.' });
  assert.equal(endReport(run({ state: 'completed', step: 100, hasAdapter: true }), 'stopped').message, 'r1 had already finished (100 steps) before the stop took effect; its adapter is in /runs/r1.');
  assert.equal(endReport(run({ state: 'completed', step: 100, hasAdapter: true }), 'ended').message, 'r1 finished after 100 steps; its adapter is in /runs/r1.');
});

test('a stopped run says at which step and what was kept; one stopped before its first step says nothing was trained', () => {
  assert.equal(endReport(run({ step: 40, checkpoints: at(20, 40), hasAdapter: true }), 'stopped').message,
    'r1 stopped at step 40; kept the checkpoint at step 40 (Resume continues from it); its adapter is in /runs/r1.');
  assert.equal(endReport(run({ step: 40, checkpoints: at(40), hasAdapter: true }), 'terminated').message,
    'r1 stopped at step 40; kept the checkpoint at step 40 (Resume continues from it); its adapter is in /runs/r1.');
  assert.deepEqual(endReport(run({ step: 0 }), 'stopped'), { severity: 'info', hasAdapter: false, message: 'r1 stopped before its first step: nothing was trained; start it again when you are ready.' });
  // A resume stopped while it compiled: nothing new, the checkpoint it started from is kept.
  assert.equal(endReport(run({ step: 40, checkpoints: at(40), hasAdapter: true }), 'ended').message,
    'r1 stopped at step 40; kept the checkpoint at step 40 (Resume continues from it); its adapter is in /runs/r1.');
  assert.equal(endReport(run({ step: 12, checkpoints: at(12), hasAdapter: true }), 'not-running').message,
    'r1 was not running: it had stopped at step 12; kept the checkpoint at step 12 (Resume continues from it); its adapter is in /runs/r1.');
});

test('a killed run says so, the checkpoint it keeps and the steps lost after it', () => {
  const report = endReport(run({ state: 'failed', step: 57, checkpoints: at(50), hasAdapter: true, message: 'the training worker stopped without recording why — last step 57' }), 'killed');
  assert.deepEqual(report, { severity: 'warning', hasAdapter: true, message: 'r1 did not stop in time and was killed at step 57: kept the checkpoint at step 50 (Resume continues from it); steps 51–57 are lost.' });
  assert.equal(endReport(run({ state: 'failed', step: 3 }), 'killed').message, 'r1 did not stop in time and was killed at step 3: kept no checkpoint.');
});

test('a failure is an error with its reason; a run still going says the stop has not taken effect', () => {
  assert.deepEqual(endReport(run({ state: 'failed', step: 5, message: 'metrics.jsonl: no space left on the device' }), 'stopped'),
    { severity: 'error', hasAdapter: false, message: 'r1 failed: metrics.jsonl: no space left on the device.' });
  assert.deepEqual(endReport(run({ state: 'running', step: 8, message: 'saving checkpoint…' }), 'stopped'),
    { severity: 'warning', hasAdapter: false, message: 'r1 is still running at step 8 (saving checkpoint…).' });
});
