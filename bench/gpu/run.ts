// bench/gpu: our engine against PyTorch + transformers + peft on the same GPU, same model, same data, same initial
// LoRA weights. Qwen2.5-0.5B-shaped random bf16 model (bench/gpu/peft_peer.py make-model), LoRA r=16 alpha=32 on all
// linear layers, sequence 512, micro-batch 8, AdamW lr 2e-4. Prints tokens/s (median of the steps after warm-up), peak
// GPU memory (nvidia-smi sampling, both sides), the losses of both after N steps from the same init, our MFU against
// the GPU's bf16 peak, and on its last line ours/peft for tokens/s and memory. Writes bench/results/<date>-<gpu>.json.
// On a machine without CUDA it runs the same pipeline on the CPU (--device cpu --tiny), which is how CI tests it.
// Usage: npx tsx bench/gpu/run.ts [--device cuda|cpu] [--tiny] [--steps 50] [--warmup 5] [--seq 512] [--batch 8]
//        [--peak-tflops 798] [--no-peer] [--results DIR] [--model DIR]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeTinyModel } from '../../test/fixtures/tiny-model/index';
import { loadModelFolder } from '../../native/model/model-folder';
import { resolveTargets, loraParameterCount } from '../../native/model/lora';
import { writePeftAdapter } from '../../native/model/peft-io';
import { parameterCount } from '../../native/model/model-folder';
import { createTrainer } from '../../native/train/trainer';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../native/protocol';
import type { MicroBatch } from '../../native/train/loop';

const args = process.argv.slice(2);
const has = (name: string) => args.includes(name);
const option = (name: string, fallback: string) => (has(name) ? args[args.indexOf(name) + 1] : fallback);
const device = option('--device', 'cuda') as 'cuda' | 'cpu';
const tiny = has('--tiny');
const steps = Number(option('--steps', tiny ? '4' : '50')), warmup = Number(option('--warmup', tiny ? '1' : '5'));
const seq = Number(option('--seq', tiny ? '32' : '512')), batch = Number(option('--batch', tiny ? '2' : '8'));
const peakTflops = Number(option('--peak-tflops', '798'));
const root = resolve(import.meta.dirname, '..', '..');
const resultsDir = resolve(option('--results', join(root, 'bench', 'results')));
const work = join(tmpdir(), `bench-gpu-${tiny ? 'tiny' : 'qwen'}`);

/** nvidia-smi's used memory sampled every 50 ms while `run` runs (like-for-like with the peer's sampler). */
async function withGpuMemory<T>(run: () => Promise<T>): Promise<{ result: T; peakMiB?: number }> {
  if (device !== 'cuda') return { result: await run() };
  const sampler = spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '50']);
  let peak = 0;
  sampler.stdout.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) peak = Math.max(peak, Number(line.trim().split(',')[0]));
  });
  try {
    return { result: await run(), peakMiB: peak };
  } finally {
    sampler.kill();
  }
}

async function main(): Promise<void> {
  const modelDir = resolve(option('--model', join(work, 'model')));
  if (!existsSync(join(modelDir, 'config.json'))) {
    if (tiny) makeTinyModel(modelDir, { architecture: 'Qwen2ForCausalLM', layers: 2, hidden: 64, heads: 4, kvHeads: 2, intermediate: 128, tie: true, dtype: 'bfloat16', seed: 1 });
    else execFileSync('python3', [join(root, 'bench', 'gpu', 'peft_peer.py'), 'make-model', '--out', modelDir, '--shape', 'qwen2.5-0.5b'], { stdio: 'inherit' });
  }
  const model = loadModelFolder(modelDir);
  const config: RunConfig = {
    ...DEFAULT_RUN_OPTIONS, model: modelDir, data: '', out: work, r: 16, lora_alpha: 32, lora_dropout: 0, target_modules: 'all-linear',
    learning_rate: 2e-4, warmup_steps: 0, max_grad_norm: 0, micro_batch_size: batch, max_seq_len: seq, seed: 1,
  };
  const targets = resolveTargets(model.config, 'all-linear');
  let state = 7;
  const nextId = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) % (model.tokenizer.vocabSize - 300)) + 10;
  const batches: MicroBatch[] = Array.from({ length: 4 }, () => {
    const inputIds = Array.from({ length: batch }, () => Array.from({ length: seq }, nextId));
    return { inputIds, labels: inputIds.map((row) => row.map((_, i) => (i + 1 < row.length ? row[i + 1] : -100))), attentionMask: inputIds.map((row) => row.map(() => 1)) };
  });
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'batches.json'), JSON.stringify(batches.map((b) => ({ input_ids: b.inputIds, labels: b.labels, attention_mask: b.attentionMask }))));

  const ours = await withGpuMemory(async () => {
    const trainer = await createTrainer(model, config, { device: { provider: device, deviceId: 0 }, targets });
    writePeftAdapter(join(work, 'adapter'), { config, baseModel: modelDir, targets, weights: trainer.loraWeights(), dtype: 'float32' });
    const losses: number[] = [], times: number[] = [];
    for (let step = 0; step < steps; step += 1) {
      const started = performance.now();
      losses.push((await trainer.step([batches[step % batches.length]], config.learning_rate)).loss);
      times.push((performance.now() - started) / 1000);
    }
    await trainer.dispose();
    return { losses, times };
  });

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const tokens = batch * (seq - 1);
  const oursStep = median(ours.result.times.slice(warmup));
  const params = parameterCount(model.weights);
  // Per token: forward 2N, backward to activations 2N (frozen weights need no weight gradients), LoRA's own weight
  // gradients 2·N_lora, and attention's QKᵀ and AV (forward + backward, 3 × 4·L·T·d).
  const c = model.config;
  const flopsPerToken = 4 * params + 2 * loraParameterCount(targets, config.r) + 12 * c.num_hidden_layers * seq * c.num_attention_heads * c.head_dim;
  const mfu = device === 'cuda' ? (flopsPerToken * tokens) / oursStep / (peakTflops * 1e12) : undefined;

  let peer: { losses: number[]; step_s: number[]; peak_memory_mib?: number; versions?: Record<string, string> } | undefined;
  if (!has('--no-peer')) {
    const probe = spawnSync('python3', ['-c', 'import torch, transformers, peft'], { stdio: 'ignore' });
    if (probe.status !== 0) throw new Error('the peer needs python3 with torch, transformers and peft (or pass --no-peer)');
    const out = execFileSync('python3', [join(root, 'bench', 'gpu', 'peft_peer.py'), 'train', '--model', modelDir, '--adapter', join(work, 'adapter'),
      '--batches', join(work, 'batches.json'), '--steps', String(steps), '--warmup', String(warmup), '--lr', String(config.learning_rate)], { encoding: 'utf8', maxBuffer: 1 << 26 });
    peer = JSON.parse(out.trim().split('\n').pop()!);
  }

  const gpu = device === 'cuda' ? execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8' }).trim().split('\n')[0] : 'cpu';
  const record = {
    date: new Date().toISOString(), device, gpu, shape: tiny ? 'tiny-qwen2' : 'qwen2.5-0.5b', seq, batch, steps, warmup,
    lora: { r: 16, alpha: 32, targets: 'all-linear', modules: targets.length, trainable: loraParameterCount(targets, config.r) },
    versions: { node: process.version, onnxruntime: (require('onnxruntime-node/package.json') as { version: string }).version, peer: peer?.versions },
    ours: { losses: ours.result.losses, step_s: ours.result.times, tokens_per_s: tokens / oursStep, peak_memory_mib: ours.peakMiB, mfu },
    peer: peer && { ...peer, tokens_per_s: tokens / median(peer.step_s.slice(warmup)) },
  };
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${record.date.slice(0, 10)}-${gpu.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}${tiny ? '-tiny' : ''}.json`);
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  console.log(`ours: ${record.ours.tokens_per_s.toFixed(0)} tokens/s, peak ${record.ours.peak_memory_mib ?? '?'} MiB, final loss ${ours.result.losses.at(-1)?.toFixed(4)}${mfu !== undefined ? `, MFU ${(100 * mfu).toFixed(1)}%` : ''}`);
  if (record.peer) {
    const lossDiff = Math.abs(ours.result.losses.at(-1)! - record.peer.losses.at(-1)!);
    console.log(`peft: ${record.peer.tokens_per_s.toFixed(0)} tokens/s, peak ${record.peer.peak_memory_mib ?? '?'} MiB, final loss ${record.peer.losses.at(-1)?.toFixed(4)} (|diff| ${lossDiff.toExponential(2)}${lossDiff > 1e-2 ? ' — PARITY FAILED' : ''})`);
    console.log(`results: ${file}`);
    console.log(`ours/peft: tokens/s ${(record.ours.tokens_per_s / record.peer.tokens_per_s).toFixed(2)}x, memory ${record.ours.peak_memory_mib && record.peer.peak_memory_mib ? (record.ours.peak_memory_mib / record.peer.peak_memory_mib).toFixed(2) : '?'}x`);
  } else {
    console.log(`results: ${file}`);
    console.log('ours/peft: not measured (--no-peer)');
  }
}

void main().catch((error: unknown) => {
  console.error(`bench/gpu: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
