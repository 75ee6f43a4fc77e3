// Tests of webview/training-panel/context.ts: the panel says under max_seq_len, before Start, that the length is past
// the chosen model's positions, unless its checkbox is ticked — the rule the run applies when it starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../../../native/protocol';
import { ALLOW_LONG_CONTEXT_LABEL, contextProblem } from '../../../../webview/training-panel/context';

const config = (over: Partial<RunConfig>): RunConfig => ({ ...DEFAULT_RUN_OPTIONS, model: '/m', data: '/d.jsonl', out: '/o', ...over });
const model = { maxPositions: 512 };

test('no model yet, or within its positions: no problem', () => {
  assert.equal(contextProblem(config({ max_seq_len: 100_000 }), null), undefined);
  assert.equal(contextProblem(config({ max_seq_len: 512 }), model), undefined);
});

test('past them: a problem at max_seq_len naming the positions and the checkbox; ticked, none', () => {
  const problem = contextProblem(config({ max_seq_len: 1024 }), model);
  assert.equal(problem?.field, 'max_seq_len');
  assert.match(problem?.message ?? '', new RegExp(`is past the model's 512 positions \\(max_position_embeddings\\) — lower it, or tick "${ALLOW_LONG_CONTEXT_LABEL}" if the model handles longer contexts \\(rope_scaling\\)`));
  assert.equal(contextProblem(config({ max_seq_len: 1024, allow_long_context: true }), model), undefined);
});

test('prompt/prefix tuning: the virtual tokens count (20 by default), as the run counts them', () => {
  assert.match(contextProblem(config({ method: 'prompt-tuning', max_seq_len: 500 }), model)?.message ?? '', /^with 20 virtual tokens it is past the model's 512 positions/);
  assert.equal(contextProblem(config({ method: 'prefix-tuning', num_virtual_tokens: 12, max_seq_len: 500 }), model), undefined);
  assert.equal(contextProblem(config({ max_seq_len: 500 }), model), undefined, 'LoRA has no virtual tokens');
});
