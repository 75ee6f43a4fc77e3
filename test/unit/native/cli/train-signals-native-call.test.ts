// A signal while the trainer is inside onnxruntime's session creation (one native call: seconds for this 24-layer
// model's training graph, minutes for a 7B one, during which no JavaScript runs) is honoured by the supervisor
// (native/train/supervisor.ts) within about a second, not when the call returns: SIGINT on a fresh run, SIGTERM while a
// resume compiles, through `lora-studio train`; SIGTERM to the extension's worker through WorkerClient.stop. The run
// folder says what the trainer's own stop would have said (status.json stopped with the checkpoint kept), nothing it
// owned is left (lock, worker.json, socket, marker), and the same command starts or resumes the run again. A supervisor
// killed outright (SIGKILL) takes its trainer with it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { latestCheckpoint, readMetrics, readRunStatus, readWorkerInfo, runPaths } from '../../../../native/train/run-dir';
import { nativeCallPath, readNativeCall } from '../../../../native/train/native-call';
import { WorkerClient } from '../../../../extension/runs/worker-client';
import { pidAlive } from '../../../../native/util/pid-alive';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { assertClean, interruptInsideNativeCall, killAll, sleep } from './native-call-signal';

const root = mkdtempSync(join(tmpdir(), 'train-native-call-'));
process.env.LORA_STUDIO_CACHE = join(root, 'cache');
// 24 layers: creating the training session takes seconds (measured 4–6 s here under load), far above the stop's ~1 s.
const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.LlamaForCausalLM, layers: 24, dtype: 'float32', seed: 6 }).dir;
const data = join(root, 'data.jsonl');
writeFileSync(data, '{"instruction":"Say hi.","output":"hi"}\n{"instruction":"Say bye.","output":"bye"}\n');
const common = ['--save-every', '0', '--batch-size', '2', '--max-seq-len', '32', '--json'];
const trainArgs = (out: string, steps: string) => ['dist/cli.js', 'train', '--model', model, '--data', data, '--out', out, '--max-steps', steps, ...common];
/**
 * Generous for two loaded cores, and still below what waiting for the call takes: the supervisor gives the trainer 1 s,
 * then ends it. That the trainer was ended inside the call (not stopped after it) is checked from the supervisor's note.
 */
const STOP_BOUND_S = 4;
const SUPERVISOR_NOTE = /the trainer is inside a call that cannot be interrupted \(creating the onnxruntime session\) with nothing unsaved/;

/**
 * Every process a case started (supervisors, workers, trainers), killed once the file's cases are over: a case that
 * fails midway must not leave a 100,000-step run behind, which would keep this file's process (and CI) waiting.
 */
const started = new Set<number>();
after(() => killAll(started));

const out = join(root, 'run');

test('SIGINT inside the first session creation: the supervisor ends the run within seconds as stopped before the first step; the same command starts again', async (t) => {
  const { code, events, stderr, seconds, trainer } = await interruptInsideNativeCall(trainArgs(out, '100000'), out, 'SIGINT', started);
  t.diagnostic(`SIGINT inside the session creation: exited ${seconds.toFixed(2)} s after the signal`);
  assert.equal(code, 0, stderr);
  assert.match(stderr, SUPERVISOR_NOTE);
  assert.ok(seconds <= STOP_BOUND_S, `stopped in ${seconds.toFixed(1)} s`);
  const done = events.at(-1);
  assert.deepEqual(done, { type: 'done', adapter: resolve(out), reason: 'stopped', step: 0 });
  const status = readRunStatus(out);
  assert.deepEqual([status?.state, status?.step, status?.total_steps], ['stopped', 0, 100000]);
  assert.match(status?.message ?? '', /stopped before the first step: nothing was trained/);
  assert.match(stderr, /stopped before the first step: nothing was trained/);
  assert.equal(existsSync(runPaths(out).adapterWeights), false);
  assertClean(out, trainer);

  // The same command (one step now) runs and completes: its end saves a checkpoint at step 1 for the resume below.
  const again = spawnSync(process.execPath, trainArgs(out, '1'), { encoding: 'utf8', timeout: 300_000 });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(readRunStatus(out)?.state, 'completed');
  assert.equal(latestCheckpoint(out)?.step, 1);
  assert.equal(existsSync(nativeCallPath(out)), false, 'a normal run leaves no marker');
});

test('SIGTERM inside a resume\'s session creation keeps the checkpoint as it was; the resume runs again', async (t) => {
  const adapterBefore = readFileSync(runPaths(out).adapterWeights);
  const resume = ['dist/cli.js', 'train', '--resume', out, '--max-steps', '3', '--json'];
  const { code, events, stderr, seconds, trainer } = await interruptInsideNativeCall(resume, out, 'SIGTERM', started);
  t.diagnostic(`SIGTERM inside the resume's session creation: exited ${seconds.toFixed(2)} s after the signal`);
  assert.equal(code, 0, stderr);
  assert.match(stderr, SUPERVISOR_NOTE);
  assert.ok(seconds <= STOP_BOUND_S, `stopped in ${seconds.toFixed(1)} s`);
  assert.deepEqual(events.at(-1), { type: 'done', adapter: resolve(out), reason: 'stopped', step: 1 });
  const status = readRunStatus(out);
  assert.deepEqual([status?.state, status?.step, status?.total_steps], ['stopped', 1, 3]);
  assert.match(status?.message ?? '', /nothing was trained since the checkpoint at step 1, which a resume continues from/);
  assert.equal(latestCheckpoint(out)?.step, 1);
  assert.equal(readMetrics(out).length, 1);
  assert.deepEqual(readFileSync(runPaths(out).adapterWeights), adapterBefore, 'the adapter is as the checkpoint left it');
  assertClean(out, trainer);

  const again = spawnSync(process.execPath, resume, { encoding: 'utf8', timeout: 300_000 });
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual([readRunStatus(out)?.state, readMetrics(out).length], ['completed', 3]);
});

test("the extension's Stop while the worker's trainer creates its session: SIGTERM to the supervisor, stopped within seconds", async (t) => {
  const runDir = join(root, 'worker-run');
  const config = JSON.parse(readFileSync(runPaths(out).config, 'utf8'));
  spawnSync('mkdir', ['-p', runDir]);
  writeFileSync(runPaths(runDir).config, JSON.stringify({ ...config, out: runDir, max_steps: 100000 }));
  const client = new WorkerClient(
    { nodePath: process.execPath, workerScript: resolve('dist/worker.js'), env: () => ({ ...process.env }) },
    { onEvent: () => {}, onDetach: () => {} },
  );
  try {
    const pid = await client.spawn(runDir);
    started.add(pid);
    let marker: ReturnType<typeof readNativeCall>;
    while (!(marker = readNativeCall(runDir))) {
      assert.doesNotThrow(() => process.kill(pid, 0), `the worker ended before its session creation: ${readFileSync(runPaths(runDir).log, 'utf8')}`);
      await sleep(20);
    }
    const trainer = marker.pid;
    started.add(trainer);
    assert.equal(readWorkerInfo(runDir)?.pid, pid, 'worker.json names the process the extension started');
    const sentAt = performance.now();
    assert.equal(await client.stop(runDir), 'stopped');
    const seconds = (performance.now() - sentAt) / 1000;
    t.diagnostic(`Stop inside the worker's session creation: gone ${seconds.toFixed(2)} s after it`);
    assert.ok(seconds <= STOP_BOUND_S, `stopped in ${seconds.toFixed(1)} s`);
    const log = readFileSync(runPaths(runDir).log, 'utf8');
    assert.match(log, SUPERVISOR_NOTE);
    assert.match(log, /stopped at step 0; resume with/);
    assert.deepEqual([readRunStatus(runDir)?.state, readRunStatus(runDir)?.step], ['stopped', 0]);
    assertClean(runDir, trainer);
  } finally {
    client.dispose();
  }
});

test('a supervisor killed outright takes its trainer with it (as a kill of the trainer did): no orphan trains on', async () => {
  const killed = join(root, 'killed');
  const child = spawn(process.execPath, trainArgs(killed, '100000'), { stdio: 'ignore' });
  started.add(child.pid!);
  let exited = false;
  const exit = new Promise((done) => child.on('exit', (code) => ((exited = true), done(code))));
  let marker: ReturnType<typeof readNativeCall>;
  while (!exited && !(marker = readNativeCall(killed))) await sleep(20);
  assert.ok(!exited && marker, 'the run reached its session creation');
  const trainer = marker.pid;
  started.add(trainer);
  child.kill('SIGKILL');
  await exit;
  // It notices when the native call returns (seconds) and ends itself at once, training no step.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && pidAlive(trainer)) await sleep(50);
  assert.equal(pidAlive(trainer), false, 'the trainer is gone');
  assert.deepEqual(readMetrics(killed), []);
});
