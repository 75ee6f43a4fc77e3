import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../../../native/protocol';
import { fingerprintMismatches, loadCheckpoint, pruneCheckpoints, saveCheckpoint } from '../../../../native/train/checkpoint';
import { latestCheckpoint } from '../../../../native/train/run-dir';

const config: RunConfig = { ...DEFAULT_RUN_OPTIONS, model: '/m', data: '/d.jsonl', out: '/o' };
const state = (step: number) => ({
  config,
  loop: { step, position: { epoch: 1, index: 3 }, tokens: 1234, elapsed_s: 5.5 },
  trainer: { step, tensors: new Map([['a.lora_A', new Float32Array([1, 2, 3, 4, 5, 6])], ['a.lora_A.exp_avg', new Float32Array([0.5, 0, 0, 0, 0, 0])]]) },
  shapes: new Map([['a.lora_A', [2, 3]], ['a.lora_A.exp_avg', [2, 3]]]),
  writeAdapter: (dir: string) => writeFileSync(join(dir, 'adapter_config.json'), '{}'),
});

test('a checkpoint round-trips loop state and tensors; latest points at the newest; no staging left behind', () => {
  const run = mkdtempSync(join(tmpdir(), 'ckpt-'));
  saveCheckpoint(run, state(10));
  const path = saveCheckpoint(run, state(20));
  assert.equal(latestCheckpoint(run)?.step, 20);
  assert.equal(readFileSync(join(run, 'checkpoints', 'latest'), 'utf8').trim(), 'step-20');
  assert.deepEqual(readdirSync(join(run, 'checkpoints')).sort(), ['latest', 'step-10', 'step-20']);
  assert.ok(existsSync(join(path, 'adapter_config.json')), 'each checkpoint is a usable adapter folder');
  const loaded = loadCheckpoint(path);
  assert.deepEqual(loaded.loop, { step: 20, position: { epoch: 1, index: 3 }, tokens: 1234, elapsed_s: 5.5 });
  assert.equal(loaded.trainer.step, 20);
  assert.deepEqual(loaded.trainer.tensors.get('a.lora_A'), new Float32Array([1, 2, 3, 4, 5, 6]));
  assert.deepEqual(fingerprintMismatches(loaded.fingerprint, config), []);
  assert.deepEqual(fingerprintMismatches(loaded.fingerprint, { ...config, r: 16 }), ['r']);
});

test('save_total_limit keeps the newest N checkpoints, deleting older ones only once a newer one is complete', () => {
  const run = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const limited = (step: number) => ({ ...state(step), config: { ...config, save_total_limit: 2 } });
  for (const step of [10, 20, 30]) saveCheckpoint(run, limited(step));
  assert.deepEqual(readdirSync(join(run, 'checkpoints')).sort(), ['latest', 'step-20', 'step-30']);
  // A failed save deletes nothing: the two complete ones stay.
  assert.throws(() => saveCheckpoint(run, { ...limited(40), writeAdapter: () => { throw new Error('disk full'); } }), /disk full/);
  assert.deepEqual(readdirSync(join(run, 'checkpoints')).sort(), ['latest', 'step-20', 'step-30']);
  saveCheckpoint(run, limited(40));
  assert.deepEqual(readdirSync(join(run, 'checkpoints')).sort(), ['latest', 'step-30', 'step-40']);
  assert.equal(latestCheckpoint(run)?.step, 40);
  // 0 keeps all; a later, smaller limit applies on the next save.
  const unlimited = mkdtempSync(join(tmpdir(), 'ckpt-'));
  for (const step of [1, 2, 3, 4]) saveCheckpoint(unlimited, { ...state(step), config: { ...config, save_total_limit: 0 } });
  assert.equal(readdirSync(join(unlimited, 'checkpoints')).filter((n) => n.startsWith('step-')).length, 4);
  assert.deepEqual(pruneCheckpoints(unlimited, 1).map((p) => p.split('/').pop()), ['step-1', 'step-2', 'step-3']);
  assert.deepEqual(readdirSync(join(unlimited, 'checkpoints')).sort(), ['latest', 'step-4']);
});

test('a failing save leaves the previous checkpoint intact and no partial folder', () => {
  const run = mkdtempSync(join(tmpdir(), 'ckpt-'));
  saveCheckpoint(run, state(10));
  assert.throws(() => saveCheckpoint(run, { ...state(20), writeAdapter: () => { throw new Error('disk full'); } }), /disk full/);
  assert.deepEqual(readdirSync(join(run, 'checkpoints')).sort(), ['latest', 'step-10']);
  assert.equal(latestCheckpoint(run)?.step, 10);
  assert.equal(loadCheckpoint(latestCheckpoint(run)!.path).loop.step, 10);
});

test('a folder without trainer_state.json is refused with what to do', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  assert.throws(() => loadCheckpoint(dir), /not a complete checkpoint .* resume from the run folder/);
});
