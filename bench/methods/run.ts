// bench/methods: the methods side by side on the demo task — the demo model (scripts/make-demo-model.ts) fine-tuned on
// the sample English → Spanish phrases (media/sample-data/instructions.jsonl, eval on held-out.jsonl) with the demo's
// settings (scripts/demo.mjs: r 16, alpha 32, all-linear, lr 3e-3 cosine with 10 warm-up steps, batch 8, 64 tokens,
// seed 7, 300 steps) once per method, each `lora-studio train` in its own process as `lora-studio compare-methods` runs
// them (native/train/compare-runner.ts: the same rows, measured the same way, and the same table). There is no peer:
// the rows compare with the first (LoRA). Method settings are compare-methods' (native/train/compare-methods.ts
// methodSetup at r 16): DoRA --use-dora; PiSSA --init pissa_niter_4; AdaLoRA init_r 24 → target_r 16, budget held for
// the first 10% of steps, pattern fixed for the last 20%, reallocated every 10 steps; ReLoRA a restart every third of
// the run (pruning 99% of the AdamW state). AdaLoRA's losses are shown less PEFT's orthogonal regularization, marked *.
// Usage: npx tsx bench/methods/run.ts [--steps 300] [--only lora,dora,pissa,adalora,relora,prompt-tuning,prefix-tuning] [--results DIR] [--label NAME]
//        [--reuse]   (report the run folders of an earlier run with the same --steps instead of training again)
// Writes bench/results/<date>-methods[-label].txt (the table and the settings); run folders go to $TMPDIR/bench-methods.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../native/util/atomic-write';
import { parameterCount } from '../../native/model/model-folder';
import { openWeights } from '../../native/model/safetensors';
import { compareTable, methodSetup } from '../../native/train/compare-methods';
import type { CompareResult } from '../../native/train/compare-events';
import { readMethodRun, runMethod } from '../../native/train/compare-runner';
import { readMetrics } from '../../native/train/run-dir';

const root = resolve(import.meta.dirname, '..', '..');
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const steps = Number(option('--steps', '300'));
const resultsDir = resolve(option('--results', join(root, 'bench', 'results')));
const label = option('--label', '');
const reuse = args.includes('--reuse');
const RANK = 16;
const work = join(tmpdir(), 'bench-methods');
const cli = join(root, 'dist', 'cli.js');
const data = join(root, 'media', 'sample-data', 'instructions.jsonl');
const heldOut = join(root, 'media', 'sample-data', 'held-out.jsonl');
const model = join(work, 'model');

const METHODS = ['lora', 'dora', 'pissa', 'adalora', 'relora', 'prompt-tuning', 'prefix-tuning'];
const only = option('--only', METHODS.join(',')).split(',');
if (!Number.isInteger(steps) || steps < 2 || only.some((m) => !METHODS.includes(m))) {
  console.error(`usage: npx tsx bench/methods/run.ts [--steps 300] [--only ${METHODS.join(',')}] [--results DIR] [--label NAME]`);
  process.exit(2);
}

// The demo's settings (scripts/demo.mjs), except evaluation: once at the end, so no step's time holds an eval pass.
const COMMON = [
  '--model', model, '--data', data, '--eval-data', heldOut, '--rank', String(RANK), '--alpha', String(2 * RANK), '--dropout', '0',
  '--target-modules', 'all-linear', '--lr', '3e-3', '--warmup-steps', '10', '--scheduler', 'cosine', '--batch-size', '8',
  '--max-seq-len', '64', '--max-steps', String(steps), '--save-every', '0', '--eval-every', '0', '--seed', '7', '--gradient-checkpointing', 'off',
];

function sh(argv: string[]): void {
  const result = spawnSync(process.execPath, argv, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`\`node ${argv.join(' ')}\` failed (exit ${result.status ?? result.signal})`);
}

if (!existsSync(cli)) sh(['esbuild.mjs']);
mkdirSync(work, { recursive: true });
// Made afresh each time, as the demo does: a folder left by an older script may hold other weights.
if (!reuse) {
  rmSync(model, { recursive: true, force: true });
  sh(['--import', 'tsx', 'scripts/make-demo-model.ts', model]);
}
const modelParams = parameterCount(openWeights(model));

const rows: CompareResult[] = [];
async function measure(method: string): Promise<void> {
  const setup = methodSetup(method, steps, RANK);
  const runDir = join(work, method);
  const started = performance.now();
  const request = { method, runDir, modelParams, steps, r: RANK };
  let row: CompareResult;
  if (reuse) {
    // An earlier run's folder: its peak memory was not kept (the process is gone).
    row = readMethodRun(request, { done: { type: 'done', adapter: runDir, reason: 'completed', step: readMetrics(runDir).at(-1)?.step ?? 0 } });
  } else {
    rmSync(runDir, { recursive: true, force: true });
    console.error(`${setup.label}: training ${steps} steps…`);
    row = await runMethod({ ...request, cli: { node: process.execPath, args: [cli] }, trainArgs: [...COMMON, ...setup.flags], onLog: (line) => console.error(line) }).result;
    if (row.status !== 'completed') throw new Error(`${setup.label}: ${row.status}${row.error ? ` (${row.error})` : ''}`);
  }
  rows.push(row);
  console.error(`${setup.label}: ${reuse ? 'read' : `done in ${((performance.now() - started) / 1000).toFixed(0)} s`} (final loss ${row.final_train_loss?.toFixed(4)})`);
}

async function main(): Promise<void> {
  // One method at a time: each has the machine to itself.
  for (const method of only) await measure(method);
  report();
}

function report(): void {
  const text = [
    `Methods on the demo task: demo model (Qwen2ForCausalLM, 4 layers, hidden 256, 1,024 tokens), ${steps} steps of the`,
    'sample English → Spanish phrases, r 16 / alpha 32 all-linear, lr 3e-3 cosine (10 warm-up), batch 8, 64 tokens, seed 7;',
    `eval loss on the 12 held-out phrases at the end. CPU: ${cpus()[0]?.model ?? '?'} ×${cpus().length}, node ${process.version}.`,
    '',
    compareTable(rows),
    '',
    'trainable params: tensors with AdamW moments in the final checkpoint (% of the model\'s stored parameters); output size:',
    'the adapter files (adapter_config.json, adapter_model.safetensors, float32); peak RSS: each method\'s own process;',
    'median step and tokens/s: elapsed_s and tokens differences of metrics.jsonl (the first step and the eval step left out).',
  ].join('\n');
  console.log(text);
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${new Date().toISOString().slice(0, 10)}-methods${label ? `-${label}` : ''}.txt`);
  writeFileAtomic(file, `${text}\n`);
  console.error(`wrote ${file}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
