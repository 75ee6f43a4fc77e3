import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerCommand, WorkerEvent } from '../../../../native/protocol';
import { CLOSE_GRACE_MS, connectRunSocket, ensurePrivateSocketFolder, NdjsonDecoder, removeStaleSockets, runSocketPath, serveRunSocket } from '../../../../native/train/ipc';

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('NDJSON decoding waits for whole lines and skips non-JSON lines', () => {
  const decoder = new NdjsonDecoder();
  assert.deepEqual(decoder.push('{"a":1}\n{"b"'), [{ a: 1 }]);
  assert.deepEqual(decoder.push(':2}\nnot json\n\n{"c":3}\n'), [{ b: 2 }, { c: 3 }]);
});

test('socket paths are short and stable per run folder', () => {
  const long = join('/tmp', 'x'.repeat(200), 'runs', 'abc');
  assert.ok(runSocketPath(long).length < 100);
  assert.equal(runSocketPath(long), runSocketPath(long + '/'));
  assert.notEqual(runSocketPath(long), runSocketPath(long + 'd'));
});

test('a worker serves events to two attached hosts and receives their commands; a gone worker refuses connections', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'ipc-'));
  const commands: WorkerCommand[] = [];
  const server = await serveRunSocket(runDir, (command) => commands.push(command));
  const received: WorkerEvent[][] = [[], []];
  const clients = await Promise.all(received.map((list) => connectRunSocket(server.socketPath, { onEvent: (e) => list.push(e) })));
  clients[0].send({ type: 'stop' });
  clients[1].send({ type: 'ping' });
  // Wait for conditions, not fixed sleeps: a loaded CI machine may take longer than any guess.
  await until(() => commands.length === 2);
  server.broadcast({ type: 'status', phase: 'training', message: 'step 1' });
  await until(() => received.every((list) => list.length === 1));
  assert.deepEqual(commands.map((c) => c.type).sort(), ['ping', 'stop']);
  for (const list of received) assert.deepEqual(list, [{ type: 'status', phase: 'training', message: 'step 1' }]);
  for (const client of clients) client.close();
  await server.close();
  await assert.rejects(connectRunSocket(server.socketPath, { onEvent: () => undefined }));
});

test('a folder squatting the run\'s socket path is refused by name and left alone (it crashed with EISDIR)', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'ipc-'));
  const path = runSocketPath(runDir);
  ensurePrivateSocketFolder();
  mkdirSync(path);
  await assert.rejects(serveRunSocket(runDir, () => undefined), /control socket path is taken by a folder that is not a socket — remove /);
  assert.ok(statSync(path).isDirectory(), 'not removed');
  rmSync(path, { recursive: true });
  const server = await serveRunSocket(runDir, () => undefined);
  await server.close();
});

/** A raw connection that reads nothing until resumed: what a frozen or busy window looks like to the worker. */
async function pausedConnection(socketPath: string): Promise<Socket> {
  const socket = createConnection(socketPath);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.pause();
  return socket;
}

test('a host that stops reading is disconnected once its unread events pass the limit; readers keep receiving', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'ipc-'));
  const server = await serveRunSocket(runDir, () => {}, { maxUnreadBytes: 64 * 1024 });
  // A raw connection that never reads: what a frozen window looks like to the worker.
  const frozen = await pausedConnection(server.socketPath);
  let frozenBytes = 0;
  let frozenClosed = false;
  frozen.on('data', (chunk: Buffer) => (frozenBytes += chunk.length));
  frozen.on('close', () => (frozenClosed = true));
  frozen.on('error', () => {});
  const live: WorkerEvent[] = [];
  await connectRunSocket(server.socketPath, { onEvent: (e) => live.push(e) });
  const message = 'x'.repeat(1000);
  // Sent in rounds (letting I/O run), as a worker emits one event per step: the reader drains, the frozen one fills.
  const rounds = 100;
  const perRound = 50;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < perRound; i++) server.broadcast({ type: 'status', phase: 'training', message });
    await new Promise((r) => setTimeout(r, 2));
  }
  await until(() => live.length === rounds * perRound);
  // The frozen host wakes up: it reads what the kernel held for it, then finds the worker hung up on it.
  frozen.resume();
  await until(() => frozenClosed);
  const lineBytes = JSON.stringify({ type: 'status', phase: 'training', message }).length + 1;
  assert.ok(frozenBytes < (rounds * perRound * lineBytes) / 2, `the frozen host got ${frozenBytes} bytes`);
  server.broadcast({ type: 'status', phase: 'training', message: 'after' });
  await until(() => live.length === rounds * perRound + 1);
  await server.close();
});

test('a host behind by more than the step backlog gets no step events until it catches up; every other event, in order', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'ipc-'));
  const server = await serveRunSocket(runDir, () => {}, { stepBacklogBytes: 16 * 1024 });
  const slow = await pausedConnection(server.socketPath);
  slow.setEncoding('utf8');
  const decoder = new NdjsonDecoder();
  const received: WorkerEvent[] = [];
  slow.on('data', (chunk: string) => received.push(...(decoder.push(chunk) as WorkerEvent[])));
  const steps = 5000;
  for (let step = 1; step <= steps; step++) {
    server.broadcast({ type: 'step', total_steps: steps, step, epoch: 0, loss: 1, lr: 1e-4, grad_norm: 1, tokens: step, tokens_per_s: 1, elapsed_s: step, memory_mb: 1 });
    if (step % 1000 === 0) server.broadcast({ type: 'checkpoint', step, path: `/run/checkpoints/step-${step}` });
    if (step % 100 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  server.broadcast({ type: 'done', reason: 'completed', step: steps, adapter: '/run' });
  slow.resume();
  await until(() => received.some((e) => e.type === 'done'));
  const stepsSeen = received.filter((e) => e.type === 'step').map((e) => (e as { step: number }).step);
  assert.ok(stepsSeen.length < steps, `steps were skipped (${stepsSeen.length} of ${steps} sent)`);
  assert.deepEqual(stepsSeen, [...stepsSeen].sort((a, b) => a - b), 'the steps that went are in order');
  assert.deepEqual(received.filter((e) => e.type === 'checkpoint').map((e) => (e as { step: number }).step), [1000, 2000, 3000, 4000, 5000]);
  assert.equal(received[received.length - 1].type, 'done', 'the end is last and the host was not disconnected');
  slow.destroy();
  await server.close();
});

test('closing the server does not wait for a host that never reads (a finished worker must exit)', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'ipc-'));
  const server = await serveRunSocket(runDir, () => {});
  const frozen = await pausedConnection(server.socketPath);
  frozen.on('error', () => {});
  for (let i = 0; i < 2000; i++) server.broadcast({ type: 'status', phase: 'training', message: 'x'.repeat(1000) });
  const started = Date.now();
  await server.close();
  assert.ok(Date.now() - started < CLOSE_GRACE_MS + 2000, `closed after ${Date.now() - started} ms`);
  frozen.destroy();
});

test('sockets of killed workers are removed; a live one, a young one and files that are not sockets stay', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'ipc-stale-'));
  const path = (name: string) => join(folder, `${name}.sock`);
  // A worker killed with SIGKILL leaves its socket file: nothing listens on it any more.
  const killed = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path('killed'))}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve) => killed.stdout.once('data', () => resolve()));
  killed.kill('SIGKILL');
  await new Promise((resolve) => killed.on('exit', resolve));
  const young = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path('young'))}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve) => young.stdout.once('data', () => resolve()));
  young.kill('SIGKILL');
  await new Promise((resolve) => young.on('exit', resolve));
  const live = createServer();
  await new Promise<void>((resolve) => live.listen(path('live'), resolve));
  writeFileSync(path('not-a-socket'), 'x');
  const old = new Date(Date.now() - 60_000);
  for (const name of ['killed', 'live', 'not-a-socket']) utimesSync(path(name), old, old);
  try {
    assert.deepEqual(await removeStaleSockets(folder, undefined, 10_000), [path('killed')]);
    assert.deepEqual(['killed', 'young', 'live', 'not-a-socket'].map((name) => existsSync(path(name))), [false, true, true, true]);
    assert.deepEqual(await removeStaleSockets(folder, path('young'), 0), [], 'the caller\'s own path is kept');
  } finally {
    live.close();
  }
});
