// Atomic file writes: write a temp file in the same folder, fsync it, rename it over the target, fsync the folder.
// A crash leaves either the old file or the new one, never a torn one (unlike saving over the file in place).
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { makeDirs } from './make-dirs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some platforms (Windows) cannot open a directory for fsync; the rename is still atomic there.
  }
}

/** Writes `data` to `target` atomically, creating the parent folder if needed. */
export function writeFileAtomic(target: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  makeDirs(dirname(target));
  const temp = tempPathFor(target);
  const fd = openSync(temp, 'w');
  try {
    const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
    for (const chunk of chunks) {
      let offset = 0;
      while (offset < chunk.byteLength) offset += writeSync(fd, chunk, offset, chunk.byteLength - offset);
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    // writeSync's errors (ENOSPC, EDQUOT, EIO) carry no path: name the file, so the user learns which disk is full.
    const e = error as NodeJS.ErrnoException;
    if (typeof e?.code === 'string' && e.path === undefined) e.path = target;
    throw error;
  }
  closeSync(fd);
  renameSync(temp, target);
  fsyncDir(dirname(target));
}

export function writeJsonAtomic(target: string, value: unknown): void {
  writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Commits a fully written folder into place: `staging` (a sibling of `target`) is renamed to `target`.
 * Any existing `target` is moved aside first and removed only after the rename succeeded.
 */
export function commitFolderAtomic(staging: string, target: string): void {
  const aside = `${target}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
  let movedAside = false;
  try {
    renameSync(target, aside);
    movedAside = true;
  } catch {
    // No previous folder: nothing to move aside.
  }
  renameSync(staging, target);
  fsyncDir(dirname(target));
  if (movedAside) rmSync(aside, { recursive: true, force: true });
}
