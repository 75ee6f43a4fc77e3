// Tests of native/train/compare-methods.ts: the --methods list (the engine's methods and the LoRA variants, unknown
// ones refused with the known list), each method's train flags, a result row from a run's numbers, the summary, the
// table and the reading of --json lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUserError } from '../../../../native/util/errors';
import { comparisonId, compareResult, compareSummary, compareTable, knownCompareMethods, methodSetup, parseMethodList, type RunNumbers } from '../../../../native/train/compare-methods';
import { parseCompareLine, type CompareResult } from '../../../../native/train/compare-events';
import { Command } from 'commander';
import { engineMethods } from '../../../../native/cli/method-choices';
import { addTrainOptions } from '../../../../native/cli/train-options';

test('known methods: every method train --method accepts (the engine\'s union), then the LoRA variants', () => {
  const known = knownCompareMethods(engineMethods());
  assert.deepEqual(known.slice(0, engineMethods().length), engineMethods());
  assert.ok(engineMethods().includes('lora') && engineMethods().includes('adalora'), engineMethods().join());
  const trainMethod = addTrainOptions(new Command('train')).options.find((o) => o.long === '--method');
  assert.deepEqual(trainMethod?.argChoices, engineMethods(), 'what train --method accepts');
  for (const m of engineMethods()) assert.ok(known.includes(m), m);
  for (const m of ['dora', 'qlora', 'pissa', 'relora']) assert.ok(known.includes(m), m);
  assert.deepEqual(parseMethodList(' lora, DoRA ,qlora,', known), ['lora', 'dora', 'qlora']);
  assert.deepEqual(knownCompareMethods(['lora', 'dora', 'lisa']), ['lora', 'dora', 'lisa', 'qlora', 'pissa', 'relora'], 'a variant the engine gains as a method is listed once');
});

test('unknown, repeated or no methods are refused, naming the known ones', () => {
  const known = knownCompareMethods(['lora', 'adalora']);
  const refused = (text: string) => {
    try {
      parseMethodList(text, known);
    } catch (error) {
      assert.ok(isUserError(error));
      return error.message;
    }
    assert.fail(`"${text}" was accepted`);
  };
  const message = refused('lora,lisa2,vera');
  assert.match(message, /unknown methods lisa2, vera/);
  assert.ok(message.includes('lora, adalora, dora, qlora, pissa, relora'), message);
  assert.match(refused('lora,lora'), /more than once/);
  assert.match(refused(' , '), /empty/);
});

test('method flags: the variants are settings of LoRA; AdaLoRA and ReLoRA scale with the steps; later methods by name', () => {
  assert.deepEqual(methodSetup('lora', 20, 8).flags, []);
  assert.deepEqual(methodSetup('dora', 20, 8).flags, ['--use-dora']);
  assert.deepEqual(methodSetup('qlora', 20, 8).flags, ['--quantization', 'nf4']);
  assert.deepEqual(methodSetup('pissa', 20, 8).flags, ['--init', 'pissa_niter_4']);
  assert.deepEqual(methodSetup('relora', 300, 16), { label: 'ReLoRA (restart every 100)', flags: ['--relora-every', '100', '--relora-prune', '0.99'] });
  // The bench's AdaLoRA at 300 steps and r 16: init_r 24 → 16, tinit 30, tfinal 60, deltaT 10.
  assert.deepEqual(methodSetup('adalora', 300, 16).flags, ['--method', 'adalora', '--init-r', '24', '--target-r', '16', '--tinit', '30', '--tfinal', '60', '--delta-t', '10']);
  assert.deepEqual(methodSetup('adalora', 4, 1).flags.slice(2, 6), ['--init-r', '2', '--target-r', '1'], 'init_r above target_r even at r 1');
  assert.deepEqual(methodSetup('prompt-tuning', 20, 8), { label: 'Prompt tuning', flags: ['--method', 'prompt-tuning'] });
  assert.deepEqual(methodSetup('vera', 20, 8), { label: 'vera', flags: ['--method', 'vera'] }, 'a method the engine gains later: by name, with its defaults');
});

const numbers = (over: Partial<RunNumbers> = {}): RunNumbers => ({
  method: 'lora', runDir: '/c/lora', status: 'completed', modelParams: 1000, steps: 4, r: 8, outputBytes: 500, peakRssBytes: 2e8,
  records: [
    { step: 1, loss: 4, elapsed_s: 10, tokens: 10 }, { step: 2, loss: 3, elapsed_s: 10.5, tokens: 20 },
    { step: 3, loss: 2, elapsed_s: 11.5, tokens: 30 }, { step: 4, loss: 1, elapsed_s: 30, tokens: 40, eval_loss: 1.5 },
  ],
  stateTensors: { 'a.lora_A': [2, 5], 'a.lora_A.exp_avg': [2, 5], 'a.lora_A.exp_avg_sq': [2, 5], 'base': [10, 10] },
  ...over,
});

test('a result row: every number from the run — trainable from the checkpoint, median step and tokens/s, losses', () => {
  const r = compareResult(numbers());
  assert.equal(r.trainable_params, 10);
  assert.equal(r.trainable_percent, 1);
  assert.equal(r.output_bytes, 500);
  assert.equal(r.peak_rss_bytes, 2e8);
  assert.equal(r.median_step_ms, 750, 'steps 2 and 3 (0.5 s, 1 s); step 1 compiles, step 4 evaluates');
  assert.equal(r.tokens_per_s, 15, 'median of 20 and 10 tokens/s');
  assert.equal(r.final_train_loss, 2.5);
  assert.equal(r.final_eval_loss, 1.5);
  assert.equal(r.steps, 4);
  const empty = compareResult(numbers({ status: 'failed', records: [], stateTensors: undefined, outputBytes: undefined, peakRssBytes: undefined, error: 'no data' }));
  assert.deepEqual([empty.trainable_params, empty.trainable_percent, empty.output_bytes, empty.peak_rss_bytes, empty.median_step_ms, empty.tokens_per_s, empty.final_train_loss, empty.final_eval_loss],
    [null, null, null, null, null, null, null, null]);
  assert.equal(empty.error, 'no data');
  assert.ok(JSON.stringify(empty).includes('"median_step_ms":null'), 'null, not NaN, in JSON');
});

test('summary: best eval cross-entropy (AdaLoRA less its regularization), smallest output, fastest — of completed runs only', () => {
  const rows: CompareResult[] = [
    compareResult(numbers()),
    compareResult(numbers({ method: 'adalora', outputBytes: 400, penalty: 0.6, records: numbers().records.map((x) => ({ ...x, elapsed_s: x.elapsed_s * 2 })) })),
    compareResult(numbers({ method: 'dora', status: 'stopped', outputBytes: 1, records: numbers().records.map((x) => ({ ...x, elapsed_s: x.elapsed_s / 10 })) })),
  ];
  const s = compareSummary(['lora', 'adalora', 'dora'], rows, true, '/c');
  assert.deepEqual(s.best_eval_loss, { method: 'adalora', value: 1.5 - 0.6 });
  assert.deepEqual(s.smallest_output, { method: 'adalora', bytes: 400 });
  assert.deepEqual(s.fastest, { method: 'lora', median_step_ms: 750 });
  assert.deepEqual([s.completed, s.stopped], [['lora', 'adalora'], true]);
  assert.deepEqual(compareSummary(['lora'], [], false, '/c').best_eval_loss, null);
});

test('the table: a row per method, padded, AdaLoRA\'s losses less its regularization and marked, a stopped run said so', () => {
  const lines = compareTable([
    compareResult(numbers()),
    compareResult(numbers({ method: 'adalora', penalty: 0.5 })),
    compareResult(numbers({ method: 'dora', status: 'stopped', records: numbers().records.slice(0, 2) })),
  ]).split('\n');
  assert.match(lines[0], /^\| method +\| trainable params \| +output size \| +peak RSS \| +median step \| +tokens\/s \| train loss \(last 10\) \| eval loss \|$/);
  assert.match(lines[2], /^\| LoRA +\| +10 \(1\.00%\) \| +0\.5 KiB \| +190\.73 MiB \| +750 ms \| +15 \| +2\.5000 \| +1\.5000 \|$/);
  assert.match(lines[3], /\| +2\.0000\* \| +1\.0000\* \|$/);
  assert.match(lines[4], /^\| DoRA \(stopped at step 2\) +\|.*\| +— \|$/);
  assert.ok(lines.slice(0, 5).every((l) => l.length === lines[0].length), 'columns padded to one width');
  assert.match(lines[5], /^\* AdaLoRA .*0\.5000/);
});

test('--json lines: events by type; anything else (a log line, another tool\'s JSON) is not one', () => {
  assert.equal(parseCompareLine(JSON.stringify(compareResult(numbers())))?.type, 'result');
  assert.equal(parseCompareLine('{"type":"progress","method":"lora","step":1,"total_steps":4,"loss":2}')?.type, 'progress');
  assert.equal(parseCompareLine('{"type":"summary","methods":[]}')?.type, 'summary');
  assert.equal(parseCompareLine('{"type":"progress","step":1}'), undefined, 'a method event without its method');
  assert.equal(parseCompareLine('{"type":"step","step":1}'), undefined);
  assert.equal(parseCompareLine('loading…'), undefined);
  assert.equal(parseCompareLine('null'), undefined);
});

test('a comparison\'s folder name: the UTC time and the model folder\'s name, made safe, on either separator', () => {
  const now = new Date('2026-11-29T21:05:09Z');
  assert.equal(comparisonId('/models/Qwen2.5 0.5B/', now), '2026-11-29_21-05-09_Qwen2.5-0.5B');
  assert.equal(comparisonId('C:\\models\\llama', now), '2026-11-29_21-05-09_llama');
  assert.equal(comparisonId('/', now), '2026-11-29_21-05-09_model');
});
