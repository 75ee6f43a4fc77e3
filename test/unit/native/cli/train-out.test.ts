// `train --out` never overwrites what the user had; a run folder is trained by one process at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMetrics, readWorkerInfo } from '../../../../native/train/run-dir';
import { ensurePrivateSocketFolder, runSocketPath, socketFolder } from '../../../../native/train/ipc';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';

const root = mkdtempSync(join(tmpdir(), 'train-out-'));
const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 3 }).dir;
const data = join(root, 'data.jsonl');
writeFileSync(data, '{"instruction":"Say hi.","output":"hi"}\n{"instruction":"Say bye.","output":"bye"}\n');
const args = (out: string, steps = 2) => ['dist/cli.js', 'train', '--model', model, '--data', data, '--out', out, '--max-steps', String(steps), '--batch-size', '2', '--max-seq-len', '32', '--save-every', '0'];
const train = (out: string, steps = 2) => spawnSync(process.execPath, args(out, steps), { encoding: 'utf8', timeout: 300_000 });

test('an adapter folder, or any non-empty folder that is not a run, is refused and left as it was', () => {
  const out = join(root, 'someones-adapter');
  mkdirSync(out);
  writeFileSync(join(out, 'adapter_config.json'), '{"peft_type":"LORA"}');
  writeFileSync(join(out, 'adapter_model.safetensors'), 'precious');
  const result = train(out);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /is not empty and is not a run folder \(it holds adapter_config\.json, adapter_model\.safetensors\)/);
  assert.equal(readFileSync(join(out, 'adapter_model.safetensors'), 'utf8'), 'precious');
});

test('a finished run whose checkpoints were removed is refused; a run that never trained a step starts again', () => {
  const out = join(root, 'finished');
  assert.equal(train(out).status, 0);
  rmSync(join(out, 'checkpoints'), { recursive: true });
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
  const again = train(out);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /holds a run with trained steps \(metrics\.jsonl\) and an adapter but no checkpoint to resume from/);
  assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8'), metrics, 'its metrics are intact');

  const failedStart = join(root, 'failed-start');
  const bad = join(root, 'empty.jsonl');
  writeFileSync(bad, '{"instruction":"x","output":""}\n');
  assert.notEqual(spawnSync(process.execPath, ['dist/cli.js', 'train', '--model', model, '--data', bad, '--out', failedStart, '--max-steps', '2'], { encoding: 'utf8' }).status, 0);
  assert.equal(train(failedStart).status, 0, 'the same --out works once the data is fixed');
});

test('a second `train` on a run folder that is training is refused naming the process; the first is unharmed', async () => {
  const out = join(root, 'busy');
  const first = spawn(process.execPath, args(out, 100_000), { stdio: 'ignore' });
  const exited = new Promise((resolve) => first.on('exit', resolve));
  try {
    while (!readWorkerInfo(out)) await new Promise((r) => setTimeout(r, 50));
    const second = spawnSync(process.execPath, ['dist/cli.js', 'train', '--resume', out], { encoding: 'utf8' });
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`being trained by process ${first.pid}`));
    const stepsBefore = readMetrics(out).length;
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(readMetrics(out).length >= stepsBefore, 'the first run goes on');
    assert.equal(readWorkerInfo(out)?.pid, first.pid, 'and keeps its socket');
  } finally {
    first.kill('SIGTERM');
    await exited;
  }
});

test('run sockets live in a folder private to this user; one open to others is refused', () => {
  const socket = runSocketPath(join(root, 'busy'));
  assert.equal(join(socket, '..'), socketFolder());
  ensurePrivateSocketFolder();
  assert.equal(statSync(socketFolder()).mode & 0o077, 0);
  const open = join(root, 'open-socket-folder');
  mkdirSync(open, { mode: 0o777 });
  spawnSync('chmod', ['777', open]);
  assert.throws(() => ensurePrivateSocketFolder(open), /is open to other users \(mode 777\).*remove .*open-socket-folder/);
});

test('absurd numbers are refused before any work, with the bound and why; model bounds once the model is read', () => {
  const cases: [string[], RegExp][] = [
    [['--epochs', '1e9'], /num_epochs: must be at most 10,000, got 1000000000/],
    [['--grad-accum', '1000000000'], /gradient_accumulation_steps: must be at most 65,536/],
    [['--rank', '1000000'], /r: must be at most 65,536/],
    [['--rank', '100'], /rank 100 is larger than model\.layers\.0\.self_attn\.v_proj \[32, 64\] allows \(a low-rank update has rank ≤ 32\)/],
    [['--max-seq-len', '100000'], /max_seq_len 100000 is past the 4096 positions/],
  ];
  for (const [flags, message] of cases) {
    const out = join(root, `bounds-${flags.join('')}`);
    const result = spawnSync(process.execPath, ['dist/cli.js', 'train', '--model', model, '--data', data, '--out', out, '--max-steps', '2', ...flags], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(result.status, 1, `${flags.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
});
