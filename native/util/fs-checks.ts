// File-system predicates for validation that takes an injected `exists` (native/train/config.ts ConfigChecks).
import { statSync } from 'node:fs';

/** Whether `path` exists and is a file ('file') or a folder ('dir'). */
export function existsAs(path: string, kind: 'file' | 'dir'): boolean {
  try {
    const stat = statSync(path);
    return kind === 'dir' ? stat.isDirectory() : stat.isFile();
  } catch {
    return false;
  }
}
