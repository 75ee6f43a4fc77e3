// Hostile neighbours of a run's control socket: a umask of 000, another user on the machine, a folder squatting the
// socket's path, a socket folder open to others or owned by someone else, and a client sending what the worker
// protocol does not allow. The socket stays private (folder 0700, socket 0600), squatters are refused by name, and a
// client can only `ping` and `stop`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { basename, join } from 'node:path';
import { runSocketPath } from '../../../native/train/ipc';
import { readMetrics, readWorkerInfo, runPaths } from '../../../native/train/run-dir';
import { cli, cliInBackground, endsWithin, expectOutcome, hostileFixture, waitUntil } from './hostile-cli';

const fx = hostileFixture('sockets');
const uid = process.getuid!();
/** A fresh TMPDIR per case, so each case's socket folder is its own. */
const privateTmp = () => {
  const dir = mkdtempSync(join(fx.root, 'tmp-'));
  chmodSync(dir, 0o755);
  return dir;
};
const socketOf = (tmp: string, out: string) => join(tmp, `lora-studio-${uid}`, basename(runSocketPath(out)));
const endless = (out: string) => ['train', '--model', fx.model, '--data', fx.data, '--out', out, '--max-steps', '100000', '--batch-size', '2', '--max-seq-len', '32', '--save-every', '0', '--warmup-steps', '0'];
const asRoot = process.platform === 'linux' && uid === 0 && spawnSync('setpriv', ['--version']).status === 0;

test('under umask 000 the socket folder is 0700 and the socket 0600; another user cannot connect', async () => {
  const tmp = privateTmp();
  const out = fx.path('umask');
  const previous = process.umask(0);
  const run = cliInBackground(endless(out), { TMPDIR: tmp });
  process.umask(previous);
  try {
    await waitUntil('the run to serve its socket and train', () => readWorkerInfo(out) !== undefined && existsSync(runPaths(out).metrics) && readMetrics(out).length > 0);
    const socket = socketOf(tmp, out);
    assert.equal(statSync(join(tmp, `lora-studio-${uid}`)).mode & 0o777, 0o700);
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    if (asRoot) {
      // As the user nobody: the folder cannot even be entered.
      const other = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e',
        `require('net').createConnection(${JSON.stringify(socket)}).on('error', (e) => { console.log(e.code); process.exit(3); }).on('connect', () => process.exit(0))`], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(other.status, 3, 'nobody connected');
      assert.match(other.stdout, /EACCES/);
    }
  } finally {
    run.child.kill('SIGTERM');
  }
  expectOutcome(await endsWithin(run, 60_000, 'SIGTERM'), 0);
});

test('a folder squatting the socket path is refused by name (it crashed), and left alone', () => {
  const tmp = privateTmp();
  const out = fx.path('squat');
  mkdirSync(join(tmp, `lora-studio-${uid}`), { mode: 0o700 });
  mkdirSync(socketOf(tmp, out));
  expectOutcome(cli(['train', '--model', fx.model, '--data', fx.data, '--out', out, '--max-steps', '2'], { env: { TMPDIR: tmp } }), 1, /control socket path is taken by a folder/, /remove .*\.sock/);
  assert.ok(statSync(socketOf(tmp, out)).isDirectory());
});

test('a socket folder open to others, or owned by another user, is refused with how to fix it', { skip: asRoot ? false : 'chown to another user needs root' }, () => {
  const open = privateTmp();
  mkdirSync(join(open, `lora-studio-${uid}`));
  chmodSync(join(open, `lora-studio-${uid}`), 0o777);
  expectOutcome(cli(['train', '--model', fx.model, '--data', fx.data, '--out', fx.path('open'), '--max-steps', '2'], { env: { TMPDIR: open } }), 1, /is open to other users \(mode 777\)/, /remove .*lora-studio-/);
  const owned = privateTmp();
  mkdirSync(join(owned, `lora-studio-${uid}`), { mode: 0o700 });
  chownSync(join(owned, `lora-studio-${uid}`), 65534, 65534);
  expectOutcome(cli(['train', '--model', fx.model, '--data', fx.data, '--out', fx.path('owned'), '--max-steps', '2'], { env: { TMPDIR: owned } }), 1, /belongs to another user \(uid 65534\)/);
});

test('a client sending garbage and commands outside the protocol changes nothing; `stop` stops the run (exit 0)', async () => {
  const tmp = privateTmp();
  const out = fx.path('protocol');
  const run = cliInBackground(endless(out), { TMPDIR: tmp });
  try {
    await waitUntil('the run to serve its socket and train', () => readWorkerInfo(out) !== undefined && existsSync(runPaths(out).metrics) && readMetrics(out).length > 0);
    const socket = createConnection(socketOf(tmp, out));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('not json\n{"type":"exec","command":"rm -rf ~"}\n{"type":"config","learning_rate":1}\n' + '['.repeat(10_000) + '\n');
    const before = readMetrics(out).length;
    await waitUntil('more steps after the garbage', () => readMetrics(out).length > before + 2);
    assert.equal(readWorkerInfo(out)?.pid, run.child.pid, 'still the same worker');
    socket.write('{"type":"stop"}\n');
    const result = await endsWithin(run, 60_000, 'stop over the socket');
    expectOutcome(result, 0, /stopped|checkpoint/);
    socket.destroy();
  } finally {
    run.child.kill('SIGKILL');
  }
});
