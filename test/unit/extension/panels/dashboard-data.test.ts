// Tests of extension/panels/dashboard-data.ts on run folders built by the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dashboardInit, finalRanks, siblingRuns, workerAlive } from '../../../../extension/panels/dashboard-data';
import { isDashboardHostMessage } from '../../../../webview/protocol';

const root = mkdtempSync(join(tmpdir(), 'lora-runs-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const line = (step: number, loss: number, extra = {}) => JSON.stringify({ step, epoch: 0, loss, lr: 1e-4, grad_norm: 1, tokens: 0, tokens_per_s: 1, elapsed_s: step, memory_mb: 1, ...extra });

function run(name: string, opts: { status?: object; metrics?: string[]; checkpoint?: number; worker?: object }): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  if (opts.status) writeFileSync(join(dir, 'status.json'), JSON.stringify({ updated_at: '', ...opts.status }));
  if (opts.metrics) writeFileSync(join(dir, 'metrics.jsonl'), opts.metrics.join('\n'));
  if (opts.checkpoint !== undefined) {
    mkdirSync(join(dir, 'checkpoints', `step-${opts.checkpoint}`), { recursive: true });
    writeFileSync(join(dir, 'checkpoints', `step-${opts.checkpoint}`, 'trainer_state.json'), '{}');
  }
  if (opts.worker) writeFileSync(join(dir, 'worker.json'), JSON.stringify(opts.worker));
  return dir;
}

test('a finished run: metrics (torn last line ignored), eval points, state from status.json', () => {
  const dir = run('done', { status: { state: 'completed', step: 3, total_steps: 3 }, metrics: [line(1, 3), line(2, 2, { eval_loss: 2.5 }), line(3, 1), '{"step": 4, "lo'] });
  const init = dashboardInit(dir, false, []);
  assert.equal(init.state, 'completed');
  assert.deepEqual(init.metrics.map((m) => m.step), [1, 2, 3]);
  assert.deepEqual(init.evals, [{ step: 2, eval_loss: 2.5 }]);
  assert.equal(init.totalSteps, 3);
  assert.equal(init.canResume, false);
  assert.equal(init.name, 'done');
});

test('"running" without a live worker is shown as failed and resumable from its checkpoint', () => {
  const dir = run('crashed', { status: { state: 'running', step: 5, total_steps: 10 }, metrics: [line(5, 1)], checkpoint: 4 });
  const init = dashboardInit(dir, false, []);
  assert.equal(init.state, 'failed');
  assert.match(init.message ?? '', /stopped without recording why — last step 5; resume continues from the checkpoint at step 4/);
  assert.equal(init.canResume, true);
  assert.equal(dashboardInit(dir, true, []).state, 'running');
  assert.equal(dashboardInit(dir, true, []).canResume, false);
});

test('a brand-new run folder with nothing yet is pending', () => {
  const init = dashboardInit(run('fresh', {}), false, []);
  assert.equal(init.state, 'pending');
  assert.deepEqual(init.metrics, []);
});

test('sibling runs with metrics, newest first, excluding this one', () => {
  const a = run('old', { metrics: [line(1, 1)] });
  const b = run('new', { metrics: [line(1, 1)] });
  utimesSync(join(a, 'metrics.jsonl'), new Date(1000), new Date(1000));
  const refs = siblingRuns(b).map((r) => r.name);
  assert.equal(refs.includes('new'), false);
  assert.equal(refs.includes('fresh'), false, 'no metrics → not offered');
  assert.equal(refs[refs.length - 1], 'old');
});

test('workerAlive: our own pid is alive, a missing worker.json is not', () => {
  assert.equal(workerAlive(run('live', { worker: { pid: process.pid, socket: '', started_at: '' } })), true);
  assert.equal(workerAlive(run('nobody', {})), false);
});

/** adapter_config.json of an AdaLoRA run, as native/model/adalora-io.ts writes it (rank_pattern: kept flags per module). */
function adaloraConfig(pattern: Record<string, unknown> | null, extra: object = {}): string {
  return JSON.stringify({ peft_type: 'ADALORA', r: 8, lora_alpha: 16, init_r: 4, target_r: 2, tinit: 0, tfinal: 0, deltaT: 1, rank_pattern: pattern, ...extra });
}

test('an AdaLoRA run: the host reads rank_pattern into the final rank per module, in layer order', () => {
  const dir = run('adalora', { status: { state: 'completed', step: 2, total_steps: 2 }, metrics: [line(1, 2, { rank_budget: 16 }), line(2, 1, { rank_budget: 8 })] });
  writeFileSync(join(dir, 'adapter_config.json'), adaloraConfig({
    'model.layers.10.self_attn.q_proj.lora_E': [true, false, false, false],
    'model.layers.2.self_attn.q_proj.lora_E': [true, true, true, false],
    'model.layers.2.mlp.down_proj.lora_E': [false, false, false, false],
  }));
  assert.deepEqual(finalRanks(dir), {
    initR: 4, targetR: 2,
    modules: [
      { name: 'model.layers.2.mlp.down_proj', rank: 0 },
      { name: 'model.layers.2.self_attn.q_proj', rank: 3 },
      { name: 'model.layers.10.self_attn.q_proj', rank: 1 },
    ],
  });
  const init = dashboardInit(dir, false, []);
  assert.equal(init.ranks?.modules.length, 3);
  assert.ok(isDashboardHostMessage(init), 'the init with ranks passes the webview guard');
  assert.deepEqual(init.metrics.map((m) => m.rank_budget), [16, 8]);
});

test('PEFT-written keys (base_model.model. prefix, adapter name) name the same modules', () => {
  const dir = run('adalora-peft', { metrics: [line(1, 1)] });
  writeFileSync(join(dir, 'adapter_config.json'), adaloraConfig({ 'base_model.model.model.layers.0.self_attn.v_proj.lora_E.default': [true, false, true, false] }));
  assert.deepEqual(finalRanks(dir)?.modules, [{ name: 'model.layers.0.self_attn.v_proj', rank: 2 }]);
});

test('no ranks for LoRA adapters, AdaLoRA before its first allocation, a missing or torn config', () => {
  const lora = run('lora-adapter', { metrics: [line(1, 1)] });
  writeFileSync(join(lora, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 8, rank_pattern: {} }));
  assert.equal(finalRanks(lora), undefined);
  assert.equal('ranks' in dashboardInit(lora, false, []), false, 'other methods send no ranks field');
  const early = run('adalora-early', { metrics: [line(1, 1)] });
  writeFileSync(join(early, 'adapter_config.json'), adaloraConfig(null));
  assert.equal(finalRanks(early), undefined);
  assert.equal(finalRanks(run('no-adapter', { metrics: [line(1, 1)] })), undefined);
  const torn = run('torn', { metrics: [line(1, 1)] });
  writeFileSync(join(torn, 'adapter_config.json'), '{"peft_type": "ADA');
  assert.equal(finalRanks(torn), undefined);
});
