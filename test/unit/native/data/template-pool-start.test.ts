// Tests TemplatePool.start and workersForBytes (native/data/template-pool.ts): workers started ahead of the work are
// the ones the work uses (several calls on one pool fork no more), start never passes maxWorkers, a pool started and
// never used still leaves no process after dispose, and the worker count follows the data's size. Forks are counted
// by watching child_process.fork, which template-slot.ts calls through the module object.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createTokenizer } from '../../../../native/model/tokenizer';
import { tokenizeRecord } from '../../../../native/data/template';
import { TemplatePool, workersForBytes, type TokenizedSet } from '../../../../native/data/template-pool';
import type { LocatedRecord } from '../../../../native/data/records';
import { qwenTokenizerFiles } from '../../../fixtures/tiny-model/tokenizer-files';

const files = qwenTokenizerFiles(1024);
const opts = { trainOnPrompt: false, maxSeqLen: 48 };
const childProcess = createRequire(__filename)('node:child_process') as typeof import('node:child_process');

/** The template workers forked while `work` runs, and what it returned. */
async function countingForks<T>(work: () => Promise<T>): Promise<{ workers: ChildProcess[]; result: T }> {
  const fork = mock.method(childProcess, 'fork');
  try {
    const result = await work();
    const workers = fork.mock.calls.filter((call) => String(call.arguments[0]).includes('template-worker')).map((call) => call.result as ChildProcess);
    return { workers, result };
  } finally {
    fork.mock.restore();
  }
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

function records(count: number, from = 0): LocatedRecord[] {
  return Array.from({ length: count }, (_, i) => ({ line: from + i + 1, record: { format: 'alpaca' as const, instruction: `Summarize note ${from + i}.`, output: `Note ${from + i}.` } }));
}

test('workers started ahead serve two tokenize calls on one pool: at most maxWorkers forks in all, none alive after dispose', async () => {
  const tok = createTokenizer(files.tokenizer, files.config, '/none');
  const train = records(900), evalRecords = records(300, 900);
  const { workers, result } = await countingForks(async () => {
    const pool = new TemplatePool(tok, 2);
    try {
      pool.start();
      pool.start(); // already started: no more
      return [await pool.tokenize(train, opts), await pool.tokenize(evalRecords, opts)] as TokenizedSet[];
    } finally {
      await pool.dispose();
    }
  });
  assert.equal(workers.length, 2, `${workers.length} workers forked`);
  assert.ok(workers.every(exited), 'a worker outlived dispose');
  const direct = (input: LocatedRecord[]) => input.map(({ line, record }) => ({ ...tokenizeRecord(record, tok, opts), line }));
  assert.deepEqual(result[0].examples, direct(train));
  assert.deepEqual(result[1].examples, direct(evalRecords));
});

test('start(count) forks count workers, never more than maxWorkers, and a pool disposed unused leaves none', async () => {
  const tok = createTokenizer(files.tokenizer, files.config, '/none');
  const { workers: one } = await countingForks(async () => {
    const pool = new TemplatePool(tok, 3);
    pool.start(1);
    await pool.dispose();
  });
  assert.equal(one.length, 1);
  assert.ok(one.every(exited));
  const { workers: capped } = await countingForks(async () => {
    const pool = new TemplatePool(tok, 2);
    pool.start(5);
    await pool.dispose();
  });
  assert.equal(capped.length, 2);
  assert.ok(capped.every(exited));
});

test('a stop while tokenizing on started workers ends with "stopped" and dispose leaves no worker', async () => {
  const tok = createTokenizer(files.tokenizer, files.config, '/none');
  let progress = 0;
  const { workers, result } = await countingForks(async () => {
    const pool = new TemplatePool(tok, 2);
    try {
      pool.start();
      return await pool.tokenize(records(20_000), opts, { onProgress: (done) => { progress = done; }, stopRequested: () => progress > 0 });
    } finally {
      await pool.dispose();
    }
  });
  assert.equal(result, 'stopped');
  assert.ok(progress < 20_000, `stopped after ${progress} records`);
  assert.ok(workers.length >= 1 && workers.every(exited));
});

test('start after dispose is refused (it would fork a worker nothing disposes)', async () => {
  const pool = new TemplatePool(createTokenizer(files.tokenizer, files.config, '/none'), 1);
  await pool.dispose();
  assert.throws(() => pool.start(), /disposed/);
});

test('workersForBytes: one worker per 2 MB of JSONL, at least one, at most the maximum', () => {
  assert.equal(workersForBytes(0, 4), 1);
  assert.equal(workersForBytes(300, 4), 1);
  assert.equal(workersForBytes(2 * 2 ** 20, 4), 1);
  assert.equal(workersForBytes(2 * 2 ** 20 + 1, 4), 2);
  assert.equal(workersForBytes(7 * 2 ** 20, 4), 4);
  assert.equal(workersForBytes(500 * 2 ** 20, 4), 4);
  assert.equal(workersForBytes(500 * 2 ** 20, 2), 2);
});
