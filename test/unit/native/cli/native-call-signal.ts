// Helpers of the native-call signal tests (train-signals-native-call*.test.ts): start `lora-studio train`, signal it
// while its trainer is inside a marked native call (an onnxruntime session creation), and check that nothing the run
// owned or half-wrote is left. Every process started is recorded in `started`, which each test file kills in after().
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkerEvent } from '../../../../native/protocol';
import { readWorkerInfo } from '../../../../native/train/run-dir';
import { runLockPath } from '../../../../native/train/run-lock';
import { runSocketPath } from '../../../../native/train/ipc';
import { nativeCallPath, readNativeCall, type NativeCallMarker } from '../../../../native/train/native-call';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills every pid in `started` (call from after()): a case that fails midway must not leave a long run behind. */
export function killAll(started: Set<number>): void {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Starts `args`, sends `signal` once the run folder's native-call marker satisfies `when` (any marker by default), and
 * resolves with the exit, the events printed, the stop's duration, the trainer's pid and the marker signalled in.
 */
export async function interruptInsideNativeCall(
  args: string[], out: string, signal: NodeJS.Signals, started: Set<number>, when: (marker: NativeCallMarker) => boolean = () => true,
) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let exited = false;
  const exit = new Promise<number | null>((done) => child.on('exit', (code) => ((exited = true), done(code))));
  let marker: NativeCallMarker | undefined;
  for (;;) {
    marker = readNativeCall(out);
    if (exited || (marker && when(marker))) break;
    if (marker) started.add(marker.pid);
    await sleep(20);
  }
  assert.ok(!exited && marker, `the run ended before the native call waited for; stderr: ${stderr}`);
  started.add(marker.pid);
  assert.equal(readWorkerInfo(out)?.pid, child.pid, 'worker.json names the supervisor, the process others signal');
  assert.notEqual(marker.pid, child.pid, 'the trainer is its child');
  const sentAt = performance.now();
  child.kill(signal);
  const code = await exit;
  const events = stdout.trim().split('\n').map((line) => JSON.parse(line) as WorkerEvent);
  return { code, events, stderr, seconds: (performance.now() - sentAt) / 1000, trainer: marker.pid, marker };
}

/** Nothing the run owned or half-wrote is left: lock, worker.json, socket, marker, temp files. */
export function assertClean(out: string, trainer: number): void {
  const leftovers = [...readdirSync(out), ...(existsSync(join(out, 'checkpoints')) ? readdirSync(join(out, 'checkpoints')) : [])]
    .filter((name) => /\.tmp$|^\.staging-|^\.deleting-|\.old-|\.writing-/.test(name));
  assert.deepEqual(leftovers, []);
  assert.equal(existsSync(runLockPath(out)), false, 'the lock is released');
  assert.equal(readWorkerInfo(out), undefined, 'worker.json is removed');
  assert.equal(existsSync(runSocketPath(out)), false, 'the socket is removed');
  assert.equal(existsSync(nativeCallPath(out)), false, 'the marker is removed');
  assert.throws(() => process.kill(trainer, 0), 'the trainer is gone');
}
