// Hostile and clumsy run folders: --out into someone's adapter or a finished run without checkpoints, two trainers on
// one folder (two starts, a resume of a live run, two resumes at once), changed settings on resume, a resume below
// its checkpoint, a truncated training_config.json or metrics.jsonl, a `latest` that points nowhere, leftovers of
// killed processes, a file or a non-run as the folder, and kill -9 in the middle of training. Nothing the user had is
// overwritten, one process trains a folder at a time, and a resume continues exactly where the checkpoint stands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readMetrics, readRunStatus, readWorkerInfo, runPaths } from '../../../native/train/run-dir';
import { pidAlive } from '../../../native/util/pid-alive';
import { assertUnchanged, cli, cliInBackground, endsWithin, expectOutcome, hostileFixture, snapshot, TINY_TRAIN, waitUntil } from './hostile-cli';

const fx = hostileFixture('runs');
/** Training flags of a run that goes on until stopped (checkpoints every 2 steps). */
const endless = (out: string) => ['train', '--model', fx.model, '--data', fx.data, '--out', out, '--max-steps', '100000', '--batch-size', '2', '--max-seq-len', '32', '--save-every', '2', '--warmup-steps', '0'];
const steps = (run: string) => readMetrics(run).map((m) => m.step);
const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** A finished 4-step run with checkpoints at 2 and 4. */
const finishedRun = () => {
  const out = fx.path('run');
  expectOutcome(fx.train(out, '--max-steps', '4', '--save-every', '2'), 0, /done after 4 steps/);
  return out;
};

test('--out into an adapter folder is refused naming what it holds; the adapter stays byte-identical', () => {
  const out = fx.path('adapter');
  mkdirSync(out);
  writeFileSync(join(out, 'adapter_config.json'), '{"peft_type":"LORA","r":8}');
  writeFileSync(join(out, 'adapter_model.safetensors'), 'precious');
  const before = snapshot(out);
  expectOutcome(fx.train(out), 1, /not empty and is not a run folder \(it holds adapter_config\.json, adapter_model\.safetensors\)/);
  assertUnchanged(before, out);
});

test('--out into a finished run whose checkpoints/ was removed is refused; its metrics and adapter stay', () => {
  const out = finishedRun();
  rmSync(join(out, 'checkpoints'), { recursive: true });
  const before = snapshot(out);
  expectOutcome(fx.train(out), 1, /holds a run with trained steps \(metrics\.jsonl\) and an adapter but no checkpoint/, /another --out/);
  assertUnchanged(before, out);
});

test('--out that is a file, and --resume of a folder that is not a run, are named', () => {
  const before = snapshot(fx.data, fx.model);
  expectOutcome(fx.train(fx.data), 1, /--out .*data\.jsonl is a file, not a folder — choose a new folder/);
  expectOutcome(cli(['train', '--resume', fx.model]), 1, /is not a run folder \(no training_config\.json\)/);
  expectOutcome(cli(['train', '--resume', fx.path('nowhere')]), 1, /nowhere-\d+ is not a run folder/);
  assertUnchanged(before, fx.data, fx.model);
});

test('a second train on a live run, and a resume of it, are refused naming the process; the first goes on', async () => {
  const out = fx.path('live');
  const first = cliInBackground(endless(out));
  try {
    await waitUntil('the first run to train a step', () => readWorkerInfo(out) !== undefined && existsSync(runPaths(out).metrics) && readMetrics(out).length > 0);
    // A start on it is refused by what the folder holds (a run with checkpoints) or by the lock, whichever comes first.
    expectOutcome(cli(endless(out)), 1, new RegExp(`being trained by process ${first.child.pid}|already holds a run with checkpoints — continue it with --resume`));
    expectOutcome(cli(['train', '--resume', out]), 1, new RegExp(`being trained by process ${first.child.pid}`));
    assert.equal(readWorkerInfo(out)?.pid, first.child.pid, 'the first keeps worker.json and its socket');
  } finally {
    first.child.kill('SIGTERM');
  }
  expectOutcome(await endsWithin(first, 60_000, 'SIGTERM'), 0, /stopped|checkpoint/);
  const done = steps(out);
  assert.deepEqual(done, oneToN(done.length), 'no step twice, none missing');
});

test('two resumes of a stopped run at once: exactly one trains, the other is refused; no step is written twice', async () => {
  const out = finishedRun();
  const a = cliInBackground(['train', '--resume', out, '--max-steps', '100000']);
  const b = cliInBackground(['train', '--resume', out, '--max-steps', '100000']);
  const loser = await Promise.race([a.exited.then(() => a), b.exited.then(() => b)]);
  const winner = loser === a ? b : a;
  try {
    const lost = await loser.exited;
    expectOutcome(lost, 1, /being trained by process|locked/);
    await waitUntil('the winner to train past step 5', () => steps(out).length >= 5);
  } finally {
    winner.child.kill('SIGTERM');
  }
  expectOutcome(await endsWithin(winner, 60_000, 'SIGTERM'), 0);
  const done = steps(out);
  assert.deepEqual(done, oneToN(done.length));
});

test('resume with changed settings is refused naming each flag; a lower --max-steps is refused; the run is untouched', () => {
  const out = finishedRun();
  const before = snapshot(out);
  expectOutcome(cli(['train', '--resume', out, '--lr', '0.5', '--rank', '4']), 1, /--lr 0\.5 \(this run has learning_rate = /, /--rank 4 \(this run has r = 8\)/);
  expectOutcome(cli(['train', '--resume', out, '--max-steps', '2']), 1, /--max-steps 2 is below step 4/);
  assertUnchanged(before, out);
});

test('a truncated training_config.json on resume is named, with no stack trace; the run is untouched', () => {
  const out = finishedRun();
  truncateSync(runPaths(out).config, 40);
  const before = snapshot(out);
  expectOutcome(cli(['train', '--resume', out]), 1, /training_config\.json/, /(JSON|truncated|not valid)/i);
  assertUnchanged(before, out);
});

test('a checkpoints/latest that names a missing folder falls back to the newest complete checkpoint (exit 0)', () => {
  const out = finishedRun();
  writeFileSync(runPaths(out).latest, 'step-99\n');
  expectOutcome(cli(['train', '--resume', out, '--max-steps', '6']), 0, /resuming .* at step 4 of 6/, /done after 6 steps/);
  assert.deepEqual(steps(out), oneToN(6));
});

test('a metrics.jsonl cut mid-line: the resume continues from the checkpoint with each step once (exit 0)', () => {
  const out = finishedRun();
  const metrics = readFileSync(runPaths(out).metrics, 'utf8');
  writeFileSync(runPaths(out).metrics, metrics.slice(0, metrics.length - 20));
  expectOutcome(cli(['train', '--resume', out, '--max-steps', '6']), 0, /done after 6 steps/);
  const done = steps(out);
  assert.deepEqual([...new Set(done)], done, 'no step twice');
  assert.deepEqual(done.slice(-2), [5, 6]);
});

test('a metrics.jsonl cut mid-line: the resume says the record of step 4 was lost', () => {
  const out = finishedRun();
  const metrics = readFileSync(runPaths(out).metrics, 'utf8');
  writeFileSync(runPaths(out).metrics, metrics.slice(0, metrics.length - 20));
  expectOutcome(cli(['train', '--resume', out, '--max-steps', '6']), 0, /metrics\.jsonl.*(line 4|step 4)/);
});

test('leftovers of killed processes (half-written and half-deleted checkpoints, temp files) are removed on resume and said', () => {
  const out = finishedRun();
  const checkpoints = runPaths(out).checkpoints;
  mkdirSync(join(checkpoints, '.staging-step-6-abc123'));
  writeFileSync(join(checkpoints, '.staging-step-6-abc123', 'optimizer_state.safetensors'), 'half');
  mkdirSync(join(checkpoints, '.deleting-step-2-def456'));
  writeFileSync(join(out, '.status.json.4242.a1b2c3.tmp'), '{"state":');
  const result = cli(['train', '--resume', out, '--max-steps', '6']);
  expectOutcome(result, 0, /removed .*\.staging-step-6-abc123, left by a process that was killed/, /removed .*\.status\.json\.4242\.a1b2c3\.tmp/);
  assert.ok(!existsSync(join(checkpoints, '.staging-step-6-abc123')) && !existsSync(join(checkpoints, '.deleting-step-2-def456')));
  assert.deepEqual(steps(out), oneToN(6));
});

test('a stale run.lock of a dead process is taken over; a lock of another host is refused with how to clear it', () => {
  const out = finishedRun();
  writeFileSync(join(out, 'run.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), started_at: new Date().toISOString() }));
  expectOutcome(cli(['train', '--resume', out, '--max-steps', '5']), 0, /done after 5 steps/);
  writeFileSync(join(out, 'run.lock'), JSON.stringify({ pid: 12345, host: 'another-machine.example', started_at: new Date().toISOString() }));
  const before = snapshot(out);
  expectOutcome(cli(['train', '--resume', out, '--max-steps', '6']), 1, /another-machine\.example/, /run\.lock/);
  assertUnchanged(before, out);
});

test('kill -9 in the middle of training: the resume continues from the last checkpoint, every step once (exit 0)', async () => {
  const out = fx.path('killed');
  const run = cliInBackground(endless(out));
  await waitUntil('a checkpoint at step 4', () => existsSync(join(runPaths(out).checkpoints, 'step-4')));
  run.child.kill('SIGKILL');
  await run.exited;
  // The trainer under the CLI's supervisor follows it within moments; until then the lock rightly names it.
  const { trainer_pid: trainer } = JSON.parse(readFileSync(join(out, 'run.lock'), 'utf8')) as { trainer_pid?: number };
  await waitUntil('the trainer to follow its killed supervisor', () => trainer === undefined || !pidAlive(trainer), 30_000);
  const status = readRunStatus(out);
  assert.equal(status?.state, 'running', 'a killed run cannot say otherwise');
  const target = Math.max(...steps(out)) + 2;
  expectOutcome(cli(['train', '--resume', out, '--max-steps', String(target)]), 0, new RegExp(`done after ${target} steps`));
  assert.deepEqual(steps(out), oneToN(target));
  assert.equal(readRunStatus(out)?.state, 'completed');
});

test('TINY_TRAIN stays a two-step run (the other cases count on it)', () => {
  assert.deepEqual(TINY_TRAIN.slice(0, 2), ['--max-steps', '2']);
});
