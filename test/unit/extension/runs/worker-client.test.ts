import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WorkerEvent } from '../../../../native/protocol';
import { readWorkerInfo, runPaths } from '../../../../native/train/run-dir';
import { pidAlive } from '../../../../extension/runs/run-store';
import { WorkerClient, WorkerStartError } from '../../../../extension/runs/worker-client';

const fakeWorker = join(import.meta.dirname, 'fake-worker.ts');
const tsxLoader = pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/loader.mjs')).href;

function client(mode: string, events: WorkerEvent[] = [], detached: string[] = [], extraEnv: Record<string, string> = {}) {
  return new WorkerClient(
    { nodePath: process.execPath, workerScript: fakeWorker, env: () => ({ ...process.env, FAKE_MODE: mode, NODE_OPTIONS: `--import ${tsxLoader}`, ...extraEnv }) },
    { onEvent: (_runDir, event) => events.push(event), onDetach: (runDir) => detached.push(runDir) },
  );
}

const until = async (check: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('spawns a detached worker, logs to train.log, re-attaches from a second host, stops it with a stop command', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'wc-'));
  const events: WorkerEvent[] = [];
  const detached: string[] = [];
  const host = client('normal', events, detached);
  const pid = await host.spawn(runDir, ['--resume']);
  try {
    assert.ok(pidAlive(pid));
    assert.doesNotThrow(() => process.kill(-pid, 0), 'the worker leads its own process group (detached)');
    await until(() => events.some((e) => e.type === 'step'));
    assert.match(readFileSync(runPaths(runDir).log, 'utf8'), /fake worker starting .* args=--resume/);
    assert.equal(readWorkerInfo(runDir)?.pid, pid);

    // A reloaded window: a new client attaches through worker.json and gets live events again (within a second on
    // an idle machine; the bound is looser so a loaded CI machine does not fail it).
    const second: WorkerEvent[] = [];
    const reloaded = client('normal', second);
    assert.equal(await reloaded.attach(runDir), true);
    await until(() => second.some((e) => e.type === 'step'), 3000);
    reloaded.send(runDir, { type: 'ping' });
    await until(() => second.some((e) => e.type === 'status' && e.message.startsWith('pong')));

    assert.equal(await reloaded.stop(runDir, 5000), 'stopped');
    assert.equal(pidAlive(pid), false);
    await until(() => events.some((e) => e.type === 'done'));
    await until(() => detached.includes(runDir));
    assert.equal(host.isAttached(runDir), false);
    assert.equal(await host.attach(runDir), false, 'nothing to attach to once the worker is gone');
    assert.equal(await host.stop(runDir), 'not-running');
    reloaded.dispose();
  } finally {
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    host.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('a worker that exits before listening rejects spawn with its exit code and the log path', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'wc-'));
  const host = client('exit-early');
  await assert.rejects(host.spawn(runDir), (error: Error) =>
    error instanceof WorkerStartError && error.exited && /exit code 3\): .*model folder not found; see .*train\.log/.test(error.message));
  assert.match(readFileSync(runPaths(runDir).log, 'utf8'), /model folder not found/);
  host.dispose();
  rmSync(runDir, { recursive: true, force: true });
});

test('a worker that ignores stop is terminated with SIGTERM after the grace period', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'wc-'));
  const host = client('ignore-stop');
  const pid = await host.spawn(runDir);
  try {
    assert.equal(await host.stop(runDir, 300), 'terminated');
    await until(() => !pidAlive(pid));
    assert.ok(existsSync(runPaths(runDir).worker), 'a killed worker leaves worker.json behind (the run store then reports it failed)');
  } finally {
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    host.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('a worker stopped before it has written worker.json is still found (by the pid the client spawned)', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'wc-'));
  const host = client('ignore-stop', [], [], { FAKE_WORKER_JSON_DELAY_MS: '2000' });
  const pid = await host.spawn(runDir);
  try {
    assert.equal(readWorkerInfo(runDir), undefined, 'the race this test is about needs worker.json to be missing');
    assert.equal(await host.stop(runDir, 300), 'terminated');
    await until(() => !pidAlive(pid));
  } finally {
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    host.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
});
