// How the CLI ends: 0 done; 1 the input is wrong (a UserError: what, where, how to fix) or an ordinary I/O error
// (permissions, disk full, not a folder: the path and the cause); 2 usage (commander already printed it); 70 a real
// bug, with its stack, reported as such; 130/143 stopped by SIGINT/SIGTERM (128 + the signal's number, as a shell
// reports a process the signal killed). Never a stack trace for something the user can fix.
import { isUserError } from '../util/errors';

export const EXIT_INPUT = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;
/** A command that stopped early, cleanly, on a signal. */
export const EXIT_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;

/** What an errno means to a user, and what to do about it. */
const IO_CAUSES: Record<string, [string, string]> = {
  EACCES: ['permission denied', 'check the permissions of this path (or run as a user who may write there)'],
  EPERM: ['operation not permitted', 'check the permissions and ownership of this path'],
  ENOSPC: ['no space left on the device', 'free some disk space (or choose a folder on another disk) and run again'],
  EDQUOT: ['disk quota exceeded', 'free some space in your quota and run again'],
  EROFS: ['the file system is read-only', 'choose a folder on a writable disk'],
  ENOTDIR: ['a part of this path is a file, not a folder', 'check the path'],
  EISDIR: ['this is a folder where a file was expected', 'check the path'],
  EEXIST: ['this path already exists', 'choose another path or remove what is there'],
  ENOENT: ['no such file or folder', 'check the path'],
  EMFILE: ['too many open files', 'raise the open-file limit (ulimit -n) and run again'],
  ENAMETOOLONG: ['the path is too long', 'choose a shorter path'],
  ELOOP: ['too many symbolic links in this path', 'check the path for a symlink loop'],
};

/** The message for an ordinary I/O error, or undefined when the error is not one. */
export function ioErrorMessage(error: unknown): string | undefined {
  const e = error as (NodeJS.ErrnoException & { dest?: string }) | undefined;
  if (!e || typeof e.code !== 'string' || !(e.code in IO_CAUSES)) return undefined;
  const [cause, fix] = IO_CAUSES[e.code];
  const where = e.path ? `${e.path}${e.dest ? ` → ${e.dest}` : ''}: ` : '';
  return `${where}${cause} (${e.code}${e.syscall ? ` in ${e.syscall}` : ''}) — ${fix}`;
}

/** The exit code and the line(s) for an error that ended a command. */
export function describeFailure(error: unknown): { code: number; message: string } {
  if (isUserError(error)) return { code: EXIT_INPUT, message: error.message };
  const io = ioErrorMessage(error);
  if (io) return { code: EXIT_INPUT, message: io };
  return { code: EXIT_INTERNAL, message: `internal error (a bug in LoRA Studio; please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` };
}

/**
 * Runs `work` with SIGINT/SIGTERM turned into a flag it polls between units of work (merge, export), instead of
 * Node's default of dying mid-write; the handlers go when it ends.
 */
export async function cancellableBySignal<T>(work: (cancelled: () => boolean) => Promise<T>): Promise<T> {
  let cancelled = false;
  const cancel = () => {
    cancelled = true;
  };
  process.on('SIGTERM', cancel);
  process.on('SIGINT', cancel);
  try {
    return await work(() => cancelled);
  } finally {
    process.off('SIGTERM', cancel);
    process.off('SIGINT', cancel);
  }
}
