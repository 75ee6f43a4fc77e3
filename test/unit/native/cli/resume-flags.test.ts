// `train --resume DIR`: --max-steps / --epochs extend a run (even a finished one); any other changed setting is
// refused naming the flag; flags equal to the run's own settings, and defaults, are not changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../../../native/protocol';
import { resumeConfig } from '../../../../native/cli/resume-flags';
import { readMetrics, readRunConfig, readRunStatus } from '../../../../native/train/run-dir';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';

const saved: RunConfig = { ...DEFAULT_RUN_OPTIONS, model: '/m', data: '/d.jsonl', out: '/runs/a', max_steps: 40 };

test('resumeConfig: --max-steps extends the run; flags equal to its settings and untyped defaults are not changes', () => {
  const next = resumeConfig(saved, { maxSteps: '60', lr: String(saved.learning_rate), rank: '999' }, new Set(['maxSteps', 'lr']), 40);
  assert.equal(next.max_steps, 60);
  assert.equal(next.r, saved.r, 'a flag the user did not type (only its default) changes nothing');
  assert.deepEqual({ ...next, max_steps: 40 }, saved);
});

test('resumeConfig: a changed setting is refused naming each flag, its value and the run\'s', () => {
  assert.throws(() => resumeConfig(saved, { lr: '0.5', rank: '4' }, new Set(['lr', 'rank']), 40), (error: Error) => {
    assert.match(error.message, /--lr 0\.5 \(this run has learning_rate = 0\.0003\)/);
    assert.match(error.message, /--rank 4 \(this run has r = 8\)/);
    return true;
  });
  assert.throws(() => resumeConfig(saved, { out: '/runs/b' }, new Set(['out']), 40), /--out "\/runs\/b"/);
  // --use-dora on a LoRA run (use_dora absent: written before the option existed) is a change too.
  assert.throws(() => resumeConfig(saved, { useDora: true }, new Set(['useDora']), 40), /--use-dora true \(this run has use_dora = /);
});

test('resumeConfig: --max-steps below the checkpoint, and --epochs on a run limited by max_steps, are refused', () => {
  assert.throws(() => resumeConfig(saved, { maxSteps: '20' }, new Set(['maxSteps']), 40), /--max-steps 20 is below step 40/);
  assert.throws(() => resumeConfig(saved, { epochs: '3' }, new Set(['epochs']), 40), /--epochs has no effect.*max_steps = 40/);
  const byEpochs = resumeConfig({ ...saved, max_steps: undefined }, { epochs: '3' }, new Set(['epochs']), 40);
  assert.equal(byEpochs.num_epochs, 3);
});

test('`train --resume DIR --max-steps N` continues a finished run to N; `--lr` on a resume exits 1 naming it', () => {
  const root = mkdtempSync(join(tmpdir(), 'resume-flags-'));
  const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 3 }).dir;
  const data = join(root, 'data.jsonl');
  writeFileSync(data, '{"instruction":"Say hi.","output":"hi"}\n{"instruction":"Say bye.","output":"bye"}\n');
  const out = join(root, 'run');
  const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/cli.js', 'train', ...args], { encoding: 'utf8', timeout: 300_000 });
  const first = cli('--model', model, '--data', data, '--out', out, '--max-steps', '3', '--batch-size', '2', '--max-seq-len', '32', '--warmup-steps', '0');
  assert.equal(first.status, 0, first.stderr);
  assert.equal(readRunStatus(out)?.state, 'completed');

  const refused = cli('--resume', out, '--lr', '0.5');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /--lr 0\.5 \(this run has learning_rate = 0\.0003\)/);
  assert.equal(readRunConfig(out)?.max_steps, 3, 'a refused resume leaves the run as it was');

  const extended = cli('--resume', out, '--max-steps', '5', '--batch-size', '2');
  assert.equal(extended.status, 0, extended.stderr);
  assert.equal(readRunConfig(out)?.max_steps, 5, 'training_config.json says the new total');
  assert.deepEqual(readMetrics(out).map((m) => m.step), [1, 2, 3, 4, 5]);
  assert.equal(readRunStatus(out)?.state, 'completed');
  assert.equal(readRunStatus(out)?.step, 5);
});
