// Tests extension/panels/compare-methods-session.ts and its messages in webview/protocol.ts: the questions of Compare
// Methods… (what the training panel gives is not asked again, a cancel anywhere runs nothing), the CLI arguments, and
// the session turning `compare-methods --json` lines into the view's messages — the curve read from the run folder,
// everything replayed to a view that (re)loads, Cancel only while running, Dashboard only for this comparison's runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { askComparison, compareMethodsArgs, comparisonOut, CompareMethodsSession, lossCurve, stepsProblem, type CompareMethodsRequest, type CompareMethodsUi, type MethodChoice } from '../../../../extension/panels/compare-methods-session';
import { isCompareMethodsHostMessage, isCompareMethodsWebviewMessage, isTrainingWebviewMessage, type CompareMethodsHostMessage } from '../../../../webview/protocol';

function scripted(answers: { model?: string; data?: string; methods?: string[]; steps?: number }): CompareMethodsUi & { asked: string[]; offered: MethodChoice[] } {
  const asked: string[] = [];
  const offered: MethodChoice[] = [];
  return {
    asked, offered,
    async model() { asked.push('model'); return answers.model; },
    async data() { asked.push('data'); return answers.data; },
    async methods(choices) { asked.push('methods'); offered.push(...choices); return answers.methods; },
    async steps(suggested) { asked.push(`steps ${suggested}`); return answers.steps; },
  };
}

const known = ['lora', 'adalora', 'dora', 'qlora', 'pissa', 'relora'];
const out = (model: string) => `/ws/.lora-studio/compare/x_${model.split('/').at(-1)}`;

test('from the training panel: model, data and eval data are not asked again; methods offered with labels, LoRA and DoRA picked', async () => {
  const ui = scripted({ methods: ['lora', 'adalora'], steps: 12 });
  const request = await askComparison({ model: '/m/qwen', data: '/d.jsonl', evalData: '/e.jsonl', seqLen: 64 }, known, ui, out);
  assert.deepEqual(ui.asked, ['methods', 'steps 20']);
  assert.deepEqual(ui.offered.filter((c) => c.picked).map((c) => c.method), ['lora', 'dora']);
  assert.equal(ui.offered.find((c) => c.method === 'qlora')?.label, 'QLoRA (NF4 base)');
  assert.deepEqual(request, { model: '/m/qwen', data: '/d.jsonl', evalData: '/e.jsonl', methods: ['lora', 'adalora'], steps: 12, seqLen: 64, out: '/ws/.lora-studio/compare/x_qwen' });
  assert.deepEqual(compareMethodsArgs('/ext/dist/cli.js', request!), ['/ext/dist/cli.js', 'compare-methods', '--model', '/m/qwen', '--data', '/d.jsonl', '--eval-data', '/e.jsonl',
    '--methods', 'lora,adalora', '--steps', '12', '--seq-len', '64', '--out', '/ws/.lora-studio/compare/x_qwen', '--json']);
});

test('the training panel\'s "past the model\'s positions" reaches compare-methods as --allow-long-context', async () => {
  const request = await askComparison({ model: '/m/qwen', data: '/d.jsonl', seqLen: 65536, allowLongContext: true }, known, scripted({ methods: ['lora'], steps: 4 }), out);
  assert.equal(request?.allowLongContext, true);
  const args = compareMethodsArgs('/ext/dist/cli.js', request!);
  assert.deepEqual(args.slice(args.indexOf('--seq-len'), args.indexOf('--out')), ['--seq-len', '65536', '--allow-long-context']);
});

test('from the palette everything is asked; a cancel at any question (or no method picked) runs nothing', async () => {
  const full = scripted({ model: '/m', data: '/d.jsonl', methods: ['lora'], steps: 5 });
  assert.equal((await askComparison({}, known, full, out))?.steps, 5);
  assert.deepEqual(full.asked, ['model', 'data', 'methods', 'steps 20']);
  for (const answers of [{}, { model: '/m' }, { model: '/m', data: '/d' }, { model: '/m', data: '/d', methods: [] }, { model: '/m', data: '/d', methods: ['lora'] }]) {
    assert.equal(await askComparison({}, known, scripted(answers), out), undefined, JSON.stringify(answers));
  }
  assert.equal(stepsProblem('20'), undefined);
  for (const bad of ['', '1', '2.5', 'x', '-3']) assert.ok(stepsProblem(bad), bad);
  assert.equal(comparisonOut('/ws/.lora-studio/runs', 'id'), '/ws/.lora-studio/compare/id');
});

const request: CompareMethodsRequest = { model: '/m', data: '/d.jsonl', methods: ['lora', 'dora'], steps: 3, out: '/c' };
const result = (method: string) => JSON.stringify({ type: 'result', method, label: method.toUpperCase(), status: 'completed', trainable_params: 10, trainable_percent: 1, output_bytes: 5,
  peak_rss_bytes: 1e8, median_step_ms: 20, tokens_per_s: 100, final_train_loss: 1, final_eval_loss: 1.2, steps: 3, run_dir: `/c/${method}` });

test('the session: the CLI lines become the view\'s messages, each result with the curve of its run folder; a reload gets them again', () => {
  const posted: CompareMethodsHostMessage[] = [];
  const session = new CompareMethodsSession(request, (m) => posted.push(m), (runDir) => ({ steps: [1, 2, 3], losses: runDir === '/c/lora' ? [3, 2, 1] : [3, 2.5, 2] }));
  assert.equal(session.line('{"type":"method","method":"lora","label":"LoRA","index":0,"count":2,"run_dir":"/c/lora"}')?.type, 'method');
  session.line('{"type":"progress","method":"lora","step":1,"total_steps":3,"loss":3}');
  assert.equal(session.line('lora-studio: some log line'), undefined);
  session.line(result('lora'));
  session.line('{"type":"summary","methods":["lora","dora"],"completed":["lora"],"stopped":true,"best_eval_loss":null,"smallest_output":null,"fastest":null,"out":"/c"}');
  session.ended('stopped', 'Cancelled');
  assert.deepEqual(posted.map((m) => m.type), ['init', 'method', 'progress', 'result', 'summary', 'ended']);
  assert.ok(posted.every(isCompareMethodsHostMessage), 'every message passes the view\'s guard');
  assert.deepEqual((posted[3] as Extract<CompareMethodsHostMessage, { type: 'result' }>).curve, { steps: [1, 2, 3], losses: [3, 2, 1] });
  const init = posted[0] as Extract<CompareMethodsHostMessage, { type: 'init' }>;
  assert.deepEqual(init.methods.map((m) => m.label), ['LoRA', 'DoRA']);

  const replay: string[] = [];
  const actions = { cancel: () => replay.push('cancel'), openRun: (dir: string) => replay.push(`open ${dir}`) };
  posted.length = 0;
  session.receive({ type: 'ready' }, actions);
  assert.deepEqual(posted.map((m) => m.type), ['init', 'method', 'result', 'summary', 'ended'], 'the live steps are not replayed: the result\'s curve has them');
  session.receive({ type: 'openRun', runDir: '/c/lora' }, actions);
  session.receive({ type: 'openRun', runDir: '/etc' }, actions);
  session.receive({ type: 'cancel' }, actions);
  assert.deepEqual(replay, ['open /c/lora'], 'only this comparison\'s runs open; Cancel after the end does nothing');
});

test('Cancel while running reaches the action; a run folder\'s curve is its metrics.jsonl', () => {
  const session = new CompareMethodsSession(request, () => undefined);
  let cancelled = 0;
  session.receive({ type: 'cancel' }, { cancel: () => cancelled++, openRun: () => undefined });
  assert.equal(cancelled, 1);
  const dir = mkdtempSync(join(tmpdir(), 'compare-curve-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'metrics.jsonl'), [1, 2].map((step) => JSON.stringify({ step, loss: 4 - step, elapsed_s: step })).join('\n') + '\n{"step": 3, "lo');
  assert.deepEqual(lossCurve(dir), { steps: [1, 2], losses: [3, 2] });
});

test('guards: the view\'s and the training panel\'s compare messages', () => {
  for (const ok of [{ type: 'ready' }, { type: 'cancel' }, { type: 'openRun', runDir: '/c/lora' }]) assert.ok(isCompareMethodsWebviewMessage(ok), JSON.stringify(ok));
  for (const bad of [null, { type: 'openRun' }, { type: 'openRun', runDir: '' }, { type: 'run' }]) assert.equal(isCompareMethodsWebviewMessage(bad), false, JSON.stringify(bad));
  assert.ok(isTrainingWebviewMessage({ type: 'compareMethods', values: { model: '/m' } }));
  assert.equal(isTrainingWebviewMessage({ type: 'compareMethods' }), false);
  for (const bad of [{ type: 'init', protocol: 0, methods: [], steps: 2 }, { type: 'result', result: { type: 'result', method: 'lora' }, curve: { steps: [1], losses: [] } },
    { type: 'progress', method: 'lora', step: -1, totalSteps: 2, loss: 1 }, { type: 'ended', outcome: 'maybe', message: '' }, { type: 'token' }]) {
    assert.equal(isCompareMethodsHostMessage(bad), false, JSON.stringify(bad));
  }
});
