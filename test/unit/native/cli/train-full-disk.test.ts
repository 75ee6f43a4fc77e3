// A full disk while a run writes metrics.jsonl or status.json ends it with a clear error (the path and the cause, no
// stack trace) and a non-zero exit, never a run that says "running" forever: what status.json cannot record, the Runs
// view derives from the worker being gone. The disk is "full" by a preloaded fault (test/fixtures/fault-injection).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUN_OPTIONS, type RunConfig, type WorkerEvent } from '../../../../native/protocol';
import { latestCheckpoint, readMetrics, readRunStatus, readWorkerInfo, runPaths } from '../../../../native/train/run-dir';
import { runLockPath } from '../../../../native/train/run-lock';
import { writeJsonAtomic } from '../../../../native/util/atomic-write';
import { readRun } from '../../../../extension/runs/run-store';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';

const root = mkdtempSync(join(tmpdir(), 'train-full-disk-'));
const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 3 }).dir;
const data = join(root, 'data.jsonl');
writeFileSync(data, '{"instruction":"Say hi.","output":"hi"}\n{"instruction":"Say bye.","output":"bye"}\n');
const fault = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'fault-injection', 'full-disk.cjs');
const withFullDisk = (path: string, after: number) => ({ ...process.env, FULL_DISK_PATH: path, FULL_DISK_AFTER: String(after) });

test('metrics.jsonl on a full disk: exit 1 naming the file and the cause, status.json failed at the last step, and the run resumes from its checkpoint', () => {
  const out = join(root, 'metrics-full');
  const args = ['dist/cli.js', 'train', '--model', model, '--data', data, '--out', out, '--max-steps', '6', '--save-every', '1', '--batch-size', '2', '--max-seq-len', '32', '--json'];
  const result = spawnSync(process.execPath, ['-r', fault, ...args], { encoding: 'utf8', timeout: 300_000, env: withFullDisk('metrics\\.jsonl$', 2) });
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /metrics\.jsonl: no space left on the device \(ENOSPC in write\) — free some disk space/);
  assert.doesNotMatch(result.stderr, /internal error|    at /, 'no stack trace for a full disk');
  const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as WorkerEvent);
  const last = events.at(-1);
  assert.equal(last?.type, 'error');
  assert.match(last?.type === 'error' ? last.message : '', /metrics\.jsonl: no space left/);
  const status = readRunStatus(out);
  assert.deepEqual([status?.state, status?.step], ['failed', 2]);
  assert.match(status?.message ?? '', /metrics\.jsonl: no space left on the device/);
  assert.equal(readMetrics(out).length, 2);
  assert.equal(latestCheckpoint(out)?.step, 2);
  assert.equal(readWorkerInfo(out), undefined);
  assert.equal(existsSync(runLockPath(out)), false);

  const resumed = spawnSync(process.execPath, ['dist/cli.js', 'train', '--resume', out], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.deepEqual([readRunStatus(out)?.state, readMetrics(out).map((m) => m.step)], ['completed', [1, 2, 3, 4, 5, 6]]);
});

test('status.json on a full disk: the worker exits 1 with an error event saying so, and the Runs view shows the run as stopped without a recorded reason, at its last step', () => {
  const out = join(root, 'status-full');
  const config: RunConfig = { ...DEFAULT_RUN_OPTIONS, model, data, out, max_steps: 100_000, save_every: 3, micro_batch_size: 2, max_seq_len: 32 };
  writeJsonAtomic(runPaths(out).config, config);
  // The temp files of status.json's atomic writes fail from the 12th on: after a few steps, mid-run.
  const result = spawnSync(process.execPath, ['-r', fault, 'dist/worker.js', out], { encoding: 'utf8', timeout: 300_000, env: withFullDisk('\\.status\\.json\\.\\d+\\.[0-9a-f]+\\.tmp$', 11) });
  assert.equal(result.status, 1, result.stdout + result.stderr);
  assert.match(result.stdout, /status\.json\.\d+\.[0-9a-f]+\.tmp: no space left on the device \(ENOSPC in open\).*; status\.json could not record this either: .*no space left/);
  assert.doesNotMatch(result.stdout + result.stderr, /internal error|    at /);
  assert.equal(readRunStatus(out)?.state, 'running', 'status.json could not be written: it says what it said last');
  assert.equal(readWorkerInfo(out), undefined);
  assert.equal(existsSync(runLockPath(out)), false);
  const run = readRun(out);
  const steps = readMetrics(out).length;
  assert.equal(run.state, 'failed');
  const kept = latestCheckpoint(out)?.step;
  assert.equal(run.message?.startsWith(`the training worker stopped without recording why — last step ${steps}`), true, run.message);
  assert.match(run.message ?? '', kept === undefined ? /no checkpoint was saved/ : new RegExp(`resume continues from the checkpoint at step ${kept}`));
});
