// Tests native/data/template-pool.ts: records tokenized in template workers equal tokenizeRecord's results (order,
// ids, labels, counts); hostile chat templates (an endless range, nested loops, a huge string) end in a clear
// UserError naming the template's file and the record's line, with the process alive; a stop request ends the work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenizer, loadTokenizer } from '../../../../native/model/tokenizer';
import { tokenizeRecord } from '../../../../native/data/template';
import { TemplatePool, tokenizeRecordsBounded, type TokenizedSet } from '../../../../native/data/template-pool';
import { textLength } from '../../../../native/data/template-slot';
import type { LocatedRecord } from '../../../../native/data/records';
import { UserError } from '../../../../native/util/errors';
import { qwenTokenizerFiles } from '../../../fixtures/tiny-model/tokenizer-files';

const files = qwenTokenizerFiles(1024);
const opts = { trainOnPrompt: false, maxSeqLen: 48 };

function records(count: number): LocatedRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    line: i + 1,
    record: i % 3 === 0
      ? { format: 'chat' as const, messages: [{ role: 'user' as const, content: `Hi ${i}` }, { role: 'assistant' as const, content: `Hello ${i}!` }] }
      : { format: 'alpaca' as const, instruction: `Summarize note ${i}.`, input: i % 2 ? `Note ${i}: the build moved.` : undefined, output: `Build moved (${i}).` },
  }));
}

test('pooled tokenizing equals tokenizeRecord record by record, in order, over several batches and workers', async () => {
  const tok = createTokenizer(files.tokenizer, files.config, '/none');
  const input = records(700);
  const result = await tokenizeRecordsBounded(tok, input, opts) as TokenizedSet;
  const direct = input.map(({ line, record }) => ({ ...tokenizeRecord(record, tok, opts), line }));
  assert.deepEqual(result.examples, direct);
  assert.equal(result.truncatedCount, direct.filter((e) => e.truncated).length);
  assert.ok(result.truncatedCount > 0, 'some records are cut at 48 tokens');
  assert.equal(result.untrainableCount, 0);
});

test('tokenLengths: every record\'s length as training encodes it with the prompt trained and nothing cut (the panel\'s statistics)', async () => {
  const tok = createTokenizer(files.tokenizer, files.config, '/none');
  const input = records(300);
  const pool = new TemplatePool(tok, 1);
  try {
    const full = { trainOnPrompt: true, maxSeqLen: Number.MAX_SAFE_INTEGER };
    assert.deepEqual(await pool.tokenLengths(input), input.map(({ record }) => tokenizeRecord(record, tok, full).inputIds.length));
  } finally {
    await pool.dispose();
  }
});

test('a batch that takes a while to arrive is not taken for a stuck record: before its first record the budget counts the whole batch\'s text', async () => {
  const tok = createTokenizer(files.tokenizer, files.config, '/none');
  // 15 MB: sending and parsing it outlasts a 1 ms budget (and a watchdog tick) before the worker announces the record.
  const long: LocatedRecord[] = [{ line: 1, record: { format: 'alpaca', instruction: 'Repeat.', output: 'word '.repeat(3_000_000) } }];
  const result = await tokenizeRecordsBounded(tok, long, opts, {}, { recordBudgetMs: 1, heapMb: 512 }) as TokenizedSet;
  assert.equal(result.examples.length, 1);
});

test('a long record gets time to encode beyond the template budget (its text, not the template, takes the time)', async () => {
  const tok = createTokenizer(files.tokenizer, files.config, '/none');
  // 2 MB of output: encoding it takes far longer than 50 ms; the per-character allowance covers it.
  const long: LocatedRecord[] = [{ line: 1, record: { format: 'alpaca', instruction: 'Repeat.', output: 'word '.repeat(400_000) } }];
  const result = await tokenizeRecordsBounded(tok, long, opts, {}, { recordBudgetMs: 50, heapMb: 256 }) as TokenizedSet;
  assert.equal(result.examples.length, 1);
  assert.equal(result.examples[0].inputIds.length, 48);
  assert.equal(textLength(long[0].record), 'Repeat.'.length + 'word '.length * 400_000 + 'alpaca'.length);
});

/** A model folder whose tokenizer_config.json has `template` as its chat template. */
function hostileTokenizer(template: string, asJinjaFile = false) {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-template-'));
  const { chat_template: _drop, ...config } = files.config;
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(asJinjaFile ? config : { ...config, chat_template: template }));
  if (asJinjaFile) writeFileSync(join(dir, 'chat_template.jinja'), template);
  return { dir, tok: loadTokenizer(dir) };
}

const hostile: [string, string, RegExp][] = [
  ['an endless range', '{% for i in range(1000000000) %}{{ i }}{% endfor %}', /memory|did not finish/],
  ['nested loops', '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}', /did not finish within 1 s/],
  ['a huge string', '{% set s = namespace(t="xy") %}{% for i in range(40) %}{% set s.t = s.t + s.t %}{% endfor %}{{ s.t }}', /output is longer than|memory/],
];

for (const [name, template, expected] of hostile) {
  test(`a chat template with ${name} is a UserError naming its file and the record, and the process lives on`, async () => {
    const { dir, tok } = hostileTokenizer(template);
    const started = performance.now();
    const error = await tokenizeRecordsBounded(tok, records(3), opts, { dataFile: 'data.jsonl' }, { recordBudgetMs: 1000, heapMb: 256 }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof UserError, `got ${String(error)}`);
    assert.match(error.message, expected);
    assert.ok(error.message.includes(join(dir, 'tokenizer_config.json')), error.message);
    assert.match(error.message, /line 1/);
    assert.match(error.message, /fix the chat template/);
    assert.ok(performance.now() - started < 60_000);
  });
}

test('a template from chat_template.jinja is named by that file', async () => {
  const { dir, tok } = hostileTokenizer('{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}', true);
  await assert.rejects(tokenizeRecordsBounded(tok, records(1), opts, {}, { recordBudgetMs: 500, heapMb: 256 }),
    (e: unknown) => e instanceof UserError && e.message.startsWith(`${join(dir, 'chat_template.jinja')}: the chat template did not finish`));
});

test('after a hostile record the pool starts a fresh worker for the next request', async () => {
  const { tok } = hostileTokenizer("{% if messages[0].content == 'loop' %}{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{% endif %}{{ messages[0].content }}");
  // 2 s: the fresh worker's first record (template compiled, caches cold) must not be mistaken for a loop on a loaded machine.
  const pool = new TemplatePool(tok, 1, { recordBudgetMs: 2000, heapMb: 256 });
  try {
    const [bad] = await pool.segments([{ line: 1, record: { format: 'alpaca', instruction: 'loop', output: 'x' } }]).then(() => [undefined], (e: unknown) => [e]);
    assert.ok(bad instanceof UserError && /did not finish/.test(bad.message), String(bad));
    const [good] = await pool.segments([{ line: 2, record: { format: 'alpaca', instruction: 'fine', output: 'x' } }]);
    assert.ok('segments' in good, JSON.stringify(good));
  } finally {
    await pool.dispose();
  }
});

test('a stop request ends pooled tokenizing with "stopped" (workers terminated), counting the work, not the time', async () => {
  const tok = createTokenizer(files.tokenizer, files.config, '/none');
  let progress = 0;
  const result = await tokenizeRecordsBounded(tok, records(20_000), opts, {
    onProgress: (done) => { progress = done; },
    stopRequested: () => progress > 0,
  });
  assert.equal(result, 'stopped');
  assert.ok(progress < 20_000, `stopped after ${progress} records`);
});

test('records a worker leaves out as untrainable are counted as tokenizeRecords counts them, truncated ones over all records', async () => {
  const tok = createTokenizer(files.tokenizer, files.config, '/none');
  const input = records(600);
  // At 20 tokens the alpaca prompts leave no room for their response; the short chat records keep theirs.
  const short = { trainOnPrompt: false, maxSeqLen: 20 };
  const result = await tokenizeRecordsBounded(tok, input, short) as TokenizedSet;
  const direct = input.map(({ line, record }) => ({ ...tokenizeRecord(record, tok, short), line }));
  const trainable = direct.filter((e) => e.labels.some((label) => label !== -100));
  assert.deepEqual(result.examples, trainable);
  assert.equal(result.untrainableCount, direct.length - trainable.length);
  assert.equal(result.truncatedCount, direct.filter((e) => e.truncated).length);
  assert.ok(result.untrainableCount > 0 && trainable.length > 0, `${result.untrainableCount} untrainable of ${direct.length}`);
});

/** A tokenizer whose template renders `{{ content }}`, taking the given extra work for records whose content is `trigger`. */
function triggered(trigger: string, work: string) {
  return hostileTokenizer(`{% if messages[0].content == '${trigger}' %}${work}{% endif %}{{ messages[0].content }}`);
}
const alpaca = (line: number, instruction: string): LocatedRecord => ({ line, record: { format: 'alpaca', instruction, output: 'x' } });

test('a record deep in a batch that never finishes is named by its own line, not the batch\'s first', async () => {
  const { tok } = triggered('loop', '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}');
  const input = Array.from({ length: 300 }, (_, i) => alpaca(i + 1, i + 1 === 290 ? 'loop' : `fine ${i}`));
  // 3 s: far above a loaded machine's stalls, which the 289 ordinary records before it must not be taken for.
  await assert.rejects(tokenizeRecordsBounded(tok, input, opts, { dataFile: 'data.jsonl' }, { recordBudgetMs: 3000, heapMb: 256 }),
    (e: unknown) => e instanceof UserError && /did not finish within 3 s rendering the record on line 290 of data\.jsonl/.test(e.message));
});

test('a record deep in a batch that exhausts the heap is named by its own line', async () => {
  const { tok } = triggered('grow', '{% for i in range(1000000000) %}{{ i }}{% endfor %}');
  const input = Array.from({ length: 200 }, (_, i) => alpaca(i + 1, i + 1 === 170 ? 'grow' : `fine ${i}`));
  await assert.rejects(tokenizeRecordsBounded(tok, input, opts, {}, { recordBudgetMs: 60_000, heapMb: 128 }),
    (e: unknown) => e instanceof UserError && /used more than \d+ MB of memory rendering the record on line 170\b/.test(e.message));
});

test('the watchdog\'s clock restarts with every record: a batch longer than the budget, of records well within it, finishes', async () => {
  // A budget far above a loaded machine's scheduling stalls (a record descheduled for a second must not trip it), and
  // records made slow enough, by measurement here, that one batch of them takes twice the budget or more.
  const budgetMs = 3000;
  const count = 250; // one batch (template-pool.ts sends 256 records per message)
  const slow = alpaca(1, 'slow').record;
  let loops = 500;
  let tok = triggered('slow', `{% for i in range(${loops}) %}{% endfor %}`).tok;
  const perRecordMs = () => {
    tokenizeRecord(slow, tok, opts);
    const started = performance.now();
    for (let k = 0; k < 5; k += 1) tokenizeRecord(slow, tok, opts);
    return (performance.now() - started) / 5;
  };
  let perRecord = perRecordMs();
  while (perRecord * count < 2 * budgetMs && loops < 10_000_000) {
    loops *= 2;
    tok = triggered('slow', `{% for i in range(${loops}) %}{% endfor %}`).tok;
    perRecord = perRecordMs();
  }
  assert.ok(perRecord * count >= 2 * budgetMs, `the batch takes ${(perRecord * count).toFixed(0)} ms here: make the records slower`);
  assert.ok(perRecord < budgetMs / 10, `a record takes ${perRecord.toFixed(0)} ms: well within the budget`);
  const pool = new TemplatePool(tok, 1, { recordBudgetMs: budgetMs, heapMb: 256 });
  try {
    const result = await pool.tokenize(Array.from({ length: count }, (_, i) => alpaca(i + 1, 'slow')), opts) as TokenizedSet;
    assert.equal(result.examples.length, count);
  } finally {
    await pool.dispose();
  }
});

test('with too few file descriptors for the announcement pipe, announcements go over IPC and a stalled record is still named', { skip: process.platform === 'win32' ? 'sh and ulimit are POSIX' : false }, () => {
  // 6 free: fewer than the pool asks before forking with the pipe (8), enough for a fork without it (5); the script is
  // test/unit/native/data/template-pool-few-fds.ts. (Checked: with the worker ignoring --announce-ipc this fails.)
  const script = join(__dirname, 'template-pool-few-fds.ts');
  const run = spawnSync('sh', ['-c', `ulimit -n 64 && exec "$0" --require tsx/cjs "$1" 6`, process.execPath, script], { encoding: 'utf8', timeout: 120_000 });
  assert.match(run.stdout, /did not finish within 3 s rendering the record on line 150\b/, `${run.stdout}\n${run.stderr}`);
});
