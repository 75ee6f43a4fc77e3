// Tests of webview/dashboard/run-state.ts: a reloaded dashboard rebuilds the same state from init; events advance it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricRecord, RunConfig } from '../../../../native/protocol';
import { WEBVIEW_PROTOCOL_VERSION, type DashboardHostMessage } from '../../../../webview/protocol';
import { applyEvent, chartTables, progressOf, stateFromInit } from '../../../../webview/dashboard/run-state';
import { lossSeries, noisySeries } from '../../../../webview/dashboard/chart-specs';

const metric = (step: number, loss: number, extra: Partial<MetricRecord> = {}): MetricRecord => ({
  step, epoch: 0, loss, lr: 1e-4, grad_norm: 1, tokens: step * 100, tokens_per_s: 50, elapsed_s: step * 2, memory_mb: 900, ...extra,
});

function init(metrics: MetricRecord[], extra: Partial<Extract<DashboardHostMessage, { type: 'init' }>> = {}): Extract<DashboardHostMessage, { type: 'init' }> {
  return { type: 'init', protocol: WEBVIEW_PROTOCOL_VERSION, runDir: '/w/.lora-studio/runs/a', name: 'a', config: null, state: 'running',
    step: 0, totalSteps: 10, metrics, evals: [], live: true, canResume: false, history: [], ...extra };
}

test('state from init: metrics, evals from records and the eval list, step from the last record', () => {
  const s = stateFromInit(init([metric(1, 3), metric(2, 2.5, { eval_loss: 2.7 }), metric(3, 2)], { evals: [{ step: 3, eval_loss: 2.4 }] }));
  assert.equal(s.metrics.length, 3);
  assert.equal(s.step, 3);
  assert.deepEqual([...s.evals.entries()], [[2, 2.7], [3, 2.4]]);
});

test('phase messages before the first step, then steps, then done', () => {
  const s = stateFromInit(init([], { state: 'pending', live: false }));
  applyEvent(s, { type: 'status', phase: 'tokenizing', message: 'tokenizing 12,345 records…' });
  assert.equal(s.message, 'tokenizing 12,345 records…');
  assert.equal(s.state, 'running');
  applyEvent(s, { type: 'step', total_steps: 10, ...metric(1, 3) });
  assert.equal(s.message, undefined, 'a phase line must not linger once steps arrive');
  applyEvent(s, { type: 'eval', step: 1, eval_loss: 3.1 });
  assert.equal(s.step, 1);
  assert.equal(s.evals.get(1), 3.1);
  applyEvent(s, { type: 'done', adapter: '/a', reason: 'stopped', step: 1 });
  assert.equal(s.state, 'stopped');
  assert.equal(s.canResume, true);
  assert.equal(s.live, false);
  applyEvent(s, { type: 'error', message: 'boom' });
  assert.equal(s.state, 'failed');
});

test('a resumed run drops the steps it will redo, so the curve never folds back', () => {
  const s = stateFromInit(init([1, 2, 3, 4, 5].map((i) => metric(i, 5 - i)), { evals: [{ step: 4, eval_loss: 1 }] }));
  applyEvent(s, { type: 'start', protocol: 1, run_dir: s.runDir, total_steps: 10, resumed_from_step: 3, config: {} as RunConfig, pid: 1 });
  assert.deepEqual(s.metrics.map((m) => m.step), [1, 2, 3]);
  assert.equal(s.evals.has(4), false);
  applyEvent(s, { type: 'step', total_steps: 10, ...metric(4, 0.5) });
  applyEvent(s, { type: 'step', total_steps: 10, ...metric(4, 0.4) }); // duplicate step replaces
  assert.deepEqual(s.metrics.map((m) => [m.step, m.loss]), [[1, 4], [2, 3], [3, 2], [4, 0.4]]);
});

test('progress and ETA from the pace of the steps so far', () => {
  const s = stateFromInit(init([metric(1, 3), metric(3, 2)], { totalSteps: 13 }));
  const p = progressOf(s);
  assert.equal(p.fraction, 3 / 13);
  assert.equal(p.elapsedS, 6);
  assert.equal(p.etaS, 2 * 10); // 2 s per step, 10 steps left
  assert.equal(progressOf({ ...s, live: false }).etaS, undefined);
});

test('the ETA leaves out the first step\'s compile and the warm-up steps', () => {
  // Step 1 ends at 40 s (session creation and compiling), steps 2–4 take 3 s, the rest 1 s: 1 s a step from step 4 on.
  const ends = [40, 43, 46, 49, 50, 51, 52, 53, 54, 55].map((elapsed_s, i) => metric(i + 1, 1, { elapsed_s }));
  const s = stateFromInit(init(ends, { totalSteps: 1000 }));
  assert.equal(progressOf(s).etaS, 990);
  assert.equal(progressOf(stateFromInit(init(ends.slice(0, 1), { totalSteps: 1000 }))).etaS, undefined, 'no rate from one step');
});

test('chart tables: short runs keep every point, eval points align by step, overlays add a column', () => {
  const s = stateFromInit(init([metric(1, 3), metric(2, 2), metric(3, 1)], { evals: [{ step: 2, eval_loss: 2.2 }] }));
  s.overlays.set('/b', { run: { runDir: '/b', name: 'b' }, metrics: [metric(1, 4), metric(4, 3)] });
  const t = chartTables(s, 500, 0);
  // No smoothing: no smoothed column (the raw loss is the line to read).
  assert.equal(t.loss.length, 4);
  assert.deepEqual(t.loss[0], [1, 2, 3, 4]);
  assert.deepEqual(t.loss[1], [3, 2, 1, null]);
  assert.deepEqual(t.loss[2], [null, 2.2, null, null]);
  assert.deepEqual(t.loss[3], [4, null, null, 3]);
  assert.deepEqual(t.overlayNames, ['b']);
  assert.deepEqual(t.lr[0], [1, 2, 3]);
  assert.equal(t.gradNorm.length, 2);
});

test('chart tables with smoothing: a smoothed column after each noisy raw one, in the order of the chart specs', () => {
  const s = stateFromInit(init([metric(1, 3, { grad_norm: 2 }), metric(2, 1, { grad_norm: 4 })], { evals: [{ step: 2, eval_loss: 2.2 }] }));
  s.overlays.set('/b', { run: { runDir: '/b', name: 'b' }, metrics: [metric(1, 4)] });
  const t = chartTables(s, 500, 0.5);
  const palette = { blue: 'b', orange: 'o', green: 'g', red: 'r', purple: 'p', yellow: 'y', overlays: ['p'] };
  assert.equal(t.loss.length - 1, lossSeries(palette, 0.5, t.overlayNames).length);
  assert.equal(t.gradNorm.length - 1, noisySeries('grad norm', 'r', 0.5).length);
  assert.equal(t.tokensPerS.length - 1, noisySeries('tokens/s', 'p', 0.5).length);
  assert.deepEqual(t.loss[1], [3, 1]);
  // Debiased EMA at weight 0.5: 3, then (0.5·1.5 + 0.5·1) / 0.75.
  assert.deepEqual(t.loss[2], [3, (0.75 + 0.5) / 0.75]);
  assert.deepEqual(t.loss[3], [null, 2.2]);
  assert.deepEqual(t.loss[4], [4, null]);
  assert.deepEqual(t.gradNorm, [[1, 2], [2, 4], [2, (1 * 0.5 + 2) / 0.75]]);
  assert.equal(t.lr.length, 2);
  assert.equal(t.memoryMb.length, 2);
});

test('chart tables of a 30,000-step run stay small', () => {
  const metrics = Array.from({ length: 30_000 }, (_, i) => metric(i + 1, 3 / (1 + i / 1000)));
  const started = performance.now();
  const t = chartTables(stateFromInit(init(metrics, { totalSteps: 30_000 })), 1000, 0.6, 300);
  assert.ok(t.loss[0].length <= 2002, `${t.loss[0].length}`);
  assert.ok(t.tokensPerS[0].length <= 602, `${t.tokensPerS[0].length}`);
  assert.ok(performance.now() - started < 1000);
});

test('the rank budget chart exists only for runs whose records carry rank_budget (AdaLoRA)', () => {
  const lora = stateFromInit(init([metric(1, 3), metric(2, 2)]));
  assert.equal(chartTables(lora, 100, 0).rankBudget, undefined);
  const ada = stateFromInit(init([metric(1, 3, { rank_budget: 96 }), metric(2, 2, { rank_budget: 80 }), metric(3, 2, { rank_budget: 64 })]));
  assert.deepEqual(chartTables(ada, 100, 0.9).rankBudget, [[1, 2, 3], [96, 80, 64]], 'one raw column: the budget is not smoothed');
  applyEvent(lora, { type: 'step', total_steps: 10, ...metric(3, 2, { rank_budget: 8 }) });
  assert.deepEqual(chartTables(lora, 100, 0).rankBudget, [[1, 2, 3], [null, null, 8]]);
});

test('the final ranks come with init and stay through live events', () => {
  const ranks = { initR: 4, targetR: 2, modules: [{ name: 'model.layers.0.self_attn.q_proj', rank: 3 }] };
  const s = stateFromInit(init([metric(1, 3, { rank_budget: 4 })], { ranks }));
  assert.deepEqual(s.ranks, ranks);
  applyEvent(s, { type: 'step', total_steps: 10, ...metric(2, 2, { rank_budget: 3 }) });
  assert.deepEqual(s.ranks, ranks);
  assert.equal(stateFromInit(init([])).ranks, undefined);
});
