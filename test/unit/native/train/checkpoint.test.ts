import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../../../native/protocol';
import { fingerprintMismatches, loadCheckpoint, saveCheckpoint } from '../../../../native/train/checkpoint';
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
