import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WORKER_PROTOCOL_VERSION, DEFAULT_RUN_OPTIONS, type RunConfig, type WorkerEvent } from '../../../../native/protocol';
import { serveRunSocket } from '../../../../native/train/ipc';
import { readWorkerInfo, runPaths } from '../../../../native/train/run-dir';
import { writeJsonAtomic } from '../../../../native/util/atomic-write';
import { pidAlive } from '../../../../extension/runs/run-store';
import { protocolMismatch, WorkerClient, WorkerStartError } from '../../../../extension/runs/worker-client';

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

test('a worker that ignores stop and SIGTERM is killed, and the stop says so', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'wc-'));
  const host = client('hung');
  const pid = await host.spawn(runDir);
  try {
    assert.equal(await host.stop(runDir, 300, 300), 'killed');
    await until(() => !pidAlive(pid));
    assert.match(readFileSync(runPaths(runDir).log, 'utf8'), /SIGTERM ignored/, 'SIGTERM came first');
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

test('protocolMismatch: the same version passes; another is refused saying which is newer; no version means 1', () => {
  assert.equal(protocolMismatch(WORKER_PROTOCOL_VERSION, '/w/runs/a', 7), undefined);
  assert.match(protocolMismatch(WORKER_PROTOCOL_VERSION + 1, '/w/runs/a', 7) ?? '',
    new RegExp(`worker of a \\(pid 7\\) speaks worker protocol ${WORKER_PROTOCOL_VERSION + 1} but this LoRA Studio speaks ${WORKER_PROTOCOL_VERSION}: a newer version`));
  assert.match(protocolMismatch(WORKER_PROTOCOL_VERSION - 1, '/w/runs/a') ?? '', /an older version of the extension started it, so this window does not attach/);
  assert.equal(protocolMismatch(undefined, '/w/runs/a', 7), protocolMismatch(1, '/w/runs/a', 7));
});

/** An in-process stand-in worker: the real run socket and a worker.json naming this (live) process. */
async function standInWorker(runDir: string, protocol: number | undefined) {
  const server = await serveRunSocket(runDir, () => undefined);
  writeJsonAtomic(runPaths(runDir).worker, { pid: process.pid, socket: server.socketPath, started_at: new Date().toISOString(), ...(protocol === undefined ? {} : { protocol }) });
  return server;
}

function refusingClient(events: WorkerEvent[], refusals: string[], detached: string[] = []) {
  return new WorkerClient(
    { nodePath: process.execPath, workerScript: fakeWorker, env: () => process.env },
    { onEvent: (_runDir, event) => events.push(event), onDetach: (runDir) => detached.push(runDir), onRefused: (_runDir, message) => refusals.push(message) },
  );
}

test('a worker whose worker.json names another protocol version is not attached, and that is said once', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'wc-'));
  const server = await standInWorker(runDir, WORKER_PROTOCOL_VERSION + 1);
  const refusals: string[] = [];
  const host = refusingClient([], refusals);
  try {
    assert.equal(await host.attach(runDir), false);
    assert.equal(await host.attach(runDir), false, 'the Runs view retries on every change');
    assert.equal(host.isAttached(runDir), false);
    assert.equal(refusals.length, 1);
    assert.match(refusals[0], new RegExp(`speaks worker protocol ${WORKER_PROTOCOL_VERSION + 1} but this LoRA Studio speaks ${WORKER_PROTOCOL_VERSION}`));
  } finally {
    host.dispose();
    await server.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('a worker that says another protocol version in its start event is dropped: no events forwarded after it', async () => {
  // As after spawning (the client connects before worker.json exists): only `start` tells the version.
  const runDir = mkdtempSync(join(tmpdir(), 'wc-'));
  const server = await standInWorker(runDir, WORKER_PROTOCOL_VERSION);
  const events: WorkerEvent[] = [];
  const refusals: string[] = [];
  const detached: string[] = [];
  const host = refusingClient(events, refusals, detached);
  const config: RunConfig = { ...DEFAULT_RUN_OPTIONS, model: '/m', data: '/d', out: runDir };
  try {
    assert.equal(await host.attach(runDir), true);
    server.broadcast({ type: 'status', phase: 'loading-model', message: 'loading…' });
    server.broadcast({ type: 'start', protocol: WORKER_PROTOCOL_VERSION + 1, run_dir: runDir, total_steps: 9, resumed_from_step: 0, config, pid: process.pid });
    server.broadcast({ type: 'status', phase: 'training', message: 'after start' });
    await until(() => detached.includes(runDir));
    assert.deepEqual(events.map((e) => e.type), ['status'], 'nothing from the refused start on');
    assert.equal(refusals.length, 1);
    assert.match(refusals[0], /a newer version of the extension started it/);
    assert.equal(host.isAttached(runDir), false);
  } finally {
    host.dispose();
    await server.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('a worker of this protocol version is attached and its start event passes', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'wc-'));
  const server = await standInWorker(runDir, WORKER_PROTOCOL_VERSION);
  const events: WorkerEvent[] = [];
  const refusals: string[] = [];
  const host = refusingClient(events, refusals);
  try {
    assert.equal(await host.attach(runDir), true);
    server.broadcast({ type: 'start', protocol: WORKER_PROTOCOL_VERSION, run_dir: runDir, total_steps: 9, resumed_from_step: 0,
      config: { ...DEFAULT_RUN_OPTIONS, model: '/m', data: '/d', out: runDir }, pid: process.pid });
    await until(() => events.some((e) => e.type === 'start'));
    assert.deepEqual(refusals, []);
    assert.equal(host.isAttached(runDir), true);
  } finally {
    host.dispose();
    await server.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});
