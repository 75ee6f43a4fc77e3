// Creating a folder and its missing parents (mkdir -p) with the real cause when that fails. Node's recursive
// mkdirSync reports ENOENT for a folder that cannot be made on a read-only disk: after mkdir's EROFS it stats the
// path and returns the stat's ENOENT instead (src/node_file.cc MKDirpSync, Node 20), so `train --out` on a read-only
// disk said "no such file or folder — check the path". Here that ENOENT is checked by making each missing folder
// by itself, whose error (EROFS, EACCES, …) is the one reported.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Whether `path` exists; a stat refused (EACCES on a parent) counts as there: making below it says why. */
function present(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}

/** `mkdir -p path`: nothing to do when it is a folder already; an error naming the folder that could not be made. */
export function makeDirs(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const missing: string[] = [];
    for (let dir = resolve(path); !present(dir) && dirname(dir) !== dir; dir = dirname(dir)) missing.unshift(dir);
    // Top-down, one at a time: the first that fails throws its own error (a real ENOENT too: a parent removed).
    for (const dir of missing) {
      try {
        mkdirSync(dir);
      } catch (inner) {
        if ((inner as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(dir).isDirectory()) throw inner;
      }
    }
  }
}
