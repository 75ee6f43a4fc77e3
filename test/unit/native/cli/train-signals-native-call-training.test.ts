// A signal while the trainer creates an onnxruntime session after its first step (a ReLoRA restart's recompile, the
// evaluation's session, a new length's program) is honoured within seconds too: right before such a call the trainer has the
// steps since the last checkpoint saved as a stop would save them (checkpoint, adapter or LISA model, the step's
// metrics line; loop.ts LoopSaving), then marks the call (native-call.ts), so its supervisor may end it. The run folder
// says stopped at the last step with its checkpoint, nothing is half-written, and the resume ends exactly where an
// uninterrupted run does. LISA is the exception: its resample waits and then saves (saving a whole model every period
// would cost more than the wait). The tiny model has 24 layers:
// each session creation takes seconds, above the stop's ~1 s.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { latestCheckpoint, listCheckpoints, readMetrics, readRunStatus } from '../../../../native/train/run-dir';
import { LISA_MODEL_DIR } from '../../../../native/train/lisa-output';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { assertClean, interruptInsideNativeCall, killAll, sleep } from './native-call-signal';
import { readNativeCall } from '../../../../native/train/native-call';

const root = mkdtempSync(join(tmpdir(), 'train-native-call-later-'));
process.env.LORA_STUDIO_CACHE = join(root, 'cache');
const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.LlamaForCausalLM, layers: 24, dtype: 'float32', seed: 6 }).dir;
const data = join(root, 'data.jsonl');
writeFileSync(data, '{"instruction":"Say hi.","output":"hi"}\n{"instruction":"Say bye.","output":"bye"}\n');
const trainArgs = (out: string, steps: number, extra: string[]) => [
  'dist/cli.js', 'train', '--model', model, '--data', data, '--out', out, '--max-steps', String(steps),
  '--save-every', '0', '--batch-size', '2', '--max-seq-len', '32', '--json', ...extra,
];
/** Generous for two loaded cores, and below waiting for the call: the supervisor gives the trainer 1 s, then ends it. */
const STOP_BOUND_S = 5;

const started = new Set<number>();
after(() => {
  killAll(started);
  rmSync(root, { recursive: true, force: true }); // models and runs: tens of MB per run of this file
});

/** Losses by step (the eval loss too where there is one): a resume redoing the same steps gives the same numbers. */
const losses = (out: string) => readMetrics(out).map((r) => [r.step, r.loss, r.eval_loss]);

/** The trained result's bytes: the adapter, or LISA's model folder. */
function resultBytes(out: string): Buffer[] {
  const dir = existsSync(join(out, LISA_MODEL_DIR)) ? join(out, LISA_MODEL_DIR) : out;
  return readdirSync(dir).filter((name) => name.endsWith('.safetensors')).sort().map((name) => readFileSync(join(dir, name)));
}

/**
 * Trains `extra` for 3 steps, signalled inside the session creation named `phase` after step 1; checks the stop and the
 * run folder, resumes to 3 steps and compares with an uninterrupted run of the same options.
 */
async function stopAfterFirstStep(name: string, extra: string[], phase: string, t: { diagnostic(message: string): void }) {
  const out = join(root, name);
  const { code, events, stderr, seconds, trainer } = await interruptInsideNativeCall(
    trainArgs(out, 3, extra), out, 'SIGTERM', started, (marker) => marker.status.step === 1 && marker.phase === phase,
  );
  t.diagnostic(`${name}: SIGTERM inside "${phase}" after step 1: exited ${seconds.toFixed(2)} s after the signal`);
  assert.equal(code, 0, stderr);
  assert.match(stderr, new RegExp(`inside a call that cannot be interrupted \\(${phase}\\) with nothing unsaved`));
  assert.ok(seconds <= STOP_BOUND_S, `stopped in ${seconds.toFixed(1)} s`);
  assert.deepEqual(events.at(-1), { type: 'done', adapter: resolve(out), reason: 'stopped', step: 1, ...(extra.includes('lisa') ? { model: join(resolve(out), LISA_MODEL_DIR) } : {}) });
  const status = readRunStatus(out);
  assert.deepEqual([status?.state, status?.step, status?.total_steps], ['stopped', 1, 3]);
  // The supervisor's record says so; a call that ended within its 1 s grace (the evaluation's forward-only session
  // here may) was followed by the trainer's own stop, which records the same state without a note.
  if (status?.message !== undefined) assert.match(status?.message ?? '', /every step trained is in the checkpoint at step 1/);
  t.diagnostic(`${name}: ${status?.message ? 'ended by the supervisor' : 'the call ended within the grace; the trainer stopped itself'}`);
  assert.equal(latestCheckpoint(out)?.step, 1);
  assert.deepEqual(readMetrics(out).map((r) => r.step), [1], 'step 1 is recorded once');
  assertClean(out, trainer);

  const reference = resumeThenRunReference(out, name, extra);
  assert.equal(readRunStatus(out)?.state, 'completed');
  return { out, reference };
}

/** Resumes the stopped run `out` to step 3, then trains `<name>-reference` the same 3 steps uninterrupted: its folder. */
function resumeThenRunReference(out: string, name: string, extra: string[]): string {
  const resumed = spawnSync(process.execPath, ['dist/cli.js', 'train', '--resume', out, '--max-steps', '3', '--json'], { encoding: 'utf8', timeout: 600_000 });
  assert.equal(resumed.status, 0, resumed.stderr);
  const reference = join(root, `${name}-reference`);
  const whole = spawnSync(process.execPath, trainArgs(reference, 3, extra), { encoding: 'utf8', timeout: 600_000 });
  assert.equal(whole.status, 0, whole.stderr);
  return reference;
}

test('SIGTERM inside the recompile after a ReLoRA restart: stopped within seconds at step 1, which was saved before the merge; the resume ends as an uninterrupted run', async (t) => {
  const { out, reference } = await stopAfterFirstStep('relora', ['--relora-every', '1'], 'creating the onnxruntime session', t);
  assert.deepEqual(losses(out), losses(reference));
  assert.deepEqual(resultBytes(out), resultBytes(reference), 'the same adapter');
});

test('SIGTERM during the recompile of a LISA resample waits for it (a LISA save is a whole model), then saves step 1; the resume ends as an uninterrupted run', async () => {
  const lisa = ['--method', 'lisa', '--lisa-layers', '1', '--lisa-period', '1'];
  const out = join(root, 'lisa');
  const child = spawn(process.execPath, trainArgs(out, 3, lisa), { stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child.pid!);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  // Step 1's line is written; the period-1 resample and its recompile follow at once.
  while (readMetrics(out).length < 1) await sleep(20);
  assert.equal(readNativeCall(out), undefined, 'the resample is not marked: step 1 is not saved yet');
  child.kill('SIGTERM');
  assert.equal(await exit, 0, stderr);
  assert.doesNotMatch(stderr, /inside a call that cannot be interrupted/);
  assert.deepEqual([readRunStatus(out)?.state, readRunStatus(out)?.step], ['stopped', 1]);
  assert.deepEqual(listCheckpoints(out).map((c) => c.step), [1]);
  const reference = resumeThenRunReference(out, 'lisa', lisa);
  assert.deepEqual(listCheckpoints(reference).map((c) => c.step), [3], 'no checkpoint was made for the resamples');
  assert.deepEqual(losses(out), losses(reference));
  assert.deepEqual(resultBytes(out), resultBytes(reference), 'the same trained model');
});

test('a LISA run evaluating after every resample saves only at its end: the evaluation\'s recompile saves nothing first (a LISA save is a whole model)', () => {
  const out = join(root, 'lisa-eval');
  const run = spawnSync(process.execPath, trainArgs(out, 3, ['--method', 'lisa', '--lisa-layers', '1', '--lisa-period', '1', '--eval-data', data, '--eval-every', '1']), { encoding: 'utf8', timeout: 600_000 });
  assert.equal(run.status, 0, run.stderr);
  const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; step?: number });
  assert.deepEqual(events.filter((e) => e.type === 'eval').map((e) => e.step), [1, 2, 3], 'evaluated after every step');
  assert.deepEqual(events.filter((e) => e.type === 'checkpoint').map((e) => e.step), [3], 'one checkpoint, at the end');
});

test("SIGTERM inside the evaluation's session creation: stopped within seconds at step 1 (its line written, without the cut evaluation); the resume continues as an uninterrupted run", async (t) => {
  const evalFlags = ['--eval-data', data, '--eval-every', '1'];
  const { out, reference } = await stopAfterFirstStep('eval', evalFlags, 'creating the onnxruntime session for evaluation', t);
  const [first, ...rest] = losses(out);
  const [referenceFirst, ...referenceRest] = losses(reference);
  assert.deepEqual(first, [1, referenceFirst[1], undefined], 'step 1 kept its loss; its evaluation was cut short');
  assert.deepEqual(rest, referenceRest);
  assert.deepEqual(resultBytes(out), resultBytes(reference), 'the same adapter');
});

test('SIGTERM inside the compile of a length bucket first met after step 1: stopped within seconds at step 1; the resume ends as an uninterrupted run', async (t) => {
  // One record per micro-batch, one short and one long: the two steps of an epoch have two padded lengths (64 and the
  // long one's), so step 2 compiles a program step 1 did not have.
  const buckets = join(root, 'buckets.jsonl');
  writeFileSync(buckets, `{"instruction":"Say hi.","output":"hi"}\n{"instruction":"Count.","output":"${'one two three four five six seven eight nine ten '.repeat(8).trim()}"}\n`);
  const { out, reference } = await stopAfterFirstStep('bucket', ['--data', buckets, '--batch-size', '1', '--max-seq-len', '128'], 'creating the onnxruntime session', t);
  const [first, second] = readMetrics(reference).map((r) => r.tokens);
  assert.notEqual(first, second - first, 'steps 1 and 2 trained records of different lengths');
  assert.deepEqual(losses(out), losses(reference));
  assert.deepEqual(resultBytes(out), resultBytes(reference), 'the same adapter');
});
