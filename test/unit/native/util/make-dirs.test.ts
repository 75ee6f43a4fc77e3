// native/util/make-dirs.ts: mkdir -p that names the real cause. Node 20's recursive mkdirSync says ENOENT for a folder
// on a read-only disk (it was "no such file or folder — check the path" for `train --out` there); makeDirs says EROFS
// and names the first folder it could not make. The read-only disk is a tmpfs in a private mount namespace (root
// on Linux); without root, a folder without write permission shows the same path for EACCES.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirs } from '../../../../native/util/make-dirs';

const root = mkdtempSync(join(tmpdir(), 'make-dirs-'));
const isRoot = process.getuid?.() === 0;
const canMount = process.platform === 'linux' && isRoot && spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status === 0;

test('makes every missing folder; a folder that is there already is fine', () => {
  const dir = join(root, 'a', 'b', 'c');
  makeDirs(dir);
  makeDirs(dir);
  assert.ok(statSync(dir).isDirectory());
});

test('a file in the way is an error naming it (ENOTDIR below it, EEXIST at it), not a success', () => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  assert.throws(() => makeDirs(join(file, 'sub', 'dir')), { code: 'ENOTDIR' });
  assert.throws(() => makeDirs(file), { code: 'EEXIST' });
});

test('on a read-only disk: EROFS naming the first folder that could not be made, not ENOENT', { skip: canMount ? false : 'needs root for a private read-only tmpfs (unshare -m)' }, () => {
  const mount = join(root, 'ro');
  mkdirSync(mount);
  const script = `const { makeDirs } = require(${JSON.stringify(require.resolve('../../../../native/util/make-dirs'))});
    try { makeDirs(${JSON.stringify(join(mount, 'runs', 'run-1'))}); console.log('made'); } catch (e) { console.log(e.code, e.syscall, e.path); }`;
  const result = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o ro,size=16k tmpfs ${mount} && "$0" --import tsx -e "$1"`, process.execPath, script], { encoding: 'utf8' });
  assert.equal(result.stdout.trim(), `EROFS mkdir ${join(mount, 'runs')}`, result.stderr);
});

test('below a folder without write permission: EACCES with the path', { skip: isRoot ? 'root may write anywhere (the read-only disk case stands in)' : false }, () => {
  const locked = join(root, 'locked');
  mkdirSync(locked);
  chmodSync(locked, 0o555);
  try {
    assert.throws(() => makeDirs(join(locked, 'runs', 'run-1')), (e: NodeJS.ErrnoException) => e.code === 'EACCES' && e.path!.startsWith(join(locked, 'runs')));
  } finally {
    chmodSync(locked, 0o755);
  }
});
