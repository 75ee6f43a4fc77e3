// bench/methods: the methods side by side on the demo task — the demo model (scripts/make-demo-model.ts) fine-tuned on
// the sample English → Spanish phrases (media/sample-data/instructions.jsonl, eval on held-out.jsonl) with the demo's
// settings (scripts/demo.mjs: r 16, alpha 32, all-linear, lr 3e-3 cosine with 10 warm-up steps, batch 8, 64 tokens,
// seed 7, 300 steps) once per method through `lora-studio train`, one process at a time. Prints a markdown table:
// trainable parameters (from the checkpoint's AdamW state: what was trained), adapter size (adapter_model.safetensors),
// final train loss (mean of the last 10 steps), eval loss on the held-out phrases (once, at the end), median step
// time (metrics.jsonl elapsed_s differences). There is no peer: the rows compare with the first (LoRA).
// Method settings: DoRA --use-dora; PiSSA --init pissa_niter_4; AdaLoRA init_r 24 → target_r 16 (PEFT's 1.5 ratio,
// ending at LoRA's r on average), budget held for the first 10% of steps, pattern fixed for the last 20%, reallocated
// every 10 steps; ReLoRA a restart every third of the run (pruning 99% of the AdamW state, PEFT-style defaults).
// AdaLoRA's losses include PEFT's orthogonal regularization (0.5 × mean ‖AAᵀ−I‖_F, ‖BᵀB−I‖_F); its row shows them
// less that term at the final weights (from the checkpoint), i.e. the cross-entropy the other rows show, marked *.
// Usage: npx tsx bench/methods/run.ts [--steps 300] [--only lora,dora,pissa,adalora,relora] [--results DIR] [--label NAME]
//        [--reuse]   (report the run folders of an earlier run with the same --steps instead of training again)
// Writes bench/results/<date>-methods[-label].txt (the table and the settings); run folders go to $TMPDIR/bench-methods.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../native/util/atomic-write';
import { openSafetensors, readTensorF32 } from '../../native/model/safetensors';
import { finalTrainLoss, lastEvalLoss, markdownTable, medianStepSeconds, orthRegularization, parseMetrics, trainableFromState, type MethodRow } from './table';

const root = resolve(import.meta.dirname, '..', '..');
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const steps = Number(option('--steps', '300'));
const resultsDir = resolve(option('--results', join(root, 'bench', 'results')));
const label = option('--label', '');
const reuse = args.includes('--reuse');
const ORTH_REG_WEIGHT = 0.5; // PEFT's default, which the AdaLoRA row keeps
const work = join(tmpdir(), 'bench-methods');
const cli = join(root, 'dist', 'cli.js');
const data = join(root, 'media', 'sample-data', 'instructions.jsonl');
const heldOut = join(root, 'media', 'sample-data', 'held-out.jsonl');
const model = join(work, 'model');

const cycle = Math.max(1, Math.round(steps / 3));
const METHODS: Record<string, { name: string; flags: string[] }> = {
  lora: { name: 'LoRA', flags: [] },
  dora: { name: 'DoRA', flags: ['--use-dora'] },
  pissa: { name: 'PiSSA (pissa_niter_4)', flags: ['--init', 'pissa_niter_4'] },
  adalora: {
    name: 'AdaLoRA (init_r 24 → target_r 16)',
    flags: ['--method', 'adalora', '--init-r', '24', '--target-r', '16', '--tinit', String(Math.round(steps * 0.1)),
      '--tfinal', String(Math.round(steps * 0.2)), '--delta-t', '10'],
  },
  relora: { name: `ReLoRA (restart every ${cycle})`, flags: ['--relora-every', String(cycle), '--relora-prune', '0.99'] },
};
const only = option('--only', Object.keys(METHODS).join(',')).split(',');
if (!Number.isInteger(steps) || steps < 2 || only.some((m) => !(m in METHODS))) {
  console.error(`usage: npx tsx bench/methods/run.ts [--steps 300] [--only ${Object.keys(METHODS).join(',')}] [--results DIR] [--label NAME]`);
  process.exit(2);
}

// The demo's settings (scripts/demo.mjs), except evaluation: once at the end, so no step's time holds an eval pass.
const COMMON = [
  '--data', data, '--eval-data', heldOut, '--rank', '16', '--alpha', '32', '--dropout', '0', '--target-modules', 'all-linear',
  '--lr', '3e-3', '--warmup-steps', '10', '--scheduler', 'cosine', '--batch-size', '8', '--max-seq-len', '64',
  '--max-steps', String(steps), '--save-every', '0', '--eval-every', '0', '--seed', '7', '--gradient-checkpointing', 'off',
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

/** AdaLoRA's orthogonal regularization at the checkpoint's weights: every lora_A and lora_B at init_r (pruned triplets too). */
function finalPenalty(checkpoint: string, shapes: Record<string, number[]>): number {
  const file = openSafetensors(join(checkpoint, 'optimizer_state.safetensors'));
  const mats = Object.keys(shapes).filter((n) => /\.lora_[AB]$/.test(n)).map((n) => ({
    kind: n.endsWith('A') ? 'A' as const : 'B' as const, data: readTensorF32(file, n), rows: shapes[n][0], cols: shapes[n][1],
  }));
  return orthRegularization(mats, ORTH_REG_WEIGHT);
}

const rows: MethodRow[] = [];
for (const key of only) {
  const { name, flags } = METHODS[key];
  const out = join(work, key);
  const started = performance.now();
  if (!reuse) {
    rmSync(out, { recursive: true, force: true });
    console.error(`${name}: training ${steps} steps…`);
    sh([cli, 'train', '--model', model, '--out', out, ...COMMON, ...flags]);
  }
  const wallS = (performance.now() - started) / 1000;
  const records = parseMetrics(readFileSync(join(out, 'metrics.jsonl'), 'utf8'));
  const checkpoint = join(out, 'checkpoints', `step-${steps}`);
  const state = JSON.parse(readFileSync(join(checkpoint, 'trainer_state.json'), 'utf8')) as { tensors: Record<string, number[]> };
  const row: MethodRow = {
    method: name, trainableParams: trainableFromState(state.tensors), adapterBytes: statSync(join(out, 'adapter_model.safetensors')).size,
    finalLoss: finalTrainLoss(records), evalLoss: lastEvalLoss(records), stepS: medianStepSeconds(records),
    ...(key === 'adalora' ? { penalty: finalPenalty(checkpoint, state.tensors) } : {}),
  };
  rows.push(row);
  console.error(`${name}: ${reuse ? 'read' : `done in ${wallS.toFixed(0)} s`} (final loss ${row.finalLoss.toFixed(4)}${row.penalty !== undefined ? `, of which regularization ${row.penalty.toFixed(4)}` : ''})`);
}

const report = [
  `Methods on the demo task: demo model (Qwen2ForCausalLM, 4 layers, hidden 256, 1,024 tokens), ${steps} steps of the`,
  'sample English → Spanish phrases, r 16 / alpha 32 all-linear, lr 3e-3 cosine (10 warm-up), batch 8, 64 tokens, seed 7;',
  `eval loss on the 12 held-out phrases at the end. CPU: ${cpus()[0]?.model ?? '?'} ×${cpus().length}, node ${process.version}.`,
  '',
  markdownTable(rows),
  '',
  ...rows.filter((r) => r.penalty !== undefined).map((r) => `* ${r.method}: less the orthogonal regularization in its losses (${r.penalty!.toFixed(4)} at the ` +
    `final weights; PEFT adds it to every loss): train ${r.finalLoss.toFixed(4)}, eval ${r.evalLoss?.toFixed(4) ?? '—'} as logged.`),
  'trainable params: tensors with AdamW moments in the final checkpoint; adapter size: adapter_model.safetensors (float32);',
  'median step: elapsed_s differences of metrics.jsonl (the first step and the eval step left out).',
].join('\n');
console.log(report);
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `${new Date().toISOString().slice(0, 10)}-methods${label ? `-${label}` : ''}.txt`);
writeFileAtomic(file, `${report}\n`);
console.error(`wrote ${file}`);
