// Hostile and clumsy numbers on `train`: not numbers at all (NaN, "abc"), out of range (negative, zero, fractions),
// absurd (1e9 epochs, rank 1,000,000, alpha 1e308), past what the model allows (rank above a module's side, a length
// past its positions), names that are not in the model, and settings whose product would never end. Each is refused
// before any work with the field, the value and what to use instead; the --out folder is left for a corrected run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, expectOutcome, hostileFixture } from './hostile-cli';

const fx = hostileFixture('numbers');
const train = (...flags: string[]) => {
  const out = fx.path('run');
  return { out, result: fx.train(out, ...flags) };
};
/** Refused with exit 1 naming `field`; nothing trained, so the same --out takes a corrected run. */
const refused = (flags: string[], ...patterns: RegExp[]) => {
  const { out, result } = train(...flags);
  expectOutcome(result, 1, ...patterns);
  assert.ok(!existsSync(join(out, 'metrics.jsonl')) || readFileSync(join(out, 'metrics.jsonl'), 'utf8') === '', `${flags.join(' ')}: no step trained`);
};

test('--lr NaN, "abc", -1, 0 and 2 are refused naming the learning rate and its range', () => {
  refused(['--lr', 'NaN'], /--lr must be a number, got "NaN"/);
  refused(['--lr', 'abc'], /--lr must be a number, got "abc"/);
  for (const lr of ['-1', '0', '2']) refused(['--lr', lr], /learning_rate: must be in \(0, 1\], got/, /1e-4 to 3e-4/);
});

test('absurd sizes are refused with the bound and why: epochs 1e9, rank 1,000,000, accumulation 1e9, alpha 1e308', () => {
  refused(['--max-steps', '0', '--epochs', '1e9'], /max_steps|num_epochs/);
  refused(['--rank', '1000000'], /r: must be at most 65,536, got 1000000/);
  refused(['--grad-accum', '1000000000'], /gradient_accumulation_steps: must be at most 65,536/);
  refused(['--alpha', '1e308'], /lora_alpha: must be a positive number up to 1,000,000, got 1e\+308/);
  refused(['--alpha', 'Infinity'], /--alpha must be a number/);
  refused(['--weight-decay', '1e6'], /weight_decay: learning_rate × weight_decay is 300, so each step would multiply the weights by 1 − that/, /0 to 0\.1/);
});

test('--epochs 1e9 without --max-steps is refused at 10,000 epochs', () => {
  const out = fx.path('run');
  const result = cli(['train', '--model', fx.model, '--data', fx.data, '--out', out, '--epochs', '1e9']);
  expectOutcome(result, 1, /num_epochs: must be at most 10,000, got 1000000000/);
});

test('bounds from the model: a rank above a module\'s smaller side, a length past max_position_embeddings', () => {
  refused(['--rank', '100', '--target-modules', 'all-linear'], /rank 100 is larger than model\.layers\.0\.self_attn\.[kv]_proj \[32, 64\]/, /choose r ≤ 32/);
  refused(['--max-seq-len', '16384'], /max_seq_len 16384 is past the 4096 positions/, /lower --max-seq-len to 4096/);
});

test('--max-seq-len 1, --batch-size 0 / 1.5, --dropout 1, --eval-split 1, --seed -1, --save-total-limit -1 are each named', () => {
  refused(['--max-seq-len', '1'], /max_seq_len: must be a whole number ≥ 8, got 1/);
  refused(['--batch-size', '0'], /micro_batch_size: must be a whole number ≥ 1, got 0/);
  refused(['--batch-size', '1.5'], /micro_batch_size: must be a whole number ≥ 1, got 1\.5/);
  refused(['--dropout', '1'], /lora_dropout: must be in \[0, 1\), got 1/);
  refused(['--eval-split', '1'], /eval_split: must be in \[0, 1\), got 1/);
  refused(['--seed', '-1'], /seed: must be a whole number ≥ 0/);
  refused(['--seed', '4294967296'], /seed: must be at most 4,294,967,295, got 4294967296 — seeds are 32-bit/);
  refused(['--save-total-limit', '-1'], /save_total_limit: must be a whole number ≥ 0/);
  refused(['--warmup-steps', '-5'], /warmup_steps: must be a whole number ≥ 0/);
});

test('several wrong numbers are listed together, each with its field', () => {
  refused(['--lr', '-1', '--batch-size', '0', '--dropout', '2'], /invalid training options \(3\)/, /learning_rate/, /micro_batch_size/, /lora_dropout/);
});

test('an eval split that leaves nothing to train on is refused with what to do', () => {
  refused(['--eval-split', '0.9'], /eval split 0\.9 of 4 records leaves nothing to train on/, /--eval-data/);
});

test('a target module that does not exist is named with the modules there are', () => {
  refused(['--target-modules', 'q_proj,attn.c_attn'], /target module "attn\.c_attn" not in this Qwen2ForCausalLM/, /choose from: q_proj, k_proj/);
  refused(['--target-modules', ','], /target_modules: must be a non-empty list/);
});

test('epochs × accumulation that would take months is refused before the first step, naming both settings', () => {
  refused(['--max-steps', '20000', '--grad-accum', '65536'], /1,310,720,000 forward and backward passes \(20,000 steps × gradient_accumulation_steps 65,536, from max_steps 20,000\)/, /lower --epochs \/ --max-steps or --grad-accum/);
});

test('unknown flags, choices and a device that does not exist are usage errors or named', () => {
  const { result } = train('--rnak', '4');
  expectOutcome(result, 2, /unknown option '--rnak'/);
  expectOutcome(train('--scheduler', 'exponential').result, 2, /exponential.*(choices|Allowed)/i);
  refused(['--device', 'gpu'], /device: must be auto, cpu, cuda or cuda:N, got "gpu"/);
  expectOutcome(cli(['train', '--data', fx.data, '--out', fx.path('run')]), 1, /model: is required/);
});

test('--max-steps 1e1 is the whole number 10 as JavaScript reads it: it trains 10 steps (exit 0)', () => {
  expectOutcome(train('--max-steps', '1e1', '--batch-size', '4').result, 0, /done after 10 steps/);
});

test('numbers Number() reads but nobody types as one (0x10, 0b11, 0o7, 1_000, " 10 ", +5, 10abc, "") are refused naming flag and value', () => {
  for (const value of ['0x10', '0b11', '0o7', '1_000', ' 10 ', '+5', '10abc', '']) {
    refused(['--max-steps', value], new RegExp(`--max-steps must be a number, got "${value.replace(/[+]/g, '\\+')}"`), /plain decimal/);
  }
  refused(['--lr', '0x1p-3'], /--lr must be a number, got "0x1p-3"/);
});

test('every command reads its numeric flags the same way: 0x10 is refused by generate, compose, compare-methods and validate', () => {
  const out = fx.path('out');
  expectOutcome(cli(['generate', '--model', fx.model, '--prompt', 'Hi', '--max-new-tokens', '0x10', '--device', 'cpu']), 1, /--max-new-tokens must be a whole number ≥ 1, got "0x10".*e\.g\. --max-new-tokens 16/);
  expectOutcome(cli(['compose', '--model', fx.model, '--adapters', 'a,b', '--data', fx.data, '--out', out, '--steps', '0x10']), 1, /--steps must be a number, got "0x10"/);
  expectOutcome(cli(['compare-methods', '--model', fx.model, '--data', fx.data, '--methods', 'lora,dora', '--steps', '0x10', '--out', out]), 1, /--steps must be a whole number ≥ 2, got "0x10"/);
  expectOutcome(cli(['validate', fx.data, '--max-problems', '0x10']), 1, /--max-problems must be a whole number ≥ 1, got "0x10"/);
  assert.ok(!existsSync(out), 'nothing written');
});
