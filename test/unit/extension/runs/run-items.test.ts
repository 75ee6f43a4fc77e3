import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { methodSummary, runChildren, runItem } from '../../../../extension/runs/run-items';
import { DEFAULT_RUN_OPTIONS } from '../../../../native/protocol';
import { readRun } from '../../../../extension/runs/run-store';
import { makeRuns, metric } from './run-fixtures';

test('run items: state icons, progress, context values that drive the menus', () => {
  const root = makeRuns([
    { id: 'running', status: { state: 'running', step: 25, total_steps: 200 }, metrics: [metric(25)], worker: { pid: 42, socket: 's', started_at: '' } },
    { id: 'stopped', status: { state: 'stopped', step: 30, total_steps: 200 }, metrics: [metric(30)], checkpoints: [10, 30], adapter: true },
    { id: 'failed', status: { state: 'failed', step: 0, total_steps: 0, message: 'model.safetensors: tensor x missing' } },
    { id: 'done', status: { state: 'completed', step: 200, total_steps: 200 }, metrics: [metric(200, { loss: 0.5 })], adapter: true },
  ]);
  const item = (id: string) => runItem(readRun(join(root, id), (pid) => pid === 42));
  const running = item('running');
  assert.equal(running.description, '25/200 (12%) · loss 2.750');
  assert.equal(running.icon.id, 'sync~spin');
  assert.equal(running.contextValue, 'run.running');
  assert.equal(item('stopped').contextValue, 'run.stopped.resumable.adapter');
  assert.equal(item('stopped').description, 'stopped at 30/200 · loss 2.700');
  assert.equal(item('failed').contextValue, 'run.failed', 'no checkpoint: not resumable');
  assert.equal(item('failed').icon.id, 'error');
  assert.equal(item('done').description, 'completed · 200 steps · loss 0.500');
  assert.equal(item('done').icon.id, 'pass');
  assert.match(running.tooltip, /Qwen2-0\.5B on train\.jsonl/);
  rmSync(root, { recursive: true });
});

test('run children: failure reason, adapter, then checkpoints newest first', () => {
  const root = makeRuns([
    { id: 'stopped', status: { state: 'stopped', step: 30, total_steps: 200 }, checkpoints: [10, 30], adapter: true },
    { id: 'failed', status: { state: 'failed', step: 0, total_steps: 0, message: 'out of memory' }, checkpoints: [5] },
  ]);
  const stopped = runChildren(readRun(join(root, 'stopped'), () => false));
  assert.deepEqual(stopped.map((c) => [c.kind, c.label, c.contextValue]), [
    ['adapter', 'adapter', 'adapter'],
    ['checkpoint', 'step-30', 'checkpoint'],
    ['checkpoint', 'step-10', 'checkpoint'],
  ]);
  assert.equal(stopped[1].path, join(root, 'stopped', 'checkpoints', 'step-30'));
  const failed = runChildren(readRun(join(root, 'failed'), () => false));
  assert.deepEqual(failed.map((c) => [c.kind, c.label]), [['info', 'out of memory'], ['checkpoint', 'step-5']]);
  assert.equal(runItem(readRun(join(root, 'failed'), () => false)).contextValue, 'run.failed.resumable');
  rmSync(root, { recursive: true });
});

test('the run tooltip names the method and its ranks', () => {
  const base = { ...DEFAULT_RUN_OPTIONS, model: '/m', data: '/d.jsonl', out: '/o' };
  assert.equal(methodSummary(base), 'LoRA r 8');
  assert.equal(methodSummary({ ...base, use_dora: true }), 'DoRA r 8');
  assert.equal(methodSummary({ ...base, method: 'prompt-tuning', num_virtual_tokens: 8 }), 'Prompt tuning, 8 virtual tokens');
  assert.equal(methodSummary({ ...base, method: 'prefix-tuning' }), 'Prefix tuning, 20 virtual tokens');
  assert.equal(methodSummary({ ...base, init_lora_weights: 'pissa_niter_4' }), 'PiSSA r 8');
  assert.equal(methodSummary({ ...base, relora_steps: 200 }), 'ReLoRA r 8 every 200 steps');
  assert.equal(methodSummary({ ...base, method: 'adalora', init_r: 12, target_r: 8 }), 'AdaLoRA r 12 → 8');
  assert.equal(methodSummary({ ...base, method: 'lisa', lisa_layers: 2, lisa_period: 20 }), 'LISA 2 layers every 20 steps');
});

test('a LISA run shows its trained model (not an adapter) with Compare in its menu', () => {
  const root = makeRuns([{ id: 'lisa', status: { state: 'completed', step: 20, total_steps: 20 }, checkpoints: [20] }]);
  mkdirSync(join(root, 'lisa', 'model'), { recursive: true });
  writeFileSync(join(root, 'lisa', 'model', 'config.json'), '{}');
  const run = readRun(join(root, 'lisa'), () => false);
  assert.equal(runItem(run).contextValue, 'run.completed', 'no adapter: no Merge or Export on the run');
  assert.ok(runItem(run).collapsible);
  assert.deepEqual(runChildren(run).map((c) => [c.kind, c.label, c.contextValue, c.path]), [
    ['model', 'model', 'trainedModel', join(root, 'lisa', 'model')],
    ['checkpoint', 'step-20', 'checkpoint', join(root, 'lisa', 'checkpoints', 'step-20')],
  ]);
  rmSync(root, { recursive: true });
});
