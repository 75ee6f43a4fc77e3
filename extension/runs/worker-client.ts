// Spawns training workers detached (they outlive the window that started them), attaches to them over their
// per-run socket (native/train/ipc.ts), forwards WorkerEvents and sends WorkerCommands. No vscode here: the host
// wires it to the Runs view, and tests drive it with a fake worker script. A worker speaking another protocol version
// (one a previous version of the extension started, still training after an update) is never attached: its events
// may not mean what this host's code reads; the Runs view still follows it through its run folder.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { makeDirs } from '../../native/util/make-dirs';
import { basename } from 'node:path';
import { WORKER_PROTOCOL_VERSION, type WorkerCommand, type WorkerEvent } from '../../native/protocol';
import { connectRunSocket, runSocketPath, type RunSocketClient } from '../../native/train/ipc';
import { readWorkerInfo, runPaths } from '../../native/train/run-dir';
import { readNativeCall } from '../../native/train/native-call';
import { pidAlive } from './run-store';

export interface WorkerLaunch {
  /** The Node binary: process.execPath, with ELECTRON_RUN_AS_NODE=1 in `env` inside VS Code. */
  nodePath: string;
  /** dist/worker.js of the installed extension. */
  workerScript: string;
  /** Read at each spawn, so a changed setting (the CUDA library path) applies to the next run. */
  env(): NodeJS.ProcessEnv;
}

export interface WorkerClientHandlers {
  onEvent(runDir: string, event: WorkerEvent): void;
  /** The connection to a run's worker ended (the worker exited or closed the socket). */
  onDetach(runDir: string): void;
  /** A worker of another protocol version was not attached (told once per worker); `message` says why and what to do. */
  onRefused?(runDir: string, message: string): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether process `pid` is gone within `ms` (polled). */
async function exitsWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (pidAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

/** Sends `name` to `pid`; false when the process is already gone. */
function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/** A worker that could not be attached after spawning; `exited` tells a dead worker from a slow one. */
export class WorkerStartError extends Error {
  constructor(message: string, readonly exited: boolean) {
    super(message);
    this.name = 'WorkerStartError';
  }
}

/** The last non-empty lines of a log, joined, for error messages (the reason a worker gave before exiting). */
export function lastLogLines(path: string, count: number): string {
  try {
    const text = readFileSync(path, 'utf8').slice(-8192);
    return text.split('\n').map((line) => line.trim()).filter(Boolean).slice(-count).join(' / ');
  } catch {
    return '';
  }
}

/**
 * Why this host must not talk to a worker speaking `version` (worker.json's `protocol`, or a `start` event's), or
 * undefined when it may. A worker.json without it is from a worker that predates the field, which spoke 1.
 */
export function protocolMismatch(version: number | undefined, runDir: string, pid?: number): string | undefined {
  const theirs = version ?? 1;
  if (theirs === WORKER_PROTOCOL_VERSION) return undefined;
  return `the training worker of ${basename(runDir)}${pid === undefined ? '' : ` (pid ${pid})`} speaks worker protocol ${theirs} ` +
    `but this LoRA Studio speaks ${WORKER_PROTOCOL_VERSION}: ${theirs < WORKER_PROTOCOL_VERSION ? 'an older' : 'a newer'} version of the ` +
    'extension started it, so this window does not attach to it. It keeps training and the Runs view follows its run ' +
    'folder; Stop still works (by signal: the worker saves a checkpoint first).';
}

export class WorkerClient {
  private readonly connections = new Map<string, RunSocketClient>();
  /** Pids of the workers this client spawned: a worker serves its socket before it writes worker.json. */
  private readonly spawned = new Map<string, number>();
  /** Runs whose worker (this pid) speaks another protocol: not attached again, and reported once. */
  private readonly refused = new Map<string, number>();
  private disposed = false;

  constructor(private readonly launch: WorkerLaunch, private readonly handlers: WorkerClientHandlers) {}

  isAttached(runDir: string): boolean {
    return this.connections.has(runDir);
  }

  attachedRuns(): string[] {
    return [...this.connections.keys()];
  }

  /**
   * Starts `node worker.js <runDir> [...args]` detached, with stdout/stderr appended to the run's train.log, and
   * attaches as soon as its socket listens. Resolves with the pid once attached; rejects if the worker exits first
   * (its log then says why) or does not listen within `timeoutMs`.
   */
  async spawn(runDir: string, args: string[] = [], timeoutMs = 60_000): Promise<number> {
    makeDirs(runDir);
    const log = openSync(runPaths(runDir).log, 'a');
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let pid: number | undefined;
    try {
      const child = spawn(this.launch.nodePath, [this.launch.workerScript, runDir, ...args], {
        cwd: runDir,
        env: this.launch.env(),
        detached: true, // its own process group: a window reload or host crash does not kill training
        stdio: ['ignore', log, log],
        windowsHide: true,
      });
      pid = child.pid;
      child.on('exit', (code, signal) => (exited = { code, signal }));
      child.on('error', () => (exited = { code: null, signal: null }));
      child.unref();
    } finally {
      closeSync(log); // the child holds its own descriptor
    }
    if (pid === undefined) throw new Error(`could not start the training worker (${this.launch.nodePath}); see ${runPaths(runDir).log}`);
    this.spawned.set(runDir, pid);
    const deadline = Date.now() + timeoutMs;
    while (!this.disposed) {
      if (exited) {
        const how = exited.signal ? `signal ${exited.signal}` : `exit code ${exited.code}`;
        const last = lastLogLines(runPaths(runDir).log, 3);
        throw new WorkerStartError(`the training worker stopped before it was ready (${how})${last ? `: ${last}` : ''}; see ${runPaths(runDir).log}`, true);
      }
      if (await this.connect(runDir, readWorkerInfo(runDir)?.socket ?? runSocketPath(runDir))) return pid;
      if (Date.now() > deadline) {
        throw new WorkerStartError(`the training worker (pid ${pid}) did not open its socket within ${Math.round(timeoutMs / 1000)}s; it may still be starting — see ${runPaths(runDir).log}`, false);
      }
      await sleep(100);
    }
    throw new Error('the extension was deactivated while the worker started');
  }

  /** Re-attaches to a run whose worker.json names a live process; false when there is none to attach to. */
  async attach(runDir: string): Promise<boolean> {
    if (this.connections.has(runDir)) return true;
    const info = readWorkerInfo(runDir);
    if (!info || !pidAlive(info.pid)) return false;
    const mismatch = protocolMismatch(info.protocol, runDir, info.pid);
    if (mismatch) {
      this.refuse(runDir, info.pid, mismatch);
      return false;
    }
    return this.connect(runDir, info.socket || runSocketPath(runDir));
  }

  send(runDir: string, command: WorkerCommand): boolean {
    const connection = this.connections.get(runDir);
    if (!connection) return false;
    connection.send(command);
    return true;
  }

  /**
   * Asks the worker to save a checkpoint and exit (by SIGTERM while its trainer is inside a native call it marked, which
   * reads no command); if it is not attached, or still alive after `graceMs`, sends
   * SIGTERM (the worker saves and exits on it too); if it is still alive `termMs` later, kills it (SIGKILL: its last
   * complete checkpoint stays intact, checkpoints being committed by rename). Resolves once the process is gone with
   * how: 'not-running' (it had ended before), 'stopped' (by the command), 'terminated' (by SIGTERM), 'killed'.
   */
  async stop(runDir: string, graceMs = 120_000, termMs = 60_000): Promise<'stopped' | 'terminated' | 'killed' | 'not-running'> {
    // worker.json may not exist yet for a worker that was just spawned and is already listening.
    const pid = readWorkerInfo(runDir)?.pid ?? this.spawned.get(runDir);
    if (pid === undefined || !pidAlive(pid)) return 'not-running';
    // Inside a native call that nothing interrupts (seconds to minutes), the trainer reads no `stop` until it returns;
    // the worker's supervisor (the pid in worker.json) honours SIGTERM at once then, recording the same stop.
    if (readNativeCall(runDir) !== undefined) {
      if (!signal(pid, 'SIGTERM') || (await exitsWithin(pid, graceMs))) return 'stopped';
      return signal(pid, 'SIGKILL') ? 'killed' : 'stopped';
    }
    if (this.send(runDir, { type: 'stop' }) && (await exitsWithin(pid, graceMs))) return 'stopped';
    if (!signal(pid, 'SIGTERM')) return 'stopped'; // it exited between the check and the signal
    if (await exitsWithin(pid, termMs)) return 'terminated';
    return signal(pid, 'SIGKILL') ? 'killed' : 'terminated';
  }

  /** Closes the sockets; the workers keep training (a reloaded window re-attaches). */
  dispose(): void {
    this.disposed = true;
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }

  private refuse(runDir: string, pid: number, message: string): void {
    if (this.refused.get(runDir) === pid) return;
    this.refused.set(runDir, pid);
    this.handlers.onRefused?.(runDir, message);
  }

  private async connect(runDir: string, socketPath: string): Promise<boolean> {
    if (this.connections.has(runDir)) return true;
    try {
      let connection: RunSocketClient | undefined;
      let refused = false;
      connection = await connectRunSocket(socketPath, {
        onEvent: (event) => {
          if (refused) return; // what arrives before the socket has closed
          // A worker that predates worker.json's `protocol`, or one spawned from an extension folder updated on
          // disk, says its version in `start`.
          const mismatch = event.type === 'start' ? protocolMismatch(event.protocol, runDir, event.pid) : undefined;
          if (!mismatch || event.type !== 'start') return this.handlers.onEvent(runDir, event);
          refused = true;
          connection?.close();
          this.refuse(runDir, event.pid, mismatch);
        },
        onClose: () => {
          if (connection && this.connections.get(runDir) === connection) {
            this.connections.delete(runDir);
            this.handlers.onDetach(runDir);
          }
        },
      });
      if (this.disposed) {
        connection.close();
        return false;
      }
      this.connections.set(runDir, connection);
      return true;
    } catch {
      return false; // nothing listens (yet, or any more)
    }
  }
}
