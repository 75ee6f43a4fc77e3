// Tests webview/compare-methods/state.ts: the view's state through a comparison's messages, and the chart's table
// (a loss column per method over the union of their steps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WEBVIEW_PROTOCOL_VERSION, type CompareMethodsHostMessage } from '../../../../webview/protocol';
import { chartTable, emptyState, reduce } from '../../../../webview/compare-methods/state';
import type { CompareResult } from '../../../../native/train/compare-events';

const row = (method: string, steps: number): CompareResult => ({ type: 'result', method, label: `${method} (final)`, status: 'completed', trainable_params: 1, trainable_percent: 1,
  output_bytes: 1, peak_rss_bytes: 1, median_step_ms: 1, tokens_per_s: 1, final_train_loss: 1, final_eval_loss: 1, steps, run_dir: `/c/${method}` });

test('pending, running with a live curve, done with the run folder\'s curve; a new init starts over', () => {
  const messages: CompareMethodsHostMessage[] = [
    { type: 'init', protocol: WEBVIEW_PROTOCOL_VERSION, methods: [{ method: 'lora', label: 'LoRA' }, { method: 'dora', label: 'DoRA' }], steps: 3, model: '/m', data: '/d', out: '/c' },
    { type: 'method', method: 'lora', runDir: '/c/lora' },
    { type: 'progress', method: 'lora', step: 1, totalSteps: 3, loss: 3 },
    { type: 'progress', method: 'lora', step: 1, totalSteps: 3, loss: 3 },
    { type: 'progress', method: 'lora', step: 2, totalSteps: 3, loss: 2 },
    { type: 'progress', method: 'dora', step: 1, totalSteps: 3, loss: 9 },
  ];
  let state = messages.reduce(reduce, emptyState());
  assert.deepEqual(state.methods.map((m) => [m.method, m.phase, m.step]), [['lora', 'running', 2], ['dora', 'pending', 0]]);
  assert.deepEqual(state.methods[0].curve, { steps: [1, 2], losses: [3, 2] }, 'a repeated step is not drawn twice; a pending method gets no steps');
  state = reduce(state, { type: 'result', result: row('lora', 3), curve: { steps: [1, 2, 3], losses: [3, 2, 1.5] } });
  assert.deepEqual([state.methods[0].phase, state.methods[0].label, state.methods[0].curve.losses], ['done', 'lora (final)', [3, 2, 1.5]]);
  state = reduce(state, { type: 'ended', outcome: 'stopped', message: 'Cancelled' });
  assert.equal(state.ended?.outcome, 'stopped');
  state = reduce(state, messages[0]);
  assert.deepEqual([state.methods[0].phase, state.ended], ['pending', undefined]);
});

test('chart table: the union of the steps, each method\'s loss where it has one', () => {
  const state = [
    { type: 'init', protocol: WEBVIEW_PROTOCOL_VERSION, methods: [{ method: 'a', label: 'A' }, { method: 'b', label: 'B' }, { method: 'c', label: 'C' }], steps: 3, model: '', data: '', out: '' },
    { type: 'result', result: row('a', 3), curve: { steps: [1, 2, 3], losses: [3, 2, 1] } },
    { type: 'result', result: row('b', 4), curve: { steps: [2, 4], losses: [5, 4] } },
  ].reduce((s, m) => reduce(s, m as CompareMethodsHostMessage), emptyState());
  assert.deepEqual(chartTable(state.methods), [[1, 2, 3, 4], [3, 2, 1, null], [null, 5, null, 4], [null, null, null, null]]);
});
