// One template worker process as template-pool.ts uses it: forked under a heap limit, sent the tokenizer files once,
// then one request at a time. The worker announces each record as it starts (request id and index, 8 bytes on a pipe
// of their own at stdio ANNOUNCE_FD, read here many at a time: only the last counts), so the pool's watchdog knows
// how long the running record has run and which line it is; a worker that ends is a failure of its request.
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { devNull } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { LocatedRecord } from './records';
import { ANNOUNCE_BYTES, ANNOUNCE_FD, ANNOUNCE_OVER_IPC, type Announcement, type PoolReply, type PoolRequest, type PoolRequestBody } from './template-protocol';

/** Encoding time allowed per character of a record, beyond the template's budget: 20 µs (2 MB of text took 1.5 s here, loaded). */
const ENCODE_MS_PER_CHAR = 0.02;

/** Characters of the strings in a record (its fields, its messages' fields): what encoding it costs scales with. */
export function textLength(value: unknown, depth = 0): number {
  if (typeof value === 'string') return value.length;
  if (value === null || typeof value !== 'object' || depth > 4) return 0;
  let sum = 0;
  for (const item of Array.isArray(value) ? value : Object.values(value)) sum += textLength(item, depth + 1);
  return sum;
}

/** The worker entry: the bundle's template-worker.js beside this code, or the TypeScript source under tsx (tests). */
function workerScript(): { script: string; execArgv: string[] } {
  if (__filename.endsWith('.ts')) {
    return { script: join(__dirname, 'template-worker.ts'), execArgv: ['--require', createRequire(__filename).resolve('tsx/cjs')] };
  }
  return { script: join(__dirname, 'template-worker.js'), execArgv: [] };
}

/** Descriptors a fork with the announcement pipe takes at once (two socket pairs, libuv's exec pipe): 7 measured. */
const PIPE_FORK_FDS = 8;

/**
 * True when this process can open PIPE_FORK_FDS more descriptors (a low `ulimit -n` may leave too few for the pipe,
 * and a fork that fails keeps some of its descriptors, so failing first and retrying without the pipe cannot work).
 */
function descriptorsToSpare(): boolean {
  const opened: number[] = [];
  try {
    while (opened.length < PIPE_FORK_FDS) opened.push(openSync(devNull, 'r'));
    return true;
  } catch {
    return false;
  } finally {
    for (const fd of opened) closeSync(fd);
  }
}

/**
 * A worker process under the heap limit. `pipe`: with the announcement pipe at stdio index ANNOUNCE_FD; without it the
 * worker is told (--announce-ipc) to announce over the IPC channel.
 */
function forkWorker(heapMb: number, pipe: boolean): ChildProcess {
  // Without the pipe (too few descriptors): announcements as IPC messages, slower (a message and an event per
  // record on this side) but the work still runs.
  const { script, execArgv } = workerScript();
  return fork(script, pipe ? [] : [ANNOUNCE_OVER_IPC], {
    execArgv: [...execArgv, `--max-old-space-size=${heapMb}`],
    serialization: 'advanced',
    // A template that exhausts the heap makes V8 print its report: not the user's terminal's business.
    stdio: pipe ? ['ignore', 'ignore', 'ignore', 'ipc', 'pipe'] : ['ignore', 'ignore', 'ignore', 'ipc'],
  });
}

interface Pending {
  resolve(reply: PoolReply): void;
  reject(error: Error): void;
}

/** Why a worker process ended before answering: its heap limit, or anything else (a bug, a kill from outside). */
export class WorkerDied extends Error {
  constructor(readonly outOfMemory: boolean, detail: string) {
    super(`template worker ended (${detail})`);
  }

  /** The death of a process that exited with `code` or was ended by `signal`: V8 aborts (134, SIGABRT) at its heap limit. */
  static from(code: number | null, signal: NodeJS.Signals | null): WorkerDied {
    return new WorkerDied(signal === 'SIGABRT' || code === 134, `code ${code}, signal ${signal}`);
  }
}

/** One worker process and what it is doing. */
export class Slot {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  pending: Pending | null = null;
  /** Taken by a caller (from acquire to release), whether or not a request is in flight yet. */
  busy = false;
  dead = false;
  /** The request in flight: its id (announcements of an earlier one are ignored) and records. */
  private requestId = 0;
  private records: LocatedRecord[] = [];
  /** Index in `records` of the record running (its announcement was read), -1 before the first. */
  private index = -1;
  private lastProgressAt = 0;
  /** The running record's characters of text (before the first: the whole batch's), measured when the watchdog first asks. */
  private measured: { index: number; chars: number } | undefined;

  constructor(files: string, heapMb: number, private readonly onFailure: (slot: Slot) => void) {
    this.child = forkWorker(heapMb, descriptorsToSpare());
    let markReady: () => void = () => undefined;
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      this.child.once('error', reject);
      this.child.once('exit', (code, signal) => reject(WorkerDied.from(code, signal)));
    });
    this.ready.catch(() => undefined);
    const pipe = this.child.stdio?.[ANNOUNCE_FD];
    if (pipe) this.readAnnouncements(pipe as Readable);
    this.child.on('message', (message: PoolReply | Announcement) => {
      if (Array.isArray(message)) return this.announced(message[0], message[1]);
      if (message.kind === 'ready') return markReady();
      const pending = this.pending;
      this.pending = null;
      pending?.resolve(message);
    });
    // A fork that failed (no descriptors at all) has no channel: its 'error' ends the slot.
    if (this.child.stdio) this.child.send(files);
    this.child.on('error', (error) => this.fail(error));
    // 'close', not 'exit': it comes after the announcement pipe is read to its end, so a worker that died of its heap
    // limit is named by the record it was really running, not one whose announcement was still unread.
    this.child.on('close', (code, signal) => this.fail(WorkerDied.from(code, signal)));
  }

  /** Reads the pipe's announcements: many per read when this side was busy, of which only the last whole one counts. */
  private readAnnouncements(pipe: Readable): void {
    let partial: Buffer | undefined;
    pipe.on('data', (chunk: Buffer) => {
      const data = partial ? Buffer.concat([partial, chunk]) : chunk;
      const whole = data.length - (data.length % ANNOUNCE_BYTES);
      partial = whole < data.length ? data.subarray(whole) : undefined;
      if (whole > 0) this.announced(data.readInt32LE(whole - ANNOUNCE_BYTES), data.readInt32LE(whole - ANNOUNCE_BYTES + 4));
    });
  }

  /** A record of request `id` starts: the watchdog's clock restarts (an earlier request's late announcement is ignored). */
  private announced(id: number, index: number): void {
    if (id !== this.requestId) return;
    this.index = index;
    this.lastProgressAt = performance.now();
  }

  /**
   * Sends a request, numbered here, with `records` as its JSON (the kinds that take records; the watchdog names them).
   */
  send(body: PoolRequestBody, records?: LocatedRecord[]): Promise<PoolReply> {
    this.requestId += 1;
    const request = { ...body, id: this.requestId, ...(records && { records: JSON.stringify(records) }) } as PoolRequest;
    this.records = records ?? [];
    this.index = -1;
    this.measured = undefined;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.lastProgressAt = performance.now();
      this.child.send(request);
    });
  }

  /** Milliseconds the current request has gone without starting a new record. */
  stalledFor(now: number): number {
    return now - this.lastProgressAt;
  }

  currentLine(): number {
    return this.records[this.index]?.line ?? 0;
  }

  /**
   * The current record's budget: the template's, plus time to encode the record's own text (a 400k-token record takes
   * seconds to encode on a loaded machine; that is the user's data, not the template misbehaving). Before the first
   * record starts, the batch's text counts: a 2 MB record's batch took longer than a 50 ms budget to arrive, loaded.
   */
  budgetMs(templateBudgetMs: number): number {
    if (this.measured?.index !== this.index) {
      // Before its first record the worker receives and parses the whole batch: time that grows with all its text.
      const chars = this.index < 0 ? this.records.reduce((sum, r) => sum + textLength(r.record), 0) : textLength(this.records[this.index]?.record);
      this.measured = { index: this.index, chars };
    }
    return templateBudgetMs + ENCODE_MS_PER_CHAR * this.measured.chars;
  }

  kill(error: Error): void {
    this.fail(error);
  }

  /** Why the worker was ended (a stop, a limit), when the pool ended it rather than the worker dying on its own. */
  endedBy: Error | undefined;

  private fail(error: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.endedBy = error;
    this.child.kill('SIGKILL');
    const pending = this.pending;
    this.pending = null;
    pending?.reject(error);
    this.onFailure(this);
  }
}
