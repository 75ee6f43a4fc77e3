// The per-run socket between a detached worker and any number of extension hosts: the worker serves WorkerEvents as
// NDJSON to every connected host and takes WorkerCommands back. A socket (not stdio) because stdio dies with the window
// that spawned the worker, and a reloaded window must re-attach. Unix socket paths are limited to ~107 bytes, so the
// path is a short hash of the run folder under the temp folder (a named pipe on Windows).
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isWorkerCommand, isWorkerEvent, type WorkerCommand, type WorkerEvent } from '../protocol';
import { UserError } from '../util/errors';

export function runSocketPath(runDir: string): string {
  const hash = createHash('sha256').update(resolve(runDir)).digest('hex').slice(0, 16);
  return process.platform === 'win32' ? `\\\\.\\pipe\\lora-studio-${hash}` : join(socketFolder(), `${hash}.sock`);
}

/**
 * The folder of this user's run sockets: private (0700, owned by this user), so another user on the machine can
 * neither read a run's events nor stop it, nor squat the socket's path. Its name carries the uid.
 */
export function socketFolder(): string {
  return join(tmpdir(), `lora-studio-${process.getuid?.() ?? 'user'}`);
}

/** Creates the socket folder if needed and refuses one that is not private to this user. */
export function ensurePrivateSocketFolder(folder = socketFolder()): void {
  try {
    mkdirSync(folder, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const stats = lstatSync(folder);
  const uid = process.getuid?.();
  const problem = !stats.isDirectory()
    ? 'is not a folder'
    : uid !== undefined && stats.uid !== uid
      ? `belongs to another user (uid ${stats.uid})`
      : (stats.mode & 0o077) !== 0
        ? `is open to other users (mode ${(stats.mode & 0o777).toString(8)})`
        : undefined;
  if (problem) {
    throw new UserError(`the folder for this run's control socket ${problem}, so another user could read or stop the run`, {
      where: { file: folder },
      fix: `remove ${folder} (it holds only sockets) and start again, or set TMPDIR to a private folder`,
    });
  }
}

/**
 * Removes what is at this run's socket path if it is a socket (left by a killed worker of this run); anything else
 * there (a folder or file squatting the path) is refused by name rather than removed or crashed on.
 */
function removeOwnStaleSocket(socketPath: string): void {
  let stats;
  try {
    stats = lstatSync(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) {
    throw new UserError(`this run's control socket path is taken by a ${stats.isDirectory() ? 'folder' : 'file'} that is not a socket`, {
      where: { file: socketPath }, fix: `remove ${socketPath} (nothing of LoRA Studio's is there) and start again, or set TMPDIR to a private folder`,
    });
  }
  rmSync(socketPath, { force: true });
}

/** Splits a byte stream into JSON values, one per line; a partial last line waits for the next chunk. */
export class NdjsonDecoder {
  private buffer = '';
  push(chunk: string): unknown[] {
    this.buffer += chunk;
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop() ?? '';
    const values: unknown[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        values.push(JSON.parse(line));
      } catch {
        // A line that is not JSON is not a message (e.g. a stray print); skip it rather than drop the connection.
      }
    }
    return values;
  }
}

/**
 * Removes the sockets in `folder` that nothing listens on any more (their worker was killed: a clean exit removes its
 * own), except `keep`. A socket younger than `minAgeMs` is left alone: its worker may be between creating and listening.
 */
export async function removeStaleSockets(folder = socketFolder(), keep?: string, minAgeMs = 10_000): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.sock'))) {
    const path = join(folder, name);
    if (path === keep) continue;
    try {
      const stats = lstatSync(path);
      if (!stats.isSocket() || Date.now() - stats.mtimeMs < minAgeMs) continue;
    } catch {
      continue;
    }
    if (await refusesConnections(path)) {
      rmSync(path, { force: true });
      removed.push(path);
    }
  }
  return removed;
}

function refusesConnections(path: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolvePromise(false);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => resolvePromise(error.code === 'ECONNREFUSED'));
  });
}

export interface RunSocketServer {
  socketPath: string;
  /** Sockets of killed workers removed from the socket folder before this one was made. */
  staleSocketsRemoved: string[];
  broadcast(event: WorkerEvent): void;
  close(): Promise<void>;
}

/**
 * A window that stops reading (frozen, or a stale extension host kept for reconnection) must not make the worker
 * buffer events without bound: past this many unread bytes it is disconnected; it re-attaches and rebuilds from files.
 */
export const MAX_UNREAD_BYTES = 8 * 1024 * 1024;
/**
 * A host this far behind (a busy machine, a fast run) gets no more `step` events until it catches up: each is also a
 * metrics.jsonl line, and the host reads the files when it sees steps skipped. Everything else still goes, in order.
 */
export const STEP_BACKLOG_BYTES = 64 * 1024;
/** How long a closing worker waits for hosts to take the events still queued for them. */
export const CLOSE_GRACE_MS = 2000;

export async function serveRunSocket(
  runDir: string,
  onCommand: (command: WorkerCommand) => void,
  options: { maxUnreadBytes?: number; stepBacklogBytes?: number } = {},
): Promise<RunSocketServer> {
  const maxUnread = options.maxUnreadBytes ?? MAX_UNREAD_BYTES;
  const stepBacklog = options.stepBacklogBytes ?? STEP_BACKLOG_BYTES;
  const socketPath = runSocketPath(runDir);
  let staleSocketsRemoved: string[] = [];
  if (process.platform !== 'win32') {
    ensurePrivateSocketFolder();
    removeOwnStaleSocket(socketPath); // a stale socket of a killed worker of this run (the run's lock is ours)
    staleSocketsRemoved = await removeStaleSockets(socketFolder(), socketPath);
  }
  const clients = new Set<Socket>();
  const server = createServer((socket) => {
    clients.add(socket);
    socket.setEncoding('utf8');
    const decoder = new NdjsonDecoder();
    socket.on('data', (chunk: string) => {
      for (const value of decoder.push(chunk)) if (isWorkerCommand(value)) onCommand(value);
    });
    socket.on('error', () => clients.delete(socket));
    socket.on('close', () => clients.delete(socket));
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      if (process.platform !== 'win32') chmodSync(socketPath, 0o600); // private even if the folder were not
      server.unref(); // the socket alone never keeps a finished worker alive
      resolvePromise({
        socketPath,
        staleSocketsRemoved,
        broadcast(event) {
          const line = JSON.stringify(event) + '\n';
          for (const client of clients) {
            if (client.writableLength > maxUnread) {
              clients.delete(client);
              client.destroy();
            } else if (event.type !== 'step' || client.writableLength <= stepBacklog) {
              client.write(line);
            }
          }
        },
        close: () =>
          new Promise<void>((done) => {
            for (const client of clients) client.end();
            // A host that is not reading never takes the rest: it must not keep a finished worker alive.
            const timer = setTimeout(() => {
              for (const client of clients) client.destroy();
            }, CLOSE_GRACE_MS);
            server.close(() => {
              clearTimeout(timer);
              done();
            });
          }),
      });
    });
  });
}

export interface RunSocketClient {
  send(command: WorkerCommand): void;
  close(): void;
}

/** Connects to a live worker; rejects when nothing listens (the worker is gone). */
export function connectRunSocket(
  socketPath: string,
  handlers: { onEvent(event: WorkerEvent): void; onClose?(): void },
): Promise<RunSocketClient> {
  return new Promise((resolvePromise, reject) => {
    const socket = createConnection(socketPath);
    socket.setEncoding('utf8');
    const decoder = new NdjsonDecoder();
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined); // 'close' follows and reports the end
      // Only a connection that was made can close: a refused one rejects and never calls onClose.
      socket.on('close', () => handlers.onClose?.());
      resolvePromise({ send: (command) => socket.write(JSON.stringify(command) + '\n'), close: () => socket.end() });
    });
    socket.on('data', (chunk: string) => {
      for (const value of decoder.push(chunk)) if (isWorkerEvent(value)) handlers.onEvent(value);
    });
  });
}
