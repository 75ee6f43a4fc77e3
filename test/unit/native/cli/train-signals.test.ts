// SIGINT/SIGTERM at each moment of a `lora-studio train` start (tokenized, compiling the optimizer, compiling the first
// bucket's program, after a step, while a resume compiles) stop it promptly with exit 0 and a run folder that says
// truthfully what it holds: status.json `stopped` with the step kept, no half-written files, no lock or worker.json
// left, and the run starts again (or resumes) with the same command. The phase is read from the run's --json events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerEvent } from '../../../../native/protocol';
import { latestCheckpoint, readMetrics, readRunStatus, readWorkerInfo } from '../../../../native/train/run-dir';
import { runLockPath } from '../../../../native/train/run-lock';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';

const root = mkdtempSync(join(tmpdir(), 'train-signals-'));
process.env.LORA_STUDIO_CACHE = join(root, 'cache'); // the NF4 copies of the runs below (inherited by the CLI)
// Four layers: compiling takes long enough (hundreds of ms to seconds) for a signal to land inside it.
const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, layers: 4, dtype: 'float32', seed: 3 }).dir;
const data = join(root, 'data.jsonl');
writeFileSync(data, '{"instruction":"Say hi.","output":"hi"}\n{"instruction":"Say bye.","output":"bye"}\n');
const trainArgs = (out: string) => ['dist/cli.js', 'train', '--model', model, '--data', data, '--out', out, '--max-steps', '100000', '--save-every', '0', '--batch-size', '2', '--max-seq-len', '32', '--json'];
/** Generous for two loaded cores; the stop waits at most for one native session creation (measured figures are logged). */
const STOP_BOUND_S = 20;

/** Starts `args`, sends `signal` once an event matches `when`, and resolves with the exit, the events and the stop's duration. */
async function interrupt(args: string[], when: (event: WorkerEvent) => boolean, signal: NodeJS.Signals, delayMs = 0) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: WorkerEvent[] = [];
  let buffer = '';
  let stderr = '';
  let sentAt: number | undefined;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const event = JSON.parse(line) as WorkerEvent;
      events.push(event);
      if (sentAt === undefined && when(event)) {
        sentAt = -1;
        setTimeout(() => {
          sentAt = performance.now();
          child.kill(signal);
        }, delayMs);
      }
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.ok(sentAt !== undefined && sentAt > 0, `the moment never came (or the run ended first); events: ${events.map((e) => e.type).join(', ')}; stderr: ${stderr}`);
  return { code, events, stderr, seconds: (performance.now() - sentAt!) / 1000 };
}

/** Nothing half-written or owned is left: no temp files, staging folders, lock or worker.json. */
function assertClean(out: string): void {
  const leftovers = [...readdirSync(out), ...(existsSync(join(out, 'checkpoints')) ? readdirSync(join(out, 'checkpoints')) : [])].filter((name) => /\.tmp$|^\.staging-|^\.deleting-|\.old-/.test(name));
  assert.deepEqual(leftovers, []);
  assert.equal(existsSync(runLockPath(out)), false, 'the lock is released');
  assert.equal(readWorkerInfo(out), undefined, 'worker.json is removed');
}

const isStatus = (pattern: RegExp) => (event: WorkerEvent) => event.type === 'status' && pattern.test(event.message);

for (const [moment, when, signal, delayMs, extra] of [
  ['tokenizing done', isStatus(/^tokenized /), 'SIGINT', 0],
  // PiSSA's exact SVDs (minutes per 4096² module): a stop comes between two modules.
  ['initializing PiSSA', isStatus(/^initializing \d+ modules from their weights: PiSSA/), 'SIGTERM', 0, ['--init', 'pissa']],
  // Quantizing a large base to NF4 takes minutes: a stop comes between tensors, and a half-made cache is never used.
  ['quantizing to NF4', isStatus(/^checking the NF4 cache/), 'SIGINT', 0, ['--quantization', 'nf4']],
  ['compiling the optimizer', isStatus(/^compiling the training graph/), 'SIGTERM', 0],
  ['compiling the first bucket', isStatus(/^compiling the program for micro-batches/), 'SIGINT', 0],
  // Later into the compile: building the graph, or inside the session's creation (a native call: the stop follows it).
  // The long first step keeps a fast machine that compiled within 400 ms from finishing it before the signal.
  ['inside the first bucket compile', isStatus(/^compiling the program for micro-batches/), 'SIGINT', 400, ['--grad-accum', '2000', '--max-steps', '10']],
  // A step of 20,000 micro-batches (a minute or more): the stop comes between two of them, the step is not taken.
  ['in a step of long accumulation', isStatus(/^compiling the program for micro-batches/), 'SIGTERM', 5000, ['--grad-accum', '20000', '--max-steps', '10']],
] as [string, (event: WorkerEvent) => boolean, NodeJS.Signals, number, string[]?][]) {
  test(`a signal while starting (${moment}) stops before the first step: exit 0, nothing trained or written, the same command starts again`, async (t) => {
    const out = join(root, moment.replace(/ /g, '-'));
    const { code, events, stderr, seconds } = await interrupt([...trainArgs(out), ...(extra ?? [])], when, signal, delayMs);
    t.diagnostic(`${signal} at "${moment}": exited ${seconds.toFixed(2)} s after the signal`);
    assert.equal(code, 0, stderr);
    assert.ok(seconds <= STOP_BOUND_S, `stopped in ${seconds.toFixed(1)} s`);
    const done = events.at(-1);
    assert.deepEqual(done?.type === 'done' && [done.reason, done.step], ['stopped', 0]);
    assert.equal(events.some((e) => e.type === 'step'), false, 'no step ran after the signal');
    const status = readRunStatus(out);
    assert.equal(status?.state, 'stopped');
    assert.match(status?.message ?? '', /stopped before the first step: nothing was trained/);
    assert.equal(existsSync(join(out, 'adapter_model.safetensors')), false, 'no untrained adapter is written');
    assert.equal(latestCheckpoint(out), undefined);
    assertClean(out);
    const cacheFiles = existsSync(join(root, 'cache')) ? readdirSync(join(root, 'cache'), { recursive: true }).map(String) : [];
    assert.deepEqual(cacheFiles.filter((name) => name.endsWith('.tmp')), [], 'no half-written NF4 cache file');
    if (moment === 'compiling the first bucket') {
      const again = spawnSync(process.execPath, [...trainArgs(out).slice(0, -1).filter((a) => a !== '100000' && a !== '--max-steps'), '--max-steps', '1'], { encoding: 'utf8', timeout: 300_000 });
      assert.equal(again.status, 0, again.stderr);
      assert.equal(readRunStatus(out)?.state, 'completed');
    }
  });
}

test('a signal after steps saves them; a signal while the resume compiles keeps that checkpoint as it was', async (t) => {
  const out = join(root, 'after-steps');
  const first = await interrupt(trainArgs(out), (e) => e.type === 'step' && e.step >= 2, 'SIGINT');
  t.diagnostic(`SIGINT after step 2: exited ${first.seconds.toFixed(2)} s after the signal`);
  assert.equal(first.code, 0, first.stderr);
  const steps = readMetrics(out).length;
  assert.ok(steps >= 2);
  assert.equal(readRunStatus(out)?.state, 'stopped');
  assert.equal(readRunStatus(out)?.step, steps);
  assert.equal(latestCheckpoint(out)?.step, steps, 'the steps trained are checkpointed');
  assert.ok(existsSync(join(out, 'adapter_model.safetensors')));
  assertClean(out);

  // What a process killed mid-checkpoint or mid-write would have left: the resume removes it and says so.
  const leftovers = [join(out, 'checkpoints', '.staging-step-99-4242-abcdef'), join(out, 'checkpoints', '.deleting-step-1-0a1b2c')];
  for (const dir of leftovers) mkdirSync(dir, { recursive: true });
  writeFileSync(join(out, '.status.json.4242.0a0b0c0d.tmp'), '{');
  const resume = await interrupt(['dist/cli.js', 'train', '--resume', out, '--json'], isStatus(/^compiling the program for micro-batches/), 'SIGTERM');
  for (const dir of [...leftovers, join(out, '.status.json.4242.0a0b0c0d.tmp')]) {
    assert.equal(existsSync(dir), false, `${dir} is removed`);
    assert.match(resume.stderr, new RegExp(`removed ${dir.replace(/[.]/g, '\\.')}, left by a process that was killed`));
  }
  t.diagnostic(`SIGTERM while the resume compiles: exited ${resume.seconds.toFixed(2)} s after the signal`);
  assert.equal(resume.code, 0, resume.stderr);
  assert.ok(resume.seconds <= STOP_BOUND_S, `stopped in ${resume.seconds.toFixed(1)} s`);
  const status = readRunStatus(out);
  assert.deepEqual([status?.state, status?.step, status?.total_steps], ['stopped', steps, 100000]);
  assert.match(status?.message ?? '', new RegExp(`nothing was trained since the checkpoint at step ${steps}, which a resume continues from`));
  assert.equal(readMetrics(out).length, steps, 'metrics are as the checkpoint left them');
  assert.equal(latestCheckpoint(out)?.step, steps);
  assertClean(out);
});
