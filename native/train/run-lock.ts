// One process trains a run folder at a time: `<run>/run.lock` holds the pid and host of the process that trains it,
// created exclusively (O_EXCL) before anything in the folder is written. Two `train` on the same --out, or a resume of
// a run that is still training, stop with who holds it instead of interleaving metrics.jsonl and taking over the
// socket. A lock whose process is gone (killed, machine rebooted) is taken over safely: only one taker wins.
import { hostname } from 'node:os';
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { makeDirs } from '../util/make-dirs';
import { join } from 'node:path';
import { UserError } from '../util/errors';
import { pidAlive } from '../util/pid-alive';
import { supervisorPid } from './supervisor';

export interface RunLockInfo {
  /** The process others see and signal: the trainer's supervisor where it has one (supervisor.ts), else the trainer. */
  pid: number;
  /** A supervised trainer's own pid: the lock is held while either process lives. */
  trainer_pid?: number;
  host: string;
  started_at: string;
}

export const runLockPath = (runDir: string) => join(runDir, 'run.lock');

function readLock(path: string): RunLockInfo | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as RunLockInfo;
    return typeof value.pid === 'number' && typeof value.host === 'string' ? value : undefined;
  } catch {
    return undefined; // gone, or torn by a crash between create and write: treated as stale below
  }
}

/** Creates the lock file exclusively; false when it exists. */
function tryCreate(path: string, info: RunLockInfo): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, JSON.stringify(info));
  } catch (error) {
    // A full disk: no empty lock may stay behind to block the next attempt, and the error names the file.
    closeSync(fd);
    rmSync(path, { force: true });
    const e = error as NodeJS.ErrnoException;
    if (typeof e?.code === 'string' && e.path === undefined) e.path = path;
    throw error;
  }
  closeSync(fd);
  return true;
}

export interface RunLock {
  release(): void;
}

/**
 * Takes the run folder's lock for this process (again, if this process already holds it). Throws a UserError naming
 * the holder when another live process trains the folder, or one on another host may.
 */
export function acquireRunLock(runDir: string, isAlive: (pid: number) => boolean = pidAlive): RunLock {
  makeDirs(runDir);
  const path = runLockPath(runDir);
  const supervisor = supervisorPid();
  const mine: RunLockInfo = { pid: supervisor ?? process.pid, ...(supervisor !== undefined ? { trainer_pid: process.pid } : {}), host: hostname(), started_at: new Date().toISOString() };
  const isMine = (held: RunLockInfo | undefined) => held !== undefined && held.host === mine.host && held.pid === mine.pid && held.trainer_pid === mine.trainer_pid;
  const release = () => {
    if (isMine(readLock(path))) rmSync(path, { force: true });
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path, mine)) return { release };
    const held = readLock(path);
    if (isMine(held)) return { release };
    if (held && held.host !== mine.host) {
      throw new UserError(`this run folder is locked by process ${held.pid} on ${held.host} (since ${held.started_at})`, {
        where: { file: path },
        fix: `stop that run first; if nothing trains it any more, delete ${path}`,
      });
    }
    if (held && (isAlive(held.pid) || (held.trainer_pid !== undefined && isAlive(held.trainer_pid)))) {
      throw new UserError(`this run is being trained by process ${held.pid} (since ${held.started_at})`, {
        where: { file: runDir },
        fix: 'wait for it or stop it (Stop in the Runs view, Ctrl-C in its terminal), or choose another --out folder',
      });
    }
    // Stale: move it aside under a name only one taker can claim (rename is atomic), then create ours.
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      continue; // another taker moved it first: try to create again
    }
    const moved = readLock(aside);
    rmSync(aside, { force: true });
    if (moved && held && (moved.pid !== held.pid || moved.started_at !== held.started_at)) {
      // We moved a lock a faster taker had just created: give it back and report it as held.
      tryCreate(path, moved);
    }
  }
  const held = readLock(path);
  throw new UserError(`could not take this run folder's lock${held ? ` (held by process ${held.pid})` : ''}`, {
    where: { file: path },
    fix: 'another process is starting in this folder; wait a moment and try again',
  });
}
