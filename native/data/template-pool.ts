// Bounded chat-template work: renders and tokenizes records in worker processes (template-worker.ts), each with a
// heap limit (--max-old-space-size: a template that allocates without end aborts its worker, not the caller) and a
// wall-clock watchdog (a record that runs longer than `recordBudgetMs` has its worker killed). Processes, not worker
// threads: a thread's resourceLimits do not survive one huge allocation (range(1e9) grows an array past the limit in
// one step and V8 aborts the whole process). Records travel in batches, one message each way per batch, so normal
// rendering pays no per-record round-trip: a worker only announces each record as it starts, 8 bytes on a pipe of
// their own (template-slot.ts); several workers tokenize in parallel; the caller only waits, so signals and the stop
// flag are seen between batches.
import { availableParallelism } from 'node:os';
import type { TextTokenizer } from '../model/tokenizer';
import { UserError, formatUserMessage, type ErrorLocation } from '../util/errors';
import type { LocatedRecord } from './records';
import type { TemplateOptions, TokenizedExample } from './template';
import { unpackExamples, type PackedBatch, type PoolReply, type PoolRequestBody, type SegmentsResult, type SerializedError } from './template-protocol';
import { Slot, WorkerDied } from './template-slot';

export interface PoolLimits {
  /** A record (or a prompt) that renders for longer than this without finishing ends its worker. */
  recordBudgetMs: number;
  /** Heap limit of each worker (old generation), in MiB, for the template; the tokenizer's own room is added to it. */
  heapMb: number;
}

export const DEFAULT_LIMITS: PoolLimits = { recordBudgetMs: 5_000, heapMb: 512 };
/** Workers a pool may run: 2 beat 1 and 3 on 2 cores (bench/results/2026-11-30-tokenize.txt); more cores, up to 4. */
export const defaultMaxWorkers = (): number => Math.min(availableParallelism(), 4);
/**
 * JSONL bytes worth a worker of their own: a worker takes about 1 s to start with the full Qwen tokenizer (parsing and
 * building it), which 2 MB (~5k Alpaca records at ~38k records/s) repays; a tiny test dataset gets one worker.
 */
const BYTES_PER_WORKER = 2 * 2 ** 20;

/** Workers for tokenizing `bytes` of JSONL: one per BYTES_PER_WORKER, at least 1, at most `max`. */
export function workersForBytes(bytes: number, max = defaultMaxWorkers()): number {
  return Math.max(1, Math.min(max, Math.ceil(bytes / BYTES_PER_WORKER)));
}
/** Heap a worker gets per MB of tokenizer files (parsed vocabulary and merges): measured 43 MB for Qwen's 4.6 MB. */
const HEAP_PER_TOKENIZER_MB = 16;
/** Records per message: large enough that the round-trip vanishes, small enough that stop and progress stay prompt. */
const BATCH = 256;
const WATCH_MS = 100;

export interface TokenizeHooks {
  /** Checked between batches and by the watchdog: true ends the work (workers terminated) with 'stopped'. */
  stopRequested?(): boolean;
  onProgress?(done: number, total: number): void;
  /** The dataset the records come from, named in errors. */
  dataFile?: string;
}

export interface TokenizedSet {
  examples: TokenizedExample[];
  truncatedCount: number;
  untrainableCount: number;
}

/** The tokenizer's files as the workers are sent them, made once per tokenizer (4.4 MB for Qwen: a quarter second). */
const filesJsonOf = new WeakMap<TextTokenizer, string>();
function filesJson(tok: TextTokenizer): string {
  let json = filesJsonOf.get(tok);
  if (json === undefined) filesJsonOf.set(tok, json = JSON.stringify(tok.files));
  return json;
}

/**
 * Template workers for one tokenizer: create, optionally start() workers ahead of the work (they load the tokenizer
 * while the caller reads its records), use for any number of calls, dispose (which kills the workers and waits for
 * them to exit; they also exit when their caller does).
 */
export class TemplatePool {
  private readonly files: string;
  private readonly slots: Slot[] = [];
  private readonly waiting: ((slot: Slot) => void)[] = [];
  private readonly watchdog: NodeJS.Timeout;
  private stopCheck: (() => boolean) | undefined;
  private dataFile: string | undefined;
  private disposed = false;

  private readonly workerLimits: PoolLimits;

  constructor(private readonly tok: TextTokenizer, private readonly maxWorkers = defaultMaxWorkers(), private readonly limits: PoolLimits = DEFAULT_LIMITS) {
    this.files = filesJson(tok);
    // A large vocabulary (Gemma's 33 MB tokenizer.json) must not leave the template less than its own limit.
    this.workerLimits = { ...limits, heapMb: limits.heapMb + Math.ceil((HEAP_PER_TOKENIZER_MB * this.files.length) / 2 ** 20) };
    this.watchdog = setInterval(() => this.watch(), WATCH_MS);
    this.watchdog.unref();
  }

  private watch(): void {
    const now = performance.now();
    if (this.stopCheck?.()) {
      for (const slot of [...this.slots]) slot.kill(new StoppedError());
      return;
    }
    for (const slot of this.slots) {
      if (!slot.pending || slot.stalledFor(now) <= slot.budgetMs(this.limits.recordBudgetMs)) continue;
      slot.kill(this.limitError(`did not finish within ${this.limits.recordBudgetMs / 1000} s`, slot.currentLine(), 'a loop that never ends or runs too long', this.dataFile));
    }
  }

  /** What went wrong with the template, where (its file, the record's line) and how to fix it. */
  private limitError(what: string, line: number, cause: string, dataFile?: string): UserError {
    const file = this.tok.chatTemplateFile;
    const record = line > 0 ? ` rendering the record on line ${line}${dataFile ? ` of ${dataFile}` : ''}` : '';
    const where: ErrorLocation = file?.endsWith('.jinja') ? { file } : { file, field: 'chat_template' };
    return new UserError(`the chat template ${what}${record} (${cause})`, {
      where,
      fix: 'fix the chat template (or restore it from the model\'s repository); without a chat_template, alpaca records train with the Alpaca prompt',
      code: 'template-limit',
    });
  }

  /** A dead worker leaves the pool; the next request starts a fresh one. */
  private onFailure(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
  }

  /** A new worker process, in the pool from now on (forking is all it takes: it loads the tokenizer on its own). */
  private fork(): Slot {
    const slot = new Slot(this.files, this.workerLimits.heapMb, (s) => this.onFailure(s));
    this.slots.push(slot);
    return slot;
  }

  /**
   * Starts idle workers until `count` (at most maxWorkers) are alive, so their second or so of loading the tokenizer
   * overlaps whatever the caller does before its first request (reading the dataset). Requests use them as any other.
   */
  start(count = this.maxWorkers): void {
    if (this.disposed) throw new Error('template pool disposed');
    // A dead worker has left `slots` already; a request waits only while all maxWorkers are there, so none waits here.
    while (this.slots.length < Math.min(count, this.maxWorkers)) this.fork();
  }

  /** An idle worker, starting one when under maxWorkers, else the next to become idle. */
  private acquire(): Promise<Slot> {
    if (this.disposed) return Promise.reject(new Error('template pool disposed'));
    const idle = this.slots.find((s) => !s.pending && !s.dead && !s.busy);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (this.slots.length < this.maxWorkers) {
      const slot = this.fork();
      slot.busy = true;
      return Promise.resolve(slot);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next && !slot.dead) return next(slot);
    slot.busy = false;
    if (next) void this.acquire().then(next);
  }

  /** Sends one request (with `records`, for the kinds that take them) on a worker, turning a worker's death into the matching error. */
  private async request(body: PoolRequestBody, records?: LocatedRecord[], dataFile?: string): Promise<PoolReply> {
    const slot = await this.acquire();
    try {
      try {
        await slot.ready;
      } catch (error) {
        // Ended by the pool while starting (a stop request): that reason, not a failure to start.
        if (slot.endedBy instanceof StoppedError || slot.endedBy instanceof UserError) throw slot.endedBy;
        // Before any template ran: the worker could not even load the tokenizer.
        throw new Error(`the template worker could not load the tokenizer (${(error as Error).message}; heap limit ${this.workerLimits.heapMb} MB)`);
      }
      return await slot.send(body, records);
    } catch (error) {
      if (error instanceof UserError || error instanceof StoppedError) throw error;
      if (error instanceof WorkerDied && error.outOfMemory) {
        throw this.limitError(`used more than ${this.workerLimits.heapMb} MB of memory`, slot.currentLine(), 'it builds a list or a string too large', dataFile);
      }
      throw error;
    } finally {
      this.release(slot);
    }
  }

  /**
   * Tokenizes records in order (as tokenizeRecords in template.ts), batch by batch on all workers; 'stopped' when
   * hooks.stopRequested() turned true. Examples with no trained token are dropped and counted in untrainableCount.
   */
  async tokenize(records: LocatedRecord[], opts: TemplateOptions, hooks: TokenizeHooks = {}): Promise<TokenizedSet | 'stopped'> {
    this.stopCheck = hooks.stopRequested;
    this.dataFile = hooks.dataFile;
    const batches: LocatedRecord[][] = [];
    for (let i = 0; i < records.length; i += BATCH) batches.push(records.slice(i, i + BATCH));
    const results: PackedBatch[] = new Array(batches.length);
    let next = 0;
    let done = 0;
    const lane = async (): Promise<void> => {
      while (next < batches.length) {
        if (hooks.stopRequested?.()) throw new StoppedError();
        const index = next++;
        const reply = await this.request({ kind: 'tokenize', opts }, batches[index], hooks.dataFile);
        if (reply.kind === 'error') throw recordError(reply.error, reply.line, hooks.dataFile);
        if (reply.kind !== 'tokenize') throw new Error(`template worker answered ${reply.kind} to tokenize`);
        results[index] = unpackExamples(reply.packed);
        done += batches[index].length;
        hooks.onProgress?.(done, records.length);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.maxWorkers, batches.length) }, lane));
    } catch (error) {
      if (error instanceof StoppedError) return 'stopped';
      throw error;
    } finally {
      this.stopCheck = undefined;
      this.dataFile = undefined;
    }
    // The workers left out the untrainable examples and counted them with the truncated ones.
    const set: TokenizedSet = { examples: [], truncatedCount: 0, untrainableCount: 0 };
    for (const batch of results) {
      for (const example of batch.examples) set.examples.push(example);
      set.truncatedCount += batch.truncatedCount;
      set.untrainableCount += batch.untrainableCount;
    }
    return set;
  }

  /** Tokens of each record as training encodes it with the prompt trained on and nothing cut (the panel's statistics). */
  async tokenLengths(records: LocatedRecord[]): Promise<number[]> {
    const lengths: number[] = [];
    for (let i = 0; i < records.length; i += BATCH) {
      const batch = records.slice(i, i + BATCH);
      const reply = await this.request({ kind: 'lengths' }, batch);
      if (reply.kind === 'error') throw recordError(reply.error, reply.line);
      if (reply.kind !== 'lengths') throw new Error(`template worker answered ${reply.kind} to lengths`);
      for (const length of reply.lengths) lengths.push(length);
    }
    return lengths;
  }

  /** The training text of each record as segments (recordSegments), or that record's own error (previews show it in place). */
  async segments(records: LocatedRecord[]): Promise<SegmentsResult[]> {
    const out: SegmentsResult[] = [];
    for (let i = 0; i < records.length; i += BATCH) {
      const batch = records.slice(i, i + BATCH);
      const reply = await this.request({ kind: 'segments' }, batch);
      if (reply.kind === 'error') throw toError(reply.error);
      if (reply.kind !== 'segments') throw new Error(`template worker answered ${reply.kind} to segments`);
      out.push(...reply.results);
    }
    return out;
  }

  /** The generation prompt for an instruction (instructionPrompt in template.ts), rendered in a worker. */
  async prompt(instruction: string, input?: string, system?: string): Promise<string> {
    const reply = await this.request({ kind: 'prompt', instruction, input, system });
    if (reply.kind === 'error') throw toError(reply.error);
    if (reply.kind !== 'prompt') throw new Error(`template worker answered ${reply.kind} to prompt`);
    return reply.text;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearInterval(this.watchdog);
    const slots = this.slots.splice(0);
    // Resolved once the processes are gone, so nothing of the pool outlives dispose().
    const exited = slots.map((slot) => (slot.child.exitCode !== null || slot.child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => slot.child.once('exit', () => resolve()))));
    for (const slot of slots) slot.kill(new Error('template pool disposed'));
    await Promise.all(exited);
  }
}

/** Thrown inside the pool when a stop was requested; tokenize turns it into 'stopped'. */
class StoppedError extends Error {
  constructor() {
    super('stopped');
  }
}

/** A worker's error as the error it was: a UserError keeps what, where and fix; anything else is an internal error. */
export function toError(error: SerializedError): Error {
  if (!error.user) return new Error(`template worker: ${error.message}`);
  const result = new UserError('', { where: error.where, fix: error.fix, code: error.code });
  result.message = error.message;
  return result;
}

/** A record's error, prefixed with its line as tokenizeRecords always said it. */
function recordError(error: SerializedError, line: number | undefined, dataFile?: string): Error {
  if (!error.user || line === undefined) return toError(error);
  // The worker's message already ends with its fix; the new error appends it once.
  let what = error.fix && error.message.endsWith(` — ${error.fix}`) ? error.message.slice(0, -(error.fix.length + 3)) : error.message;
  if (error.code === 'template-limit') {
    // A limit of the template: named by the template's file, like the pool's own limits, with the record after.
    const place = formatUserMessage('', error.where);
    if (what.startsWith(place)) what = what.slice(place.length);
    return new UserError(`${what} rendering the record on line ${line}${dataFile ? ` of ${dataFile}` : ''}`, { where: error.where, fix: error.fix, code: error.code });
  }
  return new UserError(`record on line ${line}: ${what}`, { where: dataFile ? { file: dataFile, line } : { line }, fix: error.fix });
}

/** Tokenizes records with a pool made for the call (see TemplatePool.tokenize). */
export async function tokenizeRecordsBounded(tok: TextTokenizer, records: LocatedRecord[], opts: TemplateOptions, hooks: TokenizeHooks = {}, limits?: PoolLimits): Promise<TokenizedSet | 'stopped'> {
  const pool = new TemplatePool(tok, undefined, limits);
  try {
    return await pool.tokenize(records, opts, hooks);
  } finally {
    await pool.dispose();
  }
}

/** The generation prompt for an instruction, rendered with a worker made for the call. */
export async function instructionPromptBounded(tok: TextTokenizer, instruction: string, input?: string, system?: string): Promise<string> {
  const pool = new TemplatePool(tok, 1);
  try {
    return await pool.prompt(instruction, input, system);
  } finally {
    await pool.dispose();
  }
}
