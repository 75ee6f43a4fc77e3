// bench/memory: our side of one measurement, in its own process (run.ts wraps it in /usr/bin/time -f %M for the peak
// RSS). Loads the model folder, starts the trainer from the adapter both sides read (so both begin at the same LoRA A),
// runs `--steps` optimizer steps of one micro-batch each and prints one JSON line: losses, step seconds, peak RSS so far
// after each step (the second step shows the steady state).
// Usage: tsx bench/memory/ours-step.ts --model DIR --adapter DIR --batches FILE --steps N [--lr LR]
//        [--gradient-checkpointing on|off] [--engine DIR] [--quantization none|nf4 [--prepare]]
// --quantization nf4 trains on the NF4 cache of the model ($LORA_STUDIO_CACHE); --prepare only makes that cache and exits.
// --engine DIR loads native/ from another checkout of this repository (e.g. `git archive HEAD native` unpacked with a
// node_modules link), to measure one engine version against another with the same harness.
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import type { RunConfig } from '../../native/protocol';
import type { MicroBatch } from '../../native/train/loop';

const args = process.argv.slice(2);
const option = (name: string, fallback?: string): string => {
  const i = args.indexOf(name);
  if (i >= 0 && i + 1 < args.length) return args[i + 1];
  if (fallback === undefined) throw new Error(`ours-step: ${name} is required`);
  return fallback;
};
const engineRoot = resolve(option('--engine', resolve(import.meta.dirname, '..', '..')));
const modelDir = option('--model'), adapterDir = option('--adapter'), batchesFile = option('--batches');
const steps = Number(option('--steps', '2')), lr = Number(option('--lr', '2e-4'));
const checkpointFlag = option('--gradient-checkpointing', 'on');
const quantization = option('--quantization', 'none');
if (quantization !== 'none' && quantization !== 'nf4') throw new Error(`ours-step: --quantization must be none or nf4, got ${quantization}`);
if (checkpointFlag !== 'on' && checkpointFlag !== 'off') throw new Error(`ours-step: --gradient-checkpointing must be on or off, got ${checkpointFlag}`);

async function main(): Promise<void> {
  const load = <T>(path: string) => import(resolve(engineRoot, path)) as Promise<T>;
  const { loadModelFolder } = await load<typeof import('../../native/model/model-folder')>('native/model/model-folder.ts');
  const { resolveTargets } = await load<typeof import('../../native/model/lora')>('native/model/lora.ts');
  const { readPeftAdapter } = await load<typeof import('../../native/model/peft-io')>('native/model/peft-io.ts');
  const { createTrainer } = await load<typeof import('../../native/train/trainer')>('native/train/trainer.ts');
  const { DEFAULT_RUN_OPTIONS } = await load<typeof import('../../native/protocol')>('native/protocol.ts');

  const started = performance.now();
  const model = loadModelFolder(modelDir);
  const nf4 = quantization === 'nf4'
    ? (await load<typeof import('../../native/model/nf4-cache')>('native/model/nf4-cache.ts')).ensureNf4Cache(model)
    : undefined;
  if (args.includes('--prepare')) return;
  const adapter = readPeftAdapter(adapterDir);
  const raw = JSON.parse(readFileSync(batchesFile, 'utf8')) as { input_ids: number[][]; labels: number[][]; attention_mask: number[][] }[];
  const batches: MicroBatch[] = raw.map((b) => ({ inputIds: b.input_ids, labels: b.labels, attentionMask: b.attention_mask }));
  const targetModules = adapter.config.target_modules === 'all-linear' ? 'all-linear' : [adapter.config.target_modules].flat();
  // gradient_checkpointing is the engine's new RunConfig field; spread in, it compiles whether or not RunConfig has it yet.
  const checkpointing = { gradient_checkpointing: checkpointFlag === 'on' };
  const config: RunConfig = {
    ...DEFAULT_RUN_OPTIONS, model: modelDir, data: '', out: adapterDir, r: adapter.config.r, lora_alpha: adapter.config.lora_alpha,
    lora_dropout: 0, target_modules: targetModules, learning_rate: lr, weight_decay: 0, max_grad_norm: 0, micro_batch_size: 1,
    max_seq_len: batches[0].inputIds[0].length, seed: 1, ...checkpointing, ...(nf4 ? { quantization: 'nf4' as const } : {}),
  };
  const targets = resolveTargets(model.config, targetModules);
  // The adapter's A and B with zero AdamW moments: the same start as the peer's, whatever the engine's own init.
  const tensors = new Map<string, Float32Array>();
  for (const t of targets) {
    const w = adapter.weights.get(t.baseName);
    if (!w) throw new Error(`ours-step: the adapter has no weights for ${t.baseName}`);
    for (const [suffix, values] of [['lora_A', w.A], ['lora_B', w.B]] as const) {
      const name = `${t.baseName}.${suffix}`;
      tensors.set(name, values);
      tensors.set(`${name}.exp_avg`, new Float32Array(values.length));
      tensors.set(`${name}.exp_avg_sq`, new Float32Array(values.length));
    }
  }
  const trainer = await createTrainer(model, config, {
    device: { provider: 'cpu', deviceId: 0 }, targets, state: { step: 0, tensors }, ...(nf4 ? { weights: nf4.weights, externalDataDir: nf4.dir } : {}),
  });
  const setupS = (performance.now() - started) / 1000;
  const losses: number[] = [], stepS: number[] = [], peakAfterStepMb: number[] = [];
  for (let step = 0; step < steps; step += 1) {
    const t0 = performance.now();
    const result = await trainer.step([batches[step % batches.length]], lr);
    stepS.push((performance.now() - t0) / 1000);
    losses.push(result.loss);
    peakAfterStepMb.push(process.resourceUsage().maxRSS / 1024);
  }
  await trainer.dispose();
  process.stdout.write(`${JSON.stringify({ engine: engineRoot, gradient_checkpointing: checkpointFlag === 'on', quantization, setup_s: setupS, losses, step_s: stepS, peak_after_step_mb: peakAfterStepMb })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`ours-step: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
