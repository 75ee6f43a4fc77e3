// bench/train-cpu: one LoRA training step on a Qwen2.5-0.5B-shaped model with random float32 weights, on the CPU —
// ours (the engine through the trainer) against PyTorch with the same LoRA, hand-written in bench/peers/torch_lora.py
// (Debian's python3-torch has no peft) — same model files, same token batches, same initial adapter, same AdamW.
// Agreement first (the losses of both over the same steps), then median step time after warm-up and peak RSS,
// each side in its own process. Last line: ours/peer for tokens/s and peak RSS.
// Usage: npx tsx bench/train-cpu/run.ts [--seq 128] [--batch 1] [--steps 6] [--warmup 2] [--layers 24] [--threads 2]
//        [--targets all-linear|q_proj,k_proj,…] [--gradient-checkpointing on|off]
// Needs: python3 with torch and numpy: apt-get install python3-torch python3-numpy libopenblas0-pthread (without
// OpenBLAS, Debian's torch falls back to the generic reference BLAS, ~20x slower: a peer not worth comparing with).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeTinyModel } from '../../test/fixtures/tiny-model/index';
import { loadModelFolder } from '../../native/model/model-folder';
import { resolveTargets } from '../../native/model/lora';
import { writePeftAdapter } from '../../native/model/peft-io';
import { createTrainer } from '../../native/train/trainer';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../native/protocol';
import type { MicroBatch } from '../../native/train/loop';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const seq = flag('--seq', 128), batch = flag('--batch', 1), steps = flag('--steps', 6), warmup = flag('--warmup', 2);
const layers = flag('--layers', 24), threads = flag('--threads', 2);
const targetFlag = args.includes('--targets') ? args[args.indexOf('--targets') + 1] : 'all-linear';
const targetModules: string[] | 'all-linear' = targetFlag === 'all-linear' ? 'all-linear' : targetFlag.split(',');
const checkpointing = (args.includes('--gradient-checkpointing') ? args[args.indexOf('--gradient-checkpointing') + 1] : 'on') === 'on';
const root = resolve(import.meta.dirname, '..', '..');
const work = join(tmpdir(), `bench-train-cpu-${layers}l`);

// The Qwen2.5-0.5B shape (config.json of Qwen/Qwen2.5-0.5B), random weights.
const modelDir = join(work, 'model');
if (!existsSync(join(modelDir, 'config.json'))) {
  console.error(`making a Qwen2.5-0.5B-shaped model (${layers} layers) in ${modelDir}…`);
  makeTinyModel(modelDir, {
    architecture: 'Qwen2ForCausalLM', layers, hidden: 896, heads: 14, kvHeads: 2, intermediate: 4864, vocab: 'full', tie: true, dtype: 'float32', seed: 1,
  });
}
const model = loadModelFolder(modelDir);
const config: RunConfig = {
  ...DEFAULT_RUN_OPTIONS, model: modelDir, data: '', out: work, r: 16, lora_alpha: 32, lora_dropout: 0, target_modules: targetModules,
  learning_rate: 2e-4, max_grad_norm: 0, micro_batch_size: batch, max_seq_len: seq, seed: 1, gradient_checkpointing: checkpointing,
};
const targets = resolveTargets(model.config, targetModules);

// Token batches: deterministic ids, loss on every position (pre-shifted labels).
let state = 12345;
const nextId = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) % 150000) + 10;
const batches: MicroBatch[] = Array.from({ length: 2 }, () => {
  const inputIds = Array.from({ length: batch }, () => Array.from({ length: seq }, nextId));
  const labels = inputIds.map((row) => row.map((_, i) => (i + 1 < row.length ? row[i + 1] : -100)));
  return { inputIds, labels, attentionMask: inputIds.map((row) => row.map(() => 1)) };
});
mkdirSync(work, { recursive: true });
writeFileSync(join(work, 'batches.json'), JSON.stringify(batches.map((b) => ({ input_ids: b.inputIds, labels: b.labels, attention_mask: b.attentionMask }))));

async function ours() {
  const trainer = await createTrainer(model, config, { device: { provider: 'cpu', deviceId: 0 }, targets });
  writePeftAdapter(join(work, 'adapter'), { config, baseModel: modelDir, targets, weights: trainer.loraWeights(), dtype: 'float32' });
  const losses: number[] = [], times: number[] = [];
  for (let step = 0; step < steps; step += 1) {
    const started = performance.now();
    const result = await trainer.step([batches[step % batches.length]], config.learning_rate);
    times.push((performance.now() - started) / 1000);
    losses.push(result.loss);
  }
  await trainer.dispose();
  return { losses, times, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tokensPerStep = batch * (seq - 1);

// The first Python with torch: $PYTHON, then python3 on PATH, then Debian's (pyenv shims often hide it).
const python = [process.env.PYTHON, 'python3', '/usr/bin/python3'].find((candidate) => candidate && spawnSync(candidate, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0);
if (!python) {
  console.error('bench/train-cpu: the peer needs python3 with torch and numpy — apt-get install python3-torch python3-numpy libopenblas0-pthread');
  process.exit(2);
}
async function main(): Promise<void> {
  const mine = await ours();
  const peerOut = execFileSync(python as string, [
    join(root, 'bench', 'peers', 'torch_lora.py'), '--model', modelDir, '--adapter', join(work, 'adapter'), '--batches', join(work, 'batches.json'),
    '--steps', String(steps), '--warmup', String(warmup), '--threads', String(threads), '--lr', String(config.learning_rate),
  ], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const peer = JSON.parse(peerOut.trim().split('\n').pop()!) as { peer: string; losses: number[]; step_s: number[]; peak_rss_mb: number };

  const oursStep = median(mine.times.slice(warmup)), peerStep = median(peer.step_s.slice(warmup));
  const maxLossDiff = Math.max(...mine.losses.map((l, i) => Math.abs(l - peer.losses[i])));
  console.log(`model: Qwen2.5-0.5B shape, ${layers} layers, float32, LoRA r=16 alpha=32 ${targetFlag} (${targets.length} modules); batch ${batch} × ${seq} tokens; ${threads} threads`);
  console.log(`losses ours: ${mine.losses.map((l) => l.toFixed(4)).join(' ')}`);
  console.log(`losses peer: ${peer.losses.map((l) => l.toFixed(4)).join(' ')}  (max |diff| ${maxLossDiff.toExponential(2)})`);
  console.log(`ours (gradient checkpointing ${checkpointing ? 'on' : 'off'}): ${(tokensPerStep / oursStep).toFixed(1)} tokens/s (median step ${oursStep.toFixed(2)} s), peak RSS ${mine.peakRssMb.toFixed(0)} MiB`);
  console.log(`peer (${peer.peer}): ${(tokensPerStep / peerStep).toFixed(1)} tokens/s (median step ${peerStep.toFixed(2)} s), peak RSS ${peer.peak_rss_mb.toFixed(0)} MiB`);
  if (maxLossDiff > 1e-2) console.log('WARNING: the losses disagree by more than 1e-2; the timings compare different work');
  console.log(`ours/peer: tokens/s ${(peerStep / oursStep).toFixed(2)}x, peak RSS ${(mine.peakRssMb / peer.peak_rss_mb).toFixed(2)}x`);
}

void main();
