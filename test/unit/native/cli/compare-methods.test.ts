// lora-studio compare-methods end to end on the tiny fixture: the table's numbers come from the runs — LoRA's and
// DoRA's trainable parameters differ as the estimate says, output_bytes is the adapter files' size on disk, the peak
// RSS is each method's own process's (measured: it differs between runs), the median step time is metrics.jsonl's.
// SIGINT during a method stops that run cleanly and prints what ran; unknown methods are refused with the known ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { parseHfConfig } from '../../../../native/model/hf-config';
import { resolveTargets } from '../../../../native/model/lora';
import { parameterCount } from '../../../../native/model/model-folder';
import { openWeights } from '../../../../native/model/safetensors';
import { loraParams } from '../../../../native/train/estimate';
import { medianStepSeconds } from '../../../../native/train/method-metrics';
import { latestCheckpoint, readMetrics, readRunStatus } from '../../../../native/train/run-dir';
import { knownCompareMethods } from '../../../../native/train/compare-methods';
import { parseCompareLine, type CompareEvent, type CompareResult, type CompareSummary } from '../../../../native/train/compare-events';
import { engineMethods } from '../../../../native/cli/method-choices';

const root = mkdtempSync(join(tmpdir(), 'compare-methods-'));
const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 5 }).dir;
const data = join(root, 'data.jsonl');
writeFileSync(data, Array.from({ length: 8 }, (_, i) => JSON.stringify({ instruction: `Count to ${i}.`, output: `${i}` })).join('\n') + '\n');
const R = 4;
const base = (out: string, methods: string, steps: number) => ['dist/cli.js', 'compare-methods', '--model', model, '--data', data, '--eval-data', data,
  '--methods', methods, '--steps', String(steps), '--seq-len', '32', '--batch-size', '2', '--rank', String(R), '--out', out, '--json'];

const events = (stdout: string): CompareEvent[] => stdout.split('\n').filter((l) => l.trim()).map((line) => {
  const event = parseCompareLine(line);
  assert.ok(event, `not a compare-methods line: ${line}`);
  return event;
});

test('lora and dora for 5 steps: every number of the table measured from the runs', () => {
  const out = join(root, 'two');
  const run = spawnSync(process.execPath, base(out, 'lora,dora', 5), { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const lines = events(run.stdout);
  const results = lines.filter((e): e is CompareResult => e.type === 'result');
  assert.deepEqual(results.map((r) => [r.method, r.status]), [['lora', 'completed'], ['dora', 'completed']]);
  const summary = lines.at(-1) as CompareSummary;
  assert.equal(summary.type, 'summary');
  assert.deepEqual([summary.completed, summary.stopped, summary.out], [['lora', 'dora'], false, out]);

  // Trainable parameters as the estimate counts them: r·(in + out) per target, DoRA a magnitude per output feature more.
  const targets = resolveTargets(parseHfConfig(JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')), 'config.json'), ['q_proj', 'v_proj']);
  const expected = (dora: boolean) => targets.reduce((sum, t) => sum + loraParams(t, R, dora), 0);
  const [lora, dora] = results;
  assert.equal(lora.trainable_params, expected(false));
  assert.equal(dora.trainable_params, expected(true));
  assert.ok(dora.trainable_params! > lora.trainable_params!);
  assert.equal(lora.trainable_percent, (100 * expected(false)) / parameterCount(openWeights(model)));

  for (const r of results) {
    assert.equal(r.run_dir, join(out, r.method));
    assert.equal(readRunStatus(r.run_dir)?.state, 'completed', 'a real run folder (the Runs view reads it)');
    const files = ['adapter_config.json', 'adapter_model.safetensors'].reduce((sum, f) => sum + statSync(join(r.run_dir, f)).size, 0);
    assert.equal(r.output_bytes, files);
    assert.ok(r.peak_rss_bytes! > 20 * 2 ** 20, `peak RSS ${r.peak_rss_bytes} of a Node process running onnxruntime`);
    assert.equal(r.median_step_ms, medianStepSeconds(readMetrics(r.run_dir)) * 1000);
    assert.ok(r.median_step_ms! > 0 && r.tokens_per_s! > 0);
    assert.equal(r.final_eval_loss, readMetrics(r.run_dir).at(-1)?.eval_loss);
    assert.ok(Number.isFinite(r.final_train_loss));
  }
  assert.notEqual(lora.peak_rss_bytes, dora.peak_rss_bytes, 'each process measured, not a constant');
  const saved = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8')) as { results: CompareResult[] };
  assert.deepEqual(saved.results, results);
});

test('a method whose output is a whole model (LISA): output_bytes is that folder\'s files, and the model is counted as trained', () => {
  const out = join(root, 'lisa');
  const run = spawnSync(process.execPath, base(out, 'lisa', 3), { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const result = events(run.stdout).find((e): e is CompareResult => e.type === 'result');
  assert.equal(result?.status, 'completed');
  const modelDir = join(out, 'lisa', 'model');
  const files = readdirSync(modelDir, { withFileTypes: true }).filter((e) => e.isFile()).reduce((sum, e) => sum + statSync(join(modelDir, e.name)).size, 0);
  assert.equal(result.output_bytes, files);
  assert.ok(result.trainable_params! > 0 && result.trainable_percent! > 50, `${result.trainable_percent}% of a 2-layer model: embeddings, head and the sampled layers`);
});

test('SIGINT during a method: its run stops cleanly (checkpoint kept), the next never starts, the table of what ran, exit 130', async () => {
  const out = join(root, 'stopped');
  const child = spawn(process.execPath, base(out, 'lora,dora', 100000), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (!sent && /"type":"progress".*"step":2,/.test(stdout)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 130, stderr);
  const lines = events(stdout);
  assert.deepEqual(lines.filter((e) => e.type === 'method').map((e) => (e as { method: string }).method), ['lora'], 'dora never started');
  const result = lines.find((e): e is CompareResult => e.type === 'result');
  assert.equal(result?.status, 'stopped');
  assert.ok(result.steps >= 2 && result.peak_rss_bytes! > 0);
  assert.equal(readRunStatus(join(out, 'lora'))?.state, 'stopped');
  assert.equal(latestCheckpoint(join(out, 'lora'))?.step, result.steps, 'stopped cleanly: a checkpoint at the last step');
  assert.deepEqual((lines.at(-1) as CompareSummary).stopped, true);
});

test('a method whose run fails: its row says why (numbers null, its process still measured), the summary follows, exit 1', () => {
  const out = join(root, 'failing');
  const run = spawnSync(process.execPath, [...base(out, 'lora', 2), '--target-modules', 'nosuch_proj'], { encoding: 'utf8' });
  assert.equal(run.status, 1);
  const lines = events(run.stdout);
  const result = lines.find((e): e is CompareResult => e.type === 'result');
  assert.equal(result?.status, 'failed');
  assert.match(result.error ?? '', /target module "nosuch_proj" not in this Qwen2ForCausalLM/);
  assert.deepEqual([result.trainable_params, result.output_bytes, result.median_step_ms, result.final_train_loss], [null, null, null, null]);
  assert.ok(result.peak_rss_bytes! > 0);
  assert.deepEqual((lines.at(-1) as CompareSummary).completed, []);
  assert.match(run.stderr, /lora: target_modules: .*nosuch_proj/);
  // Without --json: progress on stderr, the table on stdout.
  const text = spawnSync(process.execPath, [...base(join(root, 'failing-text'), 'lora', 2).filter((a) => a !== '--json'), '--target-modules', 'nosuch_proj'], { encoding: 'utf8' });
  assert.equal(text.status, 1);
  assert.match(text.stdout, /^\| method +\| trainable params \|/);
  assert.match(text.stdout, /\| LoRA \(failed\) +\| +— \|/);
  assert.match(text.stderr, /\[1\/1\] LoRA: training in /);
});

test('refusals before anything runs: unknown methods (with the known ones), a non-empty --out', () => {
  const unknown = spawnSync(process.execPath, base(join(root, 'never'), 'lora,vera', 2), { encoding: 'utf8' });
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /unknown method vera/);
  assert.ok(unknown.stderr.includes(knownCompareMethods(engineMethods()).join(', ')), unknown.stderr);
  const busy = join(root, 'busy');
  mkdirSync(busy);
  writeFileSync(join(busy, 'keep.txt'), 'x');
  const refused = spawnSync(process.execPath, base(busy, 'lora', 2), { encoding: 'utf8' });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /--out .*busy is not empty/);
  assert.equal(readFileSync(join(busy, 'keep.txt'), 'utf8'), 'x');
});
