// Everyday I/O errors and odd files: a disk that fills up during training or before it, a read-only disk, files and
// folders another user may not read or write, a path below a file, a name too long, few file descriptors, and a
// FIFO or /dev/zero given as the dataset. Each ends with exit 1 naming the path and the cause in words (or works),
// never a stack trace; a failed run says "failed" in status.json and leaves no half-written checkpoint.
// Full and read-only disks are small tmpfs mounts in a private mount namespace (unshare -m: root on Linux), and
// another user is nobody (setpriv); where those are not available the cases say why they are skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { assertUnchanged, CASE_TIMEOUT_MS, cli, expectOutcome, hostileFixture, resultOf, snapshot, TINY_TRAIN, type CliResult } from './hostile-cli';

const fx = hostileFixture('io');
const root = process.platform === 'linux' && process.getuid?.() === 0;
const canMount = root && spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status === 0;
const canSetpriv = root && spawnSync('setpriv', ['--version']).status === 0;
// The user nobody must be able to run this checkout's CLI: a clone below a private folder (mkdtemp's 0700, /root) is
// closed to it, and every case would fail on "Cannot find module" instead of testing anything.
const nobodyRunsCli = canSetpriv && spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, 'dist/cli.js', '--version'], { timeout: 60_000 }).status === 0;
const asOtherUserSkip = !canSetpriv ? 'needs root and setpriv to act as another user'
  : !nobodyRunsCli ? `the user nobody cannot run ${process.cwd()}/dist/cli.js (a parent folder is private); clone below a folder others may enter` : false;
const trainArgs = (out: string, ...flags: string[]) => ['train', '--model', fx.model, '--data', fx.data, '--out', out, ...TINY_TRAIN, ...flags];
const quote = (args: string[]) => args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');

/** Runs the CLI with a fresh tmpfs of `size` (or read-only) at `mount`, then prints `after` (a shell command) to stdout. */
function onSmallDisk(mount: string, options: string, args: string[], setup = '', after = ''): CliResult {
  mkdirSync(mount, { recursive: true });
  const script = `mount -t tmpfs -o ${options} tmpfs ${mount} && ${setup} ${quote([process.execPath, 'dist/cli.js', ...args])}; code=$?; ${after || 'true'}; exit $code`;
  return resultOf(spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', timeout: CASE_TIMEOUT_MS }));
}

test('a disk that fills up at the first checkpoint: exit 1 naming ENOSPC and the file, status "failed", no half checkpoint', { skip: canMount ? false : 'needs root for a private tmpfs (unshare -m)' }, () => {
  const mount = join(fx.root, 'full');
  const out = join(mount, 'run');
  const result = onSmallDisk(mount, 'size=48k', trainArgs(out, '--max-steps', '4', '--save-every', '2'), '', `echo; echo STATUS; cat ${out}/status.json; echo; echo LEFT; ls -A ${out}/checkpoints`);
  expectOutcome(result, 1, /no space left on the device \(ENOSPC in write\)/, /free some disk space/);
  assert.match(result.stderr, /run\/checkpoints\/.*: no space left/, 'the file that did not fit is named');
  assert.match(result.stdout, /STATUS[\s\S]*"state": "failed"[\s\S]*ENOSPC/);
  assert.match(result.stdout, /LEFT\s*$/, 'no staging folder left behind');
});

test('a disk already full when the run starts: exit 1 naming ENOSPC and the file', { skip: canMount ? false : 'needs root for a private tmpfs (unshare -m)' }, () => {
  const mount = join(fx.root, 'full-at-start');
  const result = onSmallDisk(mount, 'size=16k', trainArgs(join(mount, 'run')), `head -c 16384 /dev/zero > ${mount}/filler 2>/dev/null;`);
  expectOutcome(result, 1, /no space left on the device \(ENOSPC in write\)/);
  assert.match(result.stderr, /full-at-start\/run\/[^:]*: no space left/);
});

test('an --out folder on a read-only disk: exit 1 naming the path and EROFS', { skip: canMount ? false : 'needs root for a private tmpfs (unshare -m)' }, () => {
  const mount = join(fx.root, 'readonly');
  const result = onSmallDisk(mount, 'size=1m', trainArgs(join(mount, 'run')), `mkdir ${mount}/run && mount -o remount,ro ${mount} &&`);
  expectOutcome(result, 1, /readonly\/run\/run\.lock: the file system is read-only \(EROFS in open\)/, /writable disk/);
});

test('an --out that does not exist yet on a read-only disk: EROFS naming the first folder, not ENOENT (train, export, compare-methods)', { skip: canMount ? false : 'needs root for a private tmpfs (unshare -m)' }, () => {
  // Node's recursive mkdir says ENOENT there (it stats the path after mkdir's EROFS): "no such file — check the path".
  const mount = join(fx.root, 'readonly-empty');
  const erofs = (args: string[]) => expectOutcome(onSmallDisk(mount, 'size=1m,ro', args), 1, new RegExp(`readonly-empty/runs: the file system is read-only \\(EROFS in mkdir\\)`), /writable disk/);
  erofs(trainArgs(join(mount, 'runs', 'run-1')));
  erofs(['export', '--format', 'gguf', '--model', fx.model, '--out', join(mount, 'runs', 'model.gguf')]);
  erofs(['compare-methods', '--model', fx.model, '--data', fx.data, '--methods', 'lora,dora', '--out', join(mount, 'runs', 'cmp')]);
});

test('as another user: an unreadable dataset and an --out folder in a folder of someone else are EACCES with the path', { skip: asOtherUserSkip }, () => {
  chmodSync(fx.root, 0o755);
  const secret = fx.file('secret.jsonl', '{"instruction":"x","output":"y"}\n');
  chmodSync(secret, 0o600);
  const theirs = join(fx.root, 'theirs');
  mkdirSync(theirs, { mode: 0o755 });
  const asNobody = (args: string[]) => resultOf(spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, 'dist/cli.js', ...args],
    { encoding: 'utf8', timeout: CASE_TIMEOUT_MS, env: { ...process.env, HOME: '/tmp' } }));
  expectOutcome(asNobody(['validate', secret]), 1, /secret-\d+\.jsonl: permission denied \(EACCES in open\)/);
  const writable = join(fx.root, 'nobody-may-write');
  mkdirSync(writable);
  chmodSync(writable, 0o777);
  expectOutcome(asNobody(['train', '--model', fx.model, '--data', secret, '--out', join(writable, 'run'), ...TINY_TRAIN]), 1, /secret-\d+\.jsonl/, /permission denied|not readable|EACCES/);
  const before = snapshot(theirs);
  expectOutcome(asNobody(trainArgs(join(theirs, 'run'))), 1, /theirs\/run: permission denied \(EACCES in mkdir\)/, /permissions/);
  assertUnchanged(before, theirs);
});

test('a path below a file (ENOTDIR) and a name too long (ENAMETOOLONG) are named with the cause', () => {
  const adapterDir = join(fx.root, 'trained');
  expectOutcome(fx.train(adapterDir), 0);
  expectOutcome(cli(['merge', '--model', fx.model, '--adapter', adapterDir, '--out', join(fx.data, 'merged')]), 1, /data\.jsonl\/[^:]*: a part of this path is a file, not a folder \(ENOTDIR/);
  expectOutcome(cli(trainArgs(join(fx.root, 'x'.repeat(300)))), 1, /the path is too long \(ENAMETOOLONG/);
});

test('with only 25 file descriptors a tiny run still trains (exit 0)', () => {
  const script = `ulimit -n 25 && exec ${quote([process.execPath, 'dist/cli.js', ...trainArgs(fx.path('few-fds'))])}`;
  expectOutcome(resultOf(spawnSync('sh', ['-c', script], { encoding: 'utf8', timeout: CASE_TIMEOUT_MS })), 0, /done after 2 steps/);
});

test('a FIFO or /dev/zero as the dataset is refused as not a file, without blocking or reading forever', () => {
  const fifo = join(fx.root, 'pipe.jsonl');
  spawnSync('mkfifo', [fifo]);
  for (const data of [fifo, '/dev/zero']) {
    expectOutcome(cli(['validate', data], { timeoutMs: 30_000 }), 1, /is not a file/);
    expectOutcome(cli(['train', '--model', fx.model, '--data', data, '--out', fx.path('odd'), ...TINY_TRAIN], { timeoutMs: 30_000 }), 1, /data: .* is not a regular file \(a pipe, a device/);
  }
  // A link in a loop is there, but leads nowhere: said so, not "file not found".
  const loop = join(fx.root, 'loop.jsonl');
  symlinkSync(loop, loop);
  expectOutcome(cli(['train', '--model', fx.model, '--data', loop, '--out', fx.path('odd'), ...TINY_TRAIN]), 1, /loop\.jsonl is not a regular file .*link that leads nowhere or in a loop/);
});
