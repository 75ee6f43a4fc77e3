// Tests native/data/template.ts: Alpaca prompt, chat templates (real Qwen3 ChatML, a prefix-stable ChatML), loss masks,
// pre-shifted labels, EOS, BOS handling and truncation — on the real (trimmed) Qwen tokenizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTokenizer, type TextTokenizer } from '../../../../native/model/tokenizer';
import { alpacaPrompt, encodePrompt, instructionPrompt, tokenizeRecord, IGNORE_INDEX } from '../../../../native/data/template';
import { tokenizeRecordsBounded, type TokenizedSet } from '../../../../native/data/template-pool';
import type { LocatedRecord } from '../../../../native/data/records';
import type { DatasetRecord } from '../../../../native/data/records';
import { UserError } from '../../../../native/util/errors';
import { qwenTokenizerFiles } from '../../../fixtures/tiny-model/tokenizer-files';

const files = qwenTokenizerFiles(1024);
const { chat_template: _drop, ...configNoTemplate } = files.config;
const qwen3 = createTokenizer(files.tokenizer, files.config, '/none');
const plain = createTokenizer(files.tokenizer, configNoTemplate, '/none');
const CHATML = "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const chatml = createTokenizer(files.tokenizer, { ...configNoTemplate, chat_template: CHATML }, '/none');
const opts = { trainOnPrompt: false, maxSeqLen: 4096 };

/** Whole-dataset tokenizing as training does it: in template workers. */
async function tokenizeRecords(records: LocatedRecord[], tok: TextTokenizer, options: typeof opts): Promise<TokenizedSet> {
  const result = await tokenizeRecordsBounded(tok, records, options);
  assert.notEqual(result, 'stopped');
  return result as TokenizedSet;
}

/** The text of the trained targets, run by run (a run = consecutive positions whose label is not -100). */
function trainedRuns(tok: TextTokenizer, ex: { inputIds: number[]; labels: number[] }): string[] {
  const runs: number[][] = [];
  ex.labels.forEach((label, i) => {
    if (label === IGNORE_INDEX) return;
    assert.equal(label, ex.inputIds[i + 1], `labels are pre-shifted at ${i}`);
    if (i === 0 || ex.labels[i - 1] === IGNORE_INDEX) runs.push([]);
    runs[runs.length - 1].push(label);
  });
  return runs.map((r) => tok.decode(r));
}

test('alpaca without a chat template: Stanford Alpaca prompt, loss on output + EOS only', () => {
  const record: DatasetRecord = { format: 'alpaca', instruction: 'Name a color.', output: 'Blue.' };
  const ex = tokenizeRecord(record, plain, opts);
  assert.equal(plain.decode(ex.inputIds), alpacaPrompt('Name a color.') + 'Blue.<|im_end|>');
  assert.ok(alpacaPrompt('Name a color.').startsWith('Below is an instruction that describes a task. Write a response'));
  assert.deepEqual(trainedRuns(plain, ex), ['Blue.<|im_end|>']);
  assert.equal(ex.labels[ex.labels.length - 1], IGNORE_INDEX);
  assert.equal(ex.truncated, false);
});

test('alpaca prompt with input, system in front', () => {
  const p = alpacaPrompt('Translate.', 'bonjour', 'You are terse.');
  assert.equal(p, 'You are terse.\n\nBelow is an instruction that describes a task, paired with an input that provides further context. ' +
    'Write a response that appropriately completes the request.\n\n### Instruction:\nTranslate.\n\n### Input:\nbonjour\n\n### Response:\n');
  assert.equal(instructionPrompt(plain, 'Translate.', 'bonjour', 'You are terse.'), p);
});

test('alpaca with a chat template goes through it (system, user = instruction + input)', () => {
  const record: DatasetRecord = { format: 'alpaca', instruction: 'Add.', input: '2+2', output: '4', system: 'Math.' };
  const ex = tokenizeRecord(record, chatml, opts);
  assert.equal(chatml.decode(ex.inputIds), '<|im_start|>system\nMath.<|im_end|>\n<|im_start|>user\nAdd.\n\n2+2<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n');
  assert.deepEqual(trainedRuns(chatml, ex), ['4<|im_end|>\n']);
  assert.equal(instructionPrompt(chatml, 'Add.', '2+2', 'Math.'), '<|im_start|>system\nMath.<|im_end|>\n<|im_start|>user\nAdd.\n\n2+2<|im_end|>\n<|im_start|>assistant\n');
});

const twoTurns: DatasetRecord = { format: 'chat', messages: [
  { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'Bye' }, { role: 'assistant', content: 'See you.' },
] };

test('multi-turn chat, prefix-stable template: every assistant turn trained, user turns not', () => {
  const ex = tokenizeRecord(twoTurns, chatml, opts);
  assert.deepEqual(trainedRuns(chatml, ex), ['Hello!<|im_end|>\n', 'See you.<|im_end|>\n']);
});

test('multi-turn chat, real Qwen3 template (renders the last turn differently): spans still found', () => {
  const ex = tokenizeRecord(twoTurns, qwen3, opts);
  assert.equal(qwen3.decode(ex.inputIds), qwen3.applyChatTemplate(twoTurns.format === 'chat' ? twoTurns.messages : [], false));
  // The empty think block Qwen3 writes before the last reply is template (the non-thinking prompt), not a target.
  assert.deepEqual(trainedRuns(qwen3, ex), ['Hello!<|im_end|>', 'See you.<|im_end|>\n']);
});

test('real Qwen3 template: generation starts from the prompt training used, so answers do not open with an empty think block', () => {
  const record: DatasetRecord = { format: 'alpaca', instruction: 'Add.', input: '2+2', output: '4' };
  const ex = tokenizeRecord(record, qwen3, opts);
  assert.deepEqual(trainedRuns(qwen3, ex), ['4<|im_end|>\n']);
  const prompt = instructionPrompt(qwen3, 'Add.', '2+2');
  assert.equal(prompt, '<|im_start|>user\nAdd.\n\n2+2<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
  const ids = encodePrompt(qwen3, prompt);
  assert.deepEqual(ex.inputIds.slice(0, ids.length), ids);
  assert.equal(ex.labels[ids.length - 2], IGNORE_INDEX, 'the think block is not trained');
  assert.notEqual(ex.labels[ids.length - 1], IGNORE_INDEX, 'the answer is');
});

test('real Qwen3 template: a reply with reasoning keeps its think block as a target', () => {
  const record: DatasetRecord = { format: 'chat', messages: [{ role: 'user', content: '2+2?' }, { role: 'assistant', content: '<think>\nTwo and two.\n</think>\n\n4' }] };
  assert.deepEqual(trainedRuns(qwen3, tokenizeRecord(record, qwen3, opts)), ['<think>\nTwo and two.\n</think>\n\n4<|im_end|>\n']);
});

test('trainOnPrompt trains every next token', () => {
  const ex = tokenizeRecord(twoTurns, chatml, { ...opts, trainOnPrompt: true });
  assert.deepEqual(ex.labels, [...ex.inputIds.slice(1), IGNORE_INDEX]);
});

test('truncation to maxSeqLen is flagged and the last label stays -100', async () => {
  const full = tokenizeRecord(twoTurns, chatml, opts);
  const ex = tokenizeRecord(twoTurns, chatml, { ...opts, maxSeqLen: 12 });
  assert.equal(ex.truncated, true);
  assert.equal(ex.inputIds.length, 12);
  assert.deepEqual(ex.inputIds, full.inputIds.slice(0, 12));
  assert.equal(ex.labels[11], IGNORE_INDEX);
  const counted = await tokenizeRecords([{ line: 1, record: twoTurns }, { line: 2, record: { format: 'alpaca', instruction: 'a', output: 'b' } }], chatml, { ...opts, maxSeqLen: 20 });
  assert.equal(counted.truncatedCount, 1);
  assert.deepEqual(counted.examples.map((e) => e.line), [1, 2]);
  assert.equal(counted.untrainableCount, 0);
  // Cut inside the prompt: nothing left to train on, so the example is dropped and counted.
  const cut = await tokenizeRecords([{ line: 1, record: twoTurns }, { line: 2, record: twoTurns }], chatml, { ...opts, maxSeqLen: 3 });
  assert.deepEqual([cut.examples.length, cut.truncatedCount, cut.untrainableCount], [0, 2, 2]);
});

test('BOS: added once, by the post-processor or by the template, never twice', () => {
  // Llama 3 style: the post-processor prepends BOS, and the template writes {{ bos_token }} itself.
  const bos = '<|endoftext|>';
  const bosId = plain.encode(bos, false)[0];
  const postProcessor = {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
  };
  const tokenizer = { ...files.tokenizer, post_processor: postProcessor };
  const alpacaTok = createTokenizer(tokenizer, { ...configNoTemplate, bos_token: bos }, '/none');
  const a = tokenizeRecord({ format: 'alpaca', instruction: 'x', output: 'y' }, alpacaTok, opts);
  assert.equal(a.inputIds[0], bosId);
  assert.equal(a.inputIds.filter((id) => id === bosId).length, 1);
  const templTok = createTokenizer(tokenizer, { ...configNoTemplate, bos_token: bos, chat_template: '{{ bos_token }}' + CHATML }, '/none');
  const c = tokenizeRecord(twoTurns, templTok, opts);
  assert.equal(c.inputIds[0], bosId);
  assert.equal(c.inputIds.filter((id) => id === bosId).length, 1);
  // Generation encodes its prompt the way training encoded the prompt part: the same ids, one BOS.
  for (const t of [alpacaTok, templTok]) {
    const prompt = encodePrompt(t, instructionPrompt(t, 'x'));
    const trainedOn = tokenizeRecord({ format: 'alpaca', instruction: 'x', output: 'y' }, t, opts).inputIds;
    assert.deepEqual(trainedOn.slice(0, prompt.length), prompt);
    assert.equal(prompt.filter((id) => id === bosId).length, 1);
  }
});

test('add_bos_token in tokenizer_config.json adds BOS even when tokenizer.json does not', () => {
  const bos = '<|endoftext|>';
  const bosId = plain.encode(bos, false)[0];
  const tok = createTokenizer(files.tokenizer, { ...configNoTemplate, bos_token: bos, add_bos_token: true }, '/none');
  assert.deepEqual(tok.encode('hi'), [bosId, ...plain.encode('hi')]);
  assert.deepEqual(tok.encode('hi', false), plain.encode('hi'));
  const ex = tokenizeRecord({ format: 'alpaca', instruction: 'x', output: 'y' }, tok, opts);
  assert.equal(ex.inputIds.filter((id) => id === bosId).length, 1);
  assert.equal(ex.inputIds[0], bosId);
});

test('chat records without a chat template are a UserError naming the record line', async () => {
  await assert.rejects(() => tokenizeRecords([{ line: 7, record: twoTurns }], plain, opts),
    (e: unknown) => e instanceof UserError && e.message.includes('line 7') && e.message.includes('chat template'));
});
