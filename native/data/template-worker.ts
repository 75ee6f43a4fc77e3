// The template worker: a child process that renders chat templates and tokenizes records for template-pool.ts. It
// runs under the pool's heap limit and wall-clock watchdog, so a hostile template ends this process, not its caller.
// It rebuilds the tokenizer once from the files it is first sent, then answers batches (one reply per batch),
// announcing each record as it starts (8 bytes on the announcement pipe) so the watchdog can restart its per-record
// clock and name a record that never finishes.
import { writeSync } from 'node:fs';
import { tokenizerFromFiles, type TokenizerFiles } from '../model/tokenizer';
import { instructionPrompt, recordSegments, tokenizeRecord, type TemplateOptions } from './template';
import type { LocatedRecord } from './records';
import { isUserError } from '../util/errors';
import type { Announcement, PoolReply, PoolRequest, RecordsJson, SerializedError } from './template-protocol';
import { ANNOUNCE_BYTES, ANNOUNCE_FD, ANNOUNCE_OVER_IPC, packExamples } from './template-protocol';
import type { TextTokenizer } from '../model/tokenizer';

let tok: TextTokenizer;
const send = (message: PoolReply) => process.send!(message);

function serialize(error: unknown): SerializedError {
  if (isUserError(error)) return { user: true, message: error.message, fix: error.fix, where: error.where, code: error.code };
  return { user: false, message: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) };
}

const announcement = Buffer.alloc(ANNOUNCE_BYTES);
/** The caller had no descriptors left for the announcement pipe (see forkWorker in template-slot.ts). */
const overIpc = process.argv.includes(ANNOUNCE_OVER_IPC);

/**
 * Runs `work` for each record, announcing it first (the watchdog's clock restarts per record). The write is
 * synchronous and blocking: it is in the pipe before the record's work starts, and a caller too busy to read only
 * slows this worker down once the pipe's buffer (thousands of announcements) is full.
 */
function eachRecord<T>(id: number, records: RecordsJson, work: (record: LocatedRecord) => T): T[] {
  announcement.writeInt32LE(id, 0);
  return (JSON.parse(records) as LocatedRecord[]).map((located, index) => {
    if (overIpc) {
      process.send!([id, index] satisfies Announcement);
    } else {
      announcement.writeInt32LE(index, 4);
      writeSync(ANNOUNCE_FD, announcement);
    }
    return work(located);
  });
}

function answer(request: PoolRequest): PoolReply {
  switch (request.kind) {
    case 'tokenize':
    case 'lengths': {
      const opts: TemplateOptions = request.kind === 'tokenize' ? request.opts : { trainOnPrompt: true, maxSeqLen: Number.MAX_SAFE_INTEGER };
      const examples = eachRecord(request.id, request.records, ({ line, record }) => {
        try {
          return { ...tokenizeRecord(record, tok, opts), line };
        } catch (error) {
          throw Object.assign(serialize(error), { line });
        }
      });
      if (request.kind === 'lengths') return { id: request.id, kind: 'lengths', lengths: Int32Array.from(examples, (e) => e.inputIds.length) };
      return { id: request.id, kind: 'tokenize', packed: packExamples(examples) };
    }
    case 'segments': {
      // The preview shows a record's own error in place, so one bad record does not fail the batch.
      const results = eachRecord(request.id, request.records, ({ record }) => {
        try {
          return { segments: recordSegments(record, tok) };
        } catch (error) {
          return { error: serialize(error) };
        }
      });
      return { id: request.id, kind: 'segments', results };
    }
    case 'prompt':
      return { id: request.id, kind: 'prompt', text: instructionPrompt(tok, request.instruction, request.input, request.system) };
  }
}

process.on('message', (message: PoolRequest | string) => {
  if (typeof message === 'string') {
    tok = tokenizerFromFiles(JSON.parse(message) as TokenizerFiles);
    return send({ id: -1, kind: 'ready' });
  }
  let reply: PoolReply;
  try {
    reply = answer(message);
  } catch (error) {
    const line = (error as { line?: number }).line;
    reply = { id: message.id, kind: 'error', error: line !== undefined ? (error as SerializedError) : serialize(error), line };
  }
  send(reply);
});
// The caller went away (killed, or done without disposing): nothing is left for this process to do.
process.on('disconnect', () => process.exit(0));
