// The training pipeline end to end on tiny real-architecture models: the run folder, the PEFT adapter, loss going
// down, resume reproducing an uninterrupted run, SIGTERM or a window's stop saving a checkpoint, and located errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORKER_PROTOCOL_VERSION, type WorkerEvent } from '../../../../native/protocol';
import { readMetrics, readRunConfig, readRunStatus, readWorkerInfo, type WorkerInfo } from '../../../../native/train/run-dir';
import { connectRunSocket } from '../../../../native/train/ipc';
import { openSafetensors } from '../../../../native/model/safetensors';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { runFixture } from './run-fixture';

const { root, model, data, newRun, trainEvents: train } = runFixture('run-', { r: 8, lora_alpha: 16, lora_dropout: 0.1 });

test('a run on a few records drives the loss down by more than 90% and leaves a PEFT adapter', async () => {
  // Cosine decay: at this learning rate a constant schedule leaves the last steps' losses bouncing (0.02–2), so the check
  // would measure the noise of where the run stopped rather than what it learned.
  const run = newRun('learn', { max_steps: 80, lora_dropout: 0, lr_scheduler_type: 'cosine', r: 16, lora_alpha: 32 });
  const { outcome, events } = await train(run);
  assert.equal(outcome, 'completed');
  const metrics = readMetrics(run);
  assert.equal(metrics.length, 80);
  const first = metrics[0].loss, last = metrics.slice(-5).reduce((s, m) => s + m.loss, 0) / 5;
  assert.ok(last < 0.1 * first, `loss ${first} → ${last}`);
  // Feedback before the first step, in order (repeated phases collapsed): the user never waits in silence.
  const phases = events.filter((e) => e.type === 'status').map((e) => (e.type === 'status' ? e.phase : ''));
  assert.deepEqual(phases.filter((p, i) => p !== phases[i - 1]).slice(0, 4), ['loading-model', 'tokenizing', 'compiling', 'training']);
  const messages = events.map((e) => (e.type === 'status' ? e.message : ''));
  const records = readFileSync(readRunConfig(run)!.data, 'utf8').split('\n').filter((line) => line.trim() !== '').length;
  assert.ok(messages.includes(`tokenizing ${records} records…`), `no record count among: ${messages.join(' | ')}`);
  const config = JSON.parse(readFileSync(join(run, 'adapter_config.json'), 'utf8'));
  assert.equal(config.peft_type, 'LORA');
  assert.equal(config.r, 16);
  assert.deepEqual(config.target_modules, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
  const weights = openSafetensors(join(run, 'adapter_model.safetensors'));
  assert.equal(weights.entries.size, 2 * 7 * 2);
  assert.deepEqual(weights.entries.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')?.shape, [16, 64]);
  assert.equal(weights.metadata.format, 'pt');
});

test('stopping saves a checkpoint; resuming from it reproduces the uninterrupted losses exactly', async () => {
  const options = { max_steps: 12, save_every: 4, seed: 11 };
  const whole = newRun('whole', options);
  await train(whole);
  const parted = newRun('parted', options);
  const first = await train(parted, 6);
  assert.equal(first.outcome, 'stopped');
  assert.equal(readMetrics(parted).length, 6);
  const second = await train(parted);
  assert.equal(second.outcome, 'completed');
  const start = second.events.find((e) => e.type === 'start');
  assert.equal(start?.type === 'start' && start.resumed_from_step, 6);
  assert.equal(start?.type === 'start' && start.protocol, WORKER_PROTOCOL_VERSION);
  assert.deepEqual(readMetrics(parted).map((m) => m.loss), readMetrics(whole).map((m) => m.loss));
});

test('SIGTERM to `lora-studio train` saves a checkpoint, marks the run stopped and exits cleanly', async () => {
  const out = join(root, 'sigterm');
  const child = spawn(process.execPath, ['dist/cli.js', 'train', '--model', model, '--data', data, '--out', out, '--max-steps', '100000', '--save-every', '0', '--json', '--batch-size', '2', '--max-seq-len', '64'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/"type":"step","total_steps":100000,"step":3,/.test(stdout)) resolve();
    });
  });
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0);
  const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as WorkerEvent);
  const done = lines[lines.length - 1];
  assert.equal(done.type, 'done');
  assert.equal(done.type === 'done' && done.reason, 'stopped');
  assert.equal(readRunStatus(out)?.state, 'stopped');
  assert.ok(existsSync(join(out, 'checkpoints', 'latest')));
  assert.ok(existsSync(join(out, 'adapter_config.json')));
});

test('`lora-studio train` in a terminal owns its run like the worker: worker.json and a socket a window attaches to and stops it through', async () => {
  const out = join(root, 'cli-owned');
  const child = spawn(process.execPath, ['dist/cli.js', 'train', '--model', model, '--data', data, '--out', out, '--max-steps', '100000', '--save-every', '0', '--batch-size', '2', '--max-seq-len', '64'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const info = await new Promise<WorkerInfo>((resolve, reject) => {
    const timer = setInterval(() => {
      const found = readWorkerInfo(out);
      if (found) {
        clearInterval(timer);
        resolve(found);
      }
    }, 50);
    void exited.then((code) => reject(new Error(`the CLI exited (${code}) before writing worker.json`)));
  });
  assert.equal(info.pid, child.pid);
  assert.equal(info.protocol, WORKER_PROTOCOL_VERSION, 'worker.json says the protocol, so a window of another version does not attach');
  // What the extension does: attach, see steps, ask it to stop.
  const events: WorkerEvent[] = [];
  const client = await connectRunSocket(info.socket, { onEvent: (event) => events.push(event) });
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (events.some((e) => e.type === 'step')) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
  });
  client.send({ type: 'stop' });
  assert.equal(await exited, 0);
  assert.equal(events[events.length - 1]?.type, 'done');
  assert.equal(readRunStatus(out)?.state, 'stopped');
  assert.ok(existsSync(join(out, 'checkpoints', 'latest')), 'the stop saved a checkpoint');
  assert.equal(readWorkerInfo(out), undefined, 'worker.json outlived the process');
});

test('a target module the model lacks is refused with the valid names', async () => {
  const run = newRun('bad-target', { target_modules: ['q_proj', 'c_attn'] });
  await assert.rejects(train(run), /"c_attn" not in this Qwen2ForCausalLM — choose from: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/);
});

test('QLoRA on the sample dataset: 200 steps on the NF4 base lower the loss as much as on the stored weights (within 5%)', async () => {
  const cache = join(root, 'nf4-cache');
  process.env.LORA_STUDIO_CACHE = cache;
  try {
    const sample = join(import.meta.dirname, '..', '..', '..', '..', 'media', 'sample-data', 'instructions.jsonl');
    const bf16 = makeTinyModel(join(root, 'model-bf16'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'bfloat16', seed: 5, std: 0.3 }).dir;
    const options = { model: bf16, data: sample, max_steps: 200, lora_dropout: 0, lr_scheduler_type: 'cosine' as const, r: 16, lora_alpha: 32, micro_batch_size: 4, max_seq_len: 96, seed: 2, learning_rate: 1e-3, warmup_steps: 20 };
    const outcomes: Record<string, { first: number; loss: number; tokensPerS: number; events: WorkerEvent[] }> = {};
    for (const quantization of ['none', 'nf4'] as const) {
      const run = newRun(`qlora-${quantization}`, { ...options, quantization });
      const { outcome, events } = await train(run);
      assert.equal(outcome, 'completed');
      const metrics = readMetrics(run);
      assert.equal(metrics.length, 200);
      const tail = metrics.slice(-20);
      const mean = (records: typeof metrics) => records.reduce((s, m) => s + m.loss, 0) / records.length;
      outcomes[quantization] = { first: mean(metrics.slice(0, 5)), loss: mean(tail), tokensPerS: tail.reduce((s, m) => s + m.tokens_per_s, 0) / tail.length, events };
      assert.equal(readRunConfig(run)?.quantization, quantization);
    }
    const { none, nf4 } = outcomes;
    console.log(`# sample dataset, tiny Qwen2, 200 steps: loss (first 5 → last 20) ${none.first.toFixed(4)} → ${none.loss.toFixed(4)} stored vs ` +
      `${nf4.first.toFixed(4)} → ${nf4.loss.toFixed(4)} NF4; ${none.tokensPerS.toFixed(0)} vs ${nf4.tokensPerS.toFixed(0)} tokens/s`);
    // QLoRA's claim is that fine-tuning on the 4-bit base does as well as on the 16-bit one. This tiny random model's
    // base is sharp (std 0.3), so quantizing it moves the starting loss itself (by ~4%); what training achieves is
    // the drop, and that must match. At the default 3e-4 with 100 warm-up steps the runs were still mid-descent at
    // step 200, where the two trajectories part by chance (drops 6.32 vs 6.90 on the Spanish phrases); at 1e-3 both
    // get well down (10.05 → 3.94 vs 10.08 → 4.00; seed 3: 5.91 vs 5.91).
    const drop = { none: none.first - none.loss, nf4: nf4.first - nf4.loss };
    assert.ok(drop.none > 0.3 * none.first, `the stored run learns (${none.first} → ${none.loss})`);
    assert.ok(Math.abs(drop.nf4 - drop.none) <= 0.05 * drop.none, `loss drop NF4 ${drop.nf4} vs stored ${drop.none}`);
    assert.ok(Math.abs(nf4.loss - none.loss) <= 0.1 * none.loss, `NF4 ends at ${nf4.loss} vs stored ${none.loss}`);
    // The run said what it did with the cache.
    const said = nf4.events.filter((e) => e.type === 'status' && e.phase === 'quantizing').map((e) => (e as { message: string }).message);
    assert.ok(said.some((m) => /quantized the base to NF4 \(.*GB\) into /.test(m)), said.join(' | '));
  } finally {
    delete process.env.LORA_STUDIO_CACHE;
  }
});
