// `train --allow-long-context`: max_seq_len past the model's max_position_embeddings is refused naming the flag, and
// trains with it after one warning; the setting is saved in training_config.json, may be added on --resume (it
// extends a run, as --max-steps does) and reaches compare-methods' runs. A tiny model with 16 positions, records of
// more tokens than that, so the run really uses positions the model never had.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { readMetrics, runPaths } from '../../../../native/train/run-dir';
import { runConfigFromFlags } from '../../../../native/cli/train-options';
import { resumeConfig } from '../../../../native/cli/resume-flags';
import { commonTrainArgs } from '../../../../native/cli/compare-methods';
import { resolveRunConfig, validateRunConfig } from '../../../../native/train/config';
import type { RunConfig } from '../../../../native/protocol';

const root = mkdtempSync(join(tmpdir(), 'long-context-'));
const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 5 }).dir;
const configPath = join(model, 'config.json');
writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), max_position_embeddings: 16 }));
const data = join(root, 'data.jsonl');
writeFileSync(data, '{"instruction":"Say hello to the whole wide world, please.","output":"Hello, whole wide world!"}\n{"instruction":"Say goodbye to everyone in the room.","output":"Goodbye, everyone!"}\n');
const cli = (args: string[]) => spawnSync(process.execPath, ['dist/cli.js', 'train', ...args], { encoding: 'utf8', timeout: 300_000 });
const train = (out: string, extra: string[] = []) => cli(['--model', model, '--data', data, '--out', out, '--max-steps', '2', '--batch-size', '2', '--max-seq-len', '32', '--save-every', '1', '--warmup-steps', '0', ...extra]);
const savedConfig = (out: string) => JSON.parse(readFileSync(runPaths(out).config, 'utf8')) as RunConfig;
const warnings = (text: string) => text.split('\n').filter((line) => line.includes('warning: max_seq_len 32 is past the 16 positions'));

test('without --allow-long-context: exit 1 before any work, the message naming the flag', () => {
  const result = train(join(root, 'refused'));
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /max_seq_len 32 is past the 16 positions .* was trained for \(max_position_embeddings\)/);
  assert.match(result.stderr, /lower --max-seq-len to 16 or less, or pass --allow-long-context if the model handles longer contexts \(rope_scaling\)/);
  assert.equal(readMetrics(join(root, 'refused')).length, 0);
});

test('with it: trains to the end, warned once with what and why; resumed, the saved setting goes on; added on a resume it extends the run', () => {
  const out = join(root, 'allowed');
  const result = train(out, ['--allow-long-context']);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(warnings(result.stdout).length, 1, result.stdout);
  assert.match(warnings(result.stdout)[0], /never learned: quality may drop unless the model uses rope_scaling \(its config\.json has none\)/);
  assert.equal(savedConfig(out).allow_long_context, true);
  assert.equal(readMetrics(out).length, 2);
  // The records (in the Alpaca template) are longer than max_seq_len: the run trained on 32 positions, 16 past the model's.
  assert.match(result.stdout, /\(2 truncated to 32 tokens\)/);

  // A run saved before the option existed (or whose model's config.json shrank): the resume is refused naming the
  // flag, then the flag added on the resume lets it go on and is written back into the run's settings.
  const saved = savedConfig(out);
  delete saved.allow_long_context;
  writeFileSync(runPaths(out).config, JSON.stringify(saved));
  const refused = cli(['--resume', out, '--max-steps', '3']);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /or pass --allow-long-context/);
  const resumed = cli(['--resume', out, '--max-steps', '3', '--allow-long-context']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(warnings(resumed.stdout).length, 1);
  assert.equal(savedConfig(out).allow_long_context, true);
  assert.equal(savedConfig(out).max_steps, 3);
  assert.deepEqual(readMetrics(out).map((m) => m.step), [1, 2, 3]);

  // Now the run's own setting: a plain resume (extending it once more) goes past the positions without the flag.
  const again = cli(['--resume', out, '--max-steps', '4']);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(warnings(again.stdout).length, 1);
  assert.equal(readMetrics(out).length, 4);
});

test('config round-trip: the flag sets allow_long_context, saved and read back as it was; not a boolean is refused', () => {
  const base = { model: '/m', data: '/d.jsonl', out: '/o', maxSeqLen: '32' };
  const on = resolveRunConfig(runConfigFromFlags({ ...base, allowLongContext: true })).config;
  assert.equal(on.allow_long_context, true);
  assert.equal(resolveRunConfig(runConfigFromFlags(base)).config.allow_long_context, false);
  const reread = JSON.parse(JSON.stringify(on)) as RunConfig;
  assert.deepEqual(reread, on);
  assert.deepEqual(validateRunConfig(reread), []);
  // A run written before the option existed has no such key: valid, and it means false.
  const old = { ...on };
  delete old.allow_long_context;
  assert.deepEqual(validateRunConfig(old), []);
  assert.deepEqual(validateRunConfig({ ...on, allow_long_context: 'yes' as unknown as boolean }).map((p) => p.field), ['allow_long_context']);
});

test('resume: --allow-long-context is an extending flag (added, kept), other changes are still refused', () => {
  const saved = resolveRunConfig({ model: '/m', data: '/d.jsonl', out: '/runs/a', max_steps: 40, max_seq_len: 32 }).config;
  assert.equal(resumeConfig(saved, { allowLongContext: true }, new Set(['allowLongContext']), 20).allow_long_context, true);
  assert.equal(resumeConfig(saved, { allowLongContext: false }, new Set(), 20).allow_long_context, false, 'untyped: the run\'s own');
  const allowed = { ...saved, allow_long_context: true };
  assert.equal(resumeConfig(allowed, { allowLongContext: false }, new Set(), 20).allow_long_context, true, 'once on, a resume keeps it');
  assert.throws(() => resumeConfig(saved, { allowLongContext: true, maxSeqLen: '64' }, new Set(['allowLongContext', 'maxSeqLen']), 20),
    /--max-seq-len 64 \(this run has max_seq_len = 32\).*only --max-steps, --epochs and --allow-long-context can extend it/);
});

test('compare-methods passes --allow-long-context to every run it starts', () => {
  const f = { model: '/m', data: '/d', evalSplit: '0', steps: 4, seqLen: 32, rank: 4, lr: '3e-4', batchSize: '2', targetModules: 'q_proj', seed: '0', device: 'cpu' };
  assert.ok(commonTrainArgs({ ...f, allowLongContext: true }).includes('--allow-long-context'));
  assert.ok(!commonTrainArgs(f).includes('--allow-long-context'));
});
