// The run folder's lock: one process trains a folder; a live holder is named; a dead one's lock is taken over; the
// holder takes it again freely and releases only its own; the lock holder sweeps what killed processes left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireRunLock, runLockPath } from '../../../../native/train/run-lock';
import { removeLeftovers } from '../../../../native/train/checkpoint';

const root = mkdtempSync(join(tmpdir(), 'run-lock-'));
const lockOf = (pid: number, host = hostname()) => JSON.stringify({ pid, host, started_at: '2026-11-29T10:00:00.000Z' });

test('a free folder is locked with this pid and host; taking it again is fine; release removes it', () => {
  const dir = join(root, 'free');
  const lock = acquireRunLock(dir);
  const held = JSON.parse(readFileSync(runLockPath(dir), 'utf8'));
  assert.deepEqual([held.pid, held.host], [process.pid, hostname()]);
  const again = acquireRunLock(dir, () => true); // the holder takes it again (the CLI, then the training it starts)
  assert.equal(JSON.parse(readFileSync(runLockPath(dir), 'utf8')).started_at, held.started_at, 'held, not replaced');
  again.release();
  assert.equal(existsSync(runLockPath(dir)), false);
  lock.release(); // twice is harmless
});

test('a live holder is refused by name; a dead one is taken over; another host is refused with how to clear it', () => {
  const dir = join(root, 'held');
  acquireRunLock(dir).release();
  writeFileSync(runLockPath(dir), lockOf(4242));
  assert.throws(() => acquireRunLock(dir, (pid) => pid === 4242), /being trained by process 4242 \(since 2026-11-29T10:00:00.000Z\).*Stop in the Runs view/);
  const taken = acquireRunLock(dir, () => false);
  assert.equal(JSON.parse(readFileSync(runLockPath(dir), 'utf8')).pid, process.pid, 'a stale lock is taken over');
  taken.release();
  writeFileSync(runLockPath(dir), lockOf(4242, 'other-machine'));
  assert.throws(() => acquireRunLock(dir, () => false), /locked by process 4242 on other-machine.*delete .*run\.lock/);
});

test('release leaves a lock that is not this process\'s alone; a torn lock counts as stale', () => {
  const dir = join(root, 'torn');
  const lock = acquireRunLock(dir);
  writeFileSync(runLockPath(dir), lockOf(4242));
  lock.release();
  assert.equal(JSON.parse(readFileSync(runLockPath(dir), 'utf8')).pid, 4242);
  writeFileSync(runLockPath(dir), '{"pid": 42');
  acquireRunLock(dir, () => true).release();
});

test('leftovers of a killed process (half-written or half-deleted checkpoints, moved-aside folders, temp files) are removed; checkpoints stay', () => {
  const dir = join(root, 'leftovers');
  const checkpoints = join(dir, 'checkpoints');
  for (const name of ['step-10', '.staging-step-20-123-abcdef', '.deleting-step-5-0a1b2c', 'step-10.old-99-deadbeef']) mkdirSync(join(checkpoints, name), { recursive: true });
  writeFileSync(join(checkpoints, 'latest'), 'step-10\n');
  writeFileSync(join(checkpoints, '.latest.4321.0a0b0c0d.tmp'), 'step-2');
  writeFileSync(join(dir, '.status.json.4321.0a0b0c0d.tmp'), '{');
  writeFileSync(join(dir, 'status.json'), '{}');
  const removed = removeLeftovers(dir).map((path) => path.slice(dir.length + 1)).sort();
  assert.deepEqual(removed, ['.status.json.4321.0a0b0c0d.tmp', 'checkpoints/.deleting-step-5-0a1b2c', 'checkpoints/.latest.4321.0a0b0c0d.tmp', 'checkpoints/.staging-step-20-123-abcdef', 'checkpoints/step-10.old-99-deadbeef']);
  assert.deepEqual(readdirSync(checkpoints).sort(), ['latest', 'step-10']);
  assert.ok(existsSync(join(dir, 'status.json')));
});

test("a supervised trainer's lock names its supervisor and is held while either process lives", () => {
  const dir = join(root, 'supervised');
  acquireRunLock(dir).release();
  // The supervisor (4242) was killed outright, its trainer (4343) still finishes a native call: the folder is not free.
  writeFileSync(runLockPath(dir), JSON.stringify({ pid: 4242, trainer_pid: 4343, host: hostname(), started_at: '2026-11-29T10:00:00.000Z' }));
  assert.throws(() => acquireRunLock(dir, (pid) => pid === 4343), /being trained by process 4242 /);
  const taken = acquireRunLock(dir, () => false);
  assert.equal(JSON.parse(readFileSync(runLockPath(dir), 'utf8')).pid, process.pid, 'both gone: a stale lock is taken over');
  taken.release();
});
