// File-system predicates for validation that takes an injected `exists` (native/train/config.ts ConfigChecks).
import { lstatSync, statSync } from 'node:fs';

/** Whether `path` exists and is a file ('file'), a folder ('dir'), or is there at all, a broken link too ('any'). */
export function existsAs(path: string, kind: 'file' | 'dir' | 'any'): boolean {
  try {
    if (kind === 'any') return lstatSync(path) !== undefined;
    const stat = statSync(path);
    return kind === 'dir' ? stat.isDirectory() : stat.isFile();
  } catch {
    return false;
  }
}
