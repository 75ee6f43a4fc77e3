// The template worker: a child process that renders chat templates and tokenizes records for template-pool.ts. It
// runs under the pool's heap limit and wall-clock watchdog, so a hostile template ends this process, not its caller.
// It rebuilds the tokenizer once from the files it is first sent, then answers batches (one reply per batch),
// announcing each record's line as it starts so the watchdog can name a record that never finishes.
import { tokenizerFromFiles, type TokenizerFiles } from '../model/tokenizer';
import { instructionPrompt, recordSegments, tokenizeRecord, type TemplateOptions } from './template';
import type { LocatedRecord } from './records';
import { isUserError } from '../util/errors';
import type { PoolReply, PoolRequest, SerializedError } from './template-protocol';
import { packExamples } from './template-protocol';
import type { TextTokenizer } from '../model/tokenizer';

let tok: TextTokenizer;
const send = (message: PoolReply | number) => process.send!(message);

function serialize(error: unknown): SerializedError {
  if (isUserError(error)) return { user: true, message: error.message, fix: error.fix, where: error.where, code: error.code };
  return { user: false, message: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) };
}

/** Runs `work` for each record, announcing the record's line first (the watchdog's clock restarts per record). */
function eachRecord<T>(records: LocatedRecord[], work: (record: LocatedRecord) => T): T[] {
  return records.map((located) => {
    send(located.line);
    return work(located);
  });
}

function answer(request: PoolRequest): PoolReply {
  switch (request.kind) {
    case 'tokenize': {
      const examples = eachRecord(request.records, ({ line, record }) => {
        try {
          return { ...tokenizeRecord(record, tok, request.opts as TemplateOptions), line };
        } catch (error) {
          throw Object.assign(serialize(error), { line });
        }
      });
      const packed = packExamples(examples);
      return { id: request.id, kind: 'tokenize', packed };
    }
    case 'segments': {
      // The preview shows a record's own error in place, so one bad record does not fail the batch.
      const results = eachRecord(request.records, ({ record }) => {
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
