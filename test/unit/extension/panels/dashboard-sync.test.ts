// The dashboard ends up showing what the run's files say, however the socket behaves: a host that reads its worker's
// events slowly, a worker killed while the host was not reading. A real `lora-studio train` on a tiny model, a host
// that reads late and slowly, the run-folder poll the extension runs, and a model of the webview (its own reducer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isWorkerEvent, type WorkerEvent } from '../../../../native/protocol';
import { NdjsonDecoder } from '../../../../native/train/ipc';
import { readWorkerInfo, type WorkerInfo } from '../../../../native/train/run-dir';
import { DashboardSync, RESYNC_DELAY_MS } from '../../../../extension/panels/dashboard-sync';
import { workerAlive } from '../../../../extension/panels/dashboard-data';
import { readRun } from '../../../../extension/runs/run-store';
import { RUN_POLL_MS, RunFolderPoller } from '../../../../extension/runs/run-watch';
import { applyEvent, stateFromInit, type DashboardState } from '../../../../webview/dashboard/run-state';
import type { DashboardHostMessage } from '../../../../webview/protocol';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';

const root = mkdtempSync(join(tmpdir(), 'dashboard-sync-'));
const runs = join(root, 'runs');
const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 3 }).dir;
const data = join(root, 'data.jsonl');
writeFileSync(data, '{"instruction":"Say hi.","output":"hi"}\n{"instruction":"Say bye.","output":"bye"}\n');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * The design converges within one poll and one resync delay (1.5 s) of the change; the limit is generous because on
 * two loaded cores timers run late. What is checked is that it converges with no help from the socket.
 */
const CONVERGE_LIMIT_MS = 15_000;

function train(name: string, steps: number): { out: string; child: ChildProcess; exited: Promise<number | null> } {
  const out = join(runs, name);
  const child = spawn(process.execPath, ['dist/cli.js', 'train', '--model', model, '--data', data, '--out', out, '--max-steps', String(steps),
    '--batch-size', '1', '--max-seq-len', '32', '--save-every', '50', '--warmup-steps', '0', '--json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { out, child, exited: new Promise((resolve) => child.on('exit', resolve)) };
}

async function workerInfo(out: string): Promise<WorkerInfo> {
  for (;;) {
    const info = readWorkerInfo(out);
    if (info) return info;
    await sleep(50);
  }
}

/** A window: the sync object, the webview's state it drives, and the poll that tells it the files changed. */
function window(out: string) {
  const view: { state?: DashboardState; inits: number } = { inits: 0 };
  const sync = new DashboardSync(out, {
    post: (message: DashboardHostMessage) => {
      if (message.type === 'init') {
        view.state = stateFromInit(message);
        view.inits += 1;
      } else if (message.type === 'event' && view.state) applyEvent(view.state, message.event);
    },
    live: () => workerAlive(out),
  });
  const poller = new RunFolderPoller();
  poller.poll(runs);
  const timer = setInterval(() => {
    // As the extension does: a change of the list (this run appeared) is a change of every run (ctx.ts, run-changes.ts).
    const change = poller.poll(runs);
    if (change.listChanged || change.changed.includes(out)) sync.filesChanged();
  }, RUN_POLL_MS);
  sync.sendInit();
  return { view, sync, stop: () => (clearInterval(timer), sync.dispose()) };
}

/** A host that reads its socket slowly: nothing until `startReading`, then one chunk every 100 ms. */
function slowHost(socketPath: string, onEvent: (event: WorkerEvent) => void): { socket: Socket; startReading: () => void } {
  const socket = createConnection(socketPath);
  socket.pause();
  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  const decoder = new NdjsonDecoder();
  socket.on('data', (chunk: string) => {
    socket.pause();
    for (const value of decoder.push(chunk)) if (isWorkerEvent(value)) onEvent(value);
    setTimeout(() => socket.resume(), 100);
  });
  return { socket, startReading: () => socket.resume() };
}

async function until(what: string, condition: () => boolean, ms: number): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > ms) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(25);
  }
  return Date.now() - started;
}

test('a host that reads slowly still ends at the final step and state, as the Runs view does', async (t) => {
  const steps = 600;
  const { out, exited } = train('slow-host', steps);
  const win = window(out);
  const host = slowHost((await workerInfo(out)).socket, (event) => win.sync.event(event));
  let took: number;
  try {
    assert.equal(await exited, 0);
    host.startReading(); // the backlog of step events is still unread: the files are ahead of the socket
    took = await until('the dashboard shows the completed run', () => win.view.state?.state === 'completed' && win.view.state.step === steps, CONVERGE_LIMIT_MS);
    await sleep(1000); // late events from the backlog must not move it back
  } finally {
    win.stop();
    host.socket.destroy();
  }
  const summary = readRun(out);
  assert.deepEqual({ state: summary.state, step: summary.step }, { state: 'completed', step: steps }, 'the Runs view and status bar read the same');
  assert.equal(win.view.state?.state, 'completed');
  assert.equal(win.view.state?.step, steps);
  assert.deepEqual(win.view.state?.metrics.map((m) => m.step), Array.from({ length: steps }, (_, i) => i + 1), 'every step is on the chart');
  t.diagnostic(`converged ${took} ms after the worker exited (poll ${RUN_POLL_MS} ms + resync delay ${RESYNC_DELAY_MS} ms on an idle machine)`);
});

test('a worker killed while the host was not reading shows as failed, at its last step', async (t) => {
  const { out, child, exited } = train('killed', 100_000);
  const win = window(out);
  let took: number;
  try {
    await workerInfo(out);
    await until('steps on disk', () => readRun(out).step >= 5, 60_000);
    child.kill('SIGKILL');
    await exited;
    took = await until('the dashboard shows the failure', () => win.view.state?.state === 'failed', CONVERGE_LIMIT_MS);
  } finally {
    win.stop();
    child.kill('SIGKILL');
  }
  assert.equal(win.view.state?.step, readRun(out).step);
  assert.equal(readRun(out).state, 'failed');
  t.diagnostic(`converged ${took} ms after the kill`);
});

test('after `done` the files are resent, so what only they tell (AdaLoRA\'s final ranks) reaches the webview', async () => {
  const out = join(root, 'adalora-done');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'status.json'), JSON.stringify({ state: 'completed', step: 1, total_steps: 1, updated_at: '' }));
  writeFileSync(join(out, 'metrics.jsonl'), `${JSON.stringify({ step: 1, epoch: 0, loss: 1, lr: 0, grad_norm: 1, tokens: 1, tokens_per_s: 1, elapsed_s: 1, memory_mb: 1, rank_budget: 3 })}\n`);
  writeFileSync(join(out, 'adapter_config.json'), JSON.stringify({ peft_type: 'ADALORA', init_r: 2, target_r: 1, rank_pattern: { 'model.layers.0.self_attn.q_proj.lora_E': [true, false] } }));
  const posted: DashboardHostMessage[] = [];
  const sync = new DashboardSync(out, { post: (m) => posted.push(m), live: () => true });
  try {
    sync.event({ type: 'done', adapter: out, reason: 'completed', step: 1 });
    assert.deepEqual(posted.map((m) => m.type), ['event']);
    await until('the files resent', () => posted.length === 2, CONVERGE_LIMIT_MS);
    const init = posted[1];
    assert.equal(init.type, 'init');
    assert.deepEqual(init.type === 'init' ? init.ranks?.modules : undefined, [{ name: 'model.layers.0.self_attn.q_proj', rank: 1 }]);
  } finally {
    sync.dispose();
  }
});
