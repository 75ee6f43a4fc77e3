// Which run folders changed on disk since the last look, by polling: the sizes and times of the files a run's state is
// made of, and whether its worker still lives. The run folder is the truth, and sockets and file-watcher events only
// make the views faster: a host that read a worker's events too slowly, a reload, a worker killed, a run that ended while
// no window was attached, or a watcher that missed a rename all end with the views showing the files' state within one
// poll. No vscode here, so it is tested on real run folders.
import { statSync } from 'node:fs';
import { readWorkerInfo, runPaths } from '../../native/train/run-dir';
import { pidAlive, runFolderPaths } from './run-store';
import { externalStamp, isExternalRun } from './external-run';

/** How often the views re-check the run folders (the UI converges to the files within about this long). */
export const RUN_POLL_MS = 1000;

/** What changed since the previous poll: the list of runs itself, and/or these runs' files or workers. */
export interface RunFolderChanges {
  listChanged: boolean;
  changed: string[];
}

/** The files and the worker a run's summary is read from, as one comparable string (an external run: its Trainer's files). */
export function runStamp(runDir: string, isAlive: (pid: number) => boolean = pidAlive): string {
  if (isExternalRun(runDir)) return externalStamp(runDir);
  const paths = runPaths(runDir);
  const parts = [paths.config, paths.status, paths.metrics, paths.worker, paths.adapterConfig, paths.latest].map((path) => {
    try {
      const stats = statSync(path);
      return `${stats.size}@${stats.mtimeMs}`;
    } catch {
      return '-';
    }
  });
  const worker = readWorkerInfo(runDir);
  parts.push(worker ? `${worker.pid}:${isAlive(worker.pid) ? 'alive' : 'gone'}` : 'no-worker');
  return parts.join('|');
}

export class RunFolderPoller {
  private stamps = new Map<string, string>();
  private root: string | undefined;

  constructor(private readonly isAlive: (pid: number) => boolean = pidAlive) {}

  /**
   * Compares every run folder under `root`, and the watched external runs' folders, with the previous poll (the
   * first poll, or a new root, reports the list).
   */
  poll(root: string | undefined, external: readonly string[] = []): RunFolderChanges {
    const own = root ? runFolderPaths(root) : [];
    const dirs = [...own, ...external.filter((dir) => !own.includes(dir))];
    const next = new Map(dirs.map((dir) => [dir, runStamp(dir, this.isAlive)]));
    const listChanged = root !== this.root || next.size !== this.stamps.size || dirs.some((dir) => !this.stamps.has(dir));
    const changed = dirs.filter((dir) => this.stamps.has(dir) && this.stamps.get(dir) !== next.get(dir));
    this.stamps = next;
    this.root = root;
    return { listChanged, changed };
  }
}
