// The GPU benchmark's pipeline, exercised on the CPU with a tiny model (CI has no GPU): it must build the model,
// train, and write a results record with the fields the README table reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('bench/gpu/run.ts runs end to end on the CPU (--tiny --no-peer) and records losses and throughput', () => {
  const results = mkdtempSync(join(tmpdir(), 'gpu-bench-'));
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/gpu/run.ts', '--device', 'cpu', '--tiny', '--no-peer', '--steps', '3', '--results', results], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout.trim().split('\n').pop()!, /^ours\/peft: /);
  const [file] = readdirSync(results);
  const record = JSON.parse(readFileSync(join(results, file), 'utf8'));
  assert.equal(record.device, 'cpu');
  assert.equal(record.ours.losses.length, 3);
  assert.ok(record.ours.losses.every((l: number) => Number.isFinite(l)));
  assert.ok(record.ours.tokens_per_s > 0);
  assert.equal(record.lora.modules, 14);
});
