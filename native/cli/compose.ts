// lora-studio compose --model DIR --adapters A1,A2,… --data few.jsonl --out DIR [--steps 40] [--l1 0.05] [--seed N]
// [--json]: LoRAHub (native/train/compose.ts) — a weighted element-wise composition of existing LoRA adapters, its
// weights found by a gradient-free search on a few examples, written as a PEFT LoRA adapter. Progress goes to stderr
// as text, or to stdout as the NDJSON lines of native/train/compose-events.ts with --json; SIGTERM/SIGINT stop it
// between evaluations (or while reading and tokenizing), leave nothing behind and exit 143/130.
import type { Command } from 'commander';
import { UserError } from '../util/errors';
import { numberFlag, SEED_RULE, wholeAtLeast } from './number-flag';
import { parseDeviceFlag } from './device-flag';
import { composeAdapters } from '../train/compose';
import type { ComposeEvent } from '../train/compose-events';
import { discoverCuda, resolveDevice } from '../engine/cuda-discovery';
import { systemDiscoveryIo } from '../engine/cuda-io';
import { adapterRunQuantization } from '../train/run-dir';
import { EXIT_SIGNAL } from './exit';
import { ALLOW_OUTSIDE_LINKS_HELP, allowOutsideLinks } from '../model/folder-links';
import { ALLOW_LONG_CONTEXT_HELP } from '../model/context-length';

export interface ComposeFlags {
  model: string;
  adapters: string;
  data: string;
  out: string;
  steps: string;
  l1: string;
  seed: string;
  maxSeqLen: string;
  allowLongContext?: boolean;
  device: string;
  quantization?: string;
  json?: boolean;
}

/**
 * The base weights the loss runs on: --quantization when given, else NF4 when every adapter comes from a QLoRA run
 * (as generate picks for one adapter): the adapters were fitted to that base, and the weights should be too.
 */
export function composeQuantization(flag: string | undefined, adapters: readonly string[], note: (text: string) => void): 'none' | 'nf4' {
  if (flag !== undefined) {
    if (flag !== 'none' && flag !== 'nf4') throw new UserError(`--quantization must be none or nf4, got "${flag}"`, { fix: 'pass --quantization nf4 for QLoRA adapters, none otherwise' });
    return flag;
  }
  const runs = adapters.map((a) => adapterRunQuantization(a).quantization);
  if (runs.every((q) => q === 'nf4')) {
    note('the adapters were trained on the NF4 base (QLoRA): the few-shot loss uses it too (--quantization none for the stored weights)');
    return 'nf4';
  }
  if (runs.includes('nf4')) note('some adapters were trained on the NF4 base, some not: the loss uses the stored weights (--quantization nf4 to change)');
  return 'none';
}

const weightsText = (w: readonly number[]) => `[${w.map((x) => x.toFixed(3)).join(', ')}]`;

/** The text form of an event (stderr without --json). */
export function composeEventText(event: ComposeEvent): string {
  switch (event.type) {
    case 'status':
      return event.message;
    case 'step':
      return `step ${event.step}/${event.total_steps}: loss ${event.loss.toFixed(4)} at ${weightsText(event.weights)} · best ${event.best_loss.toFixed(4)} (+L1 ${event.best_objective.toFixed(4)}) at ${weightsText(event.best_weights)}`;
    case 'done':
      return `composed adapter written to ${event.out}: weights ${weightsText(event.weights)}, few-shot loss ${event.loss.toFixed(4)} (uniform weights ${event.uniform_loss.toFixed(4)}, base model ${event.base_loss.toFixed(4)})`;
    case 'error':
      return event.message;
  }
}

export async function composeCommand(flags: ComposeFlags, write: (line: string) => void = (l) => process.stdout.write(l), log: (line: string) => void = (l) => process.stderr.write(l)): Promise<void> {
  const adapters = flags.adapters.split(',').map((a) => a.trim()).filter((a) => a !== '');
  // Their ranges are composeAdapters' to check; here they only have to be numbers.
  const steps = numberFlag('steps', flags.steps);
  const l1 = numberFlag('l1', flags.l1);
  const seed = numberFlag('seed', flags.seed, SEED_RULE);
  const maxSeqLen = numberFlag('max-seq-len', flags.maxSeqLen, wholeAtLeast(2, '512'));
  const device = resolveDevice(parseDeviceFlag(flags.device), discoverCuda(systemDiscoveryIo()));
  const emit = (event: ComposeEvent) => (flags.json ? write(JSON.stringify(event) + '\n') : log(composeEventText(event) + '\n'));
  if (device.notice) emit({ type: 'status', message: device.notice });
  const quantization = composeQuantization(flags.quantization, adapters, (message) => emit({ type: 'status', message }));
  let signal: keyof typeof EXIT_SIGNAL | undefined;
  const onSignal = (name: keyof typeof EXIT_SIGNAL) => {
    signal ??= name;
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const result = await composeAdapters({ model: flags.model, adapters, data: flags.data, out: flags.out, steps, l1, seed, maxSeqLen, allowLongContext: flags.allowLongContext ?? false, device, quantization, emit, cancelled: () => signal !== undefined });
    const done: ComposeEvent = { type: 'done', out: result.out, weights: result.adapters.map((a) => a.weight), loss: result.loss, objective: result.objective, uniform_loss: result.uniform_loss, base_loss: result.base_loss };
    if (flags.json) emit(done);
    else write(composeEventText(done) + '\n');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (signal) {
      // Stopped cleanly between evaluations: 128 + the signal's number, as validate and train end on one.
      if (flags.json) emit({ type: 'error', message: `stopped by ${signal}; nothing was written` });
      else log(`compose: stopped by ${signal}; nothing was written\n`);
      process.exitCode = EXIT_SIGNAL[signal];
      return;
    }
    // Without --json the CLI's error handler prints the failure once (with where and how to fix it).
    if (flags.json) emit({ type: 'error', message });
    throw error;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

export function register(program: Command): void {
  program
    .command('compose')
    .description('compose LoRA adapters of one base model LoRAHub-style (A = Σ wᵢAᵢ, B = Σ wᵢBᵢ), the weights found by a gradient-free search on a few examples')
    .requiredOption('--model <dir>', 'base model folder the adapters were trained on')
    .requiredOption('--adapters <dirs>', 'comma-separated PEFT LoRA adapter folders (same target modules and r)')
    .requiredOption('--data <file>', 'few-shot examples (.jsonl, the formats train reads)')
    .requiredOption('--out <dir>', 'new folder for the composed adapter')
    .option('--steps <n>', 'loss evaluations of the search (the start, w = 0, included)', '40')
    .option('--l1 <alpha>', 'L1 penalty α·Σ|wᵢ| added to the few-shot loss', '0.05')
    .option('--seed <n>', 'seed of the search', '0')
    .option('--max-seq-len <n>', 'tokens per example (longer ones are truncated)', '512')
    .option('--allow-long-context', ALLOW_LONG_CONTEXT_HELP, false)
    .option('--device <device>', 'auto | cpu | cuda | cuda:N', 'auto')
    .option('--quantization <q>', 'base weights for the loss: none | nf4 (default: nf4 when every adapter is from a QLoRA run)')
    .option('--json', 'print NDJSON progress and result', false)
    .option('--allow-outside-links', ALLOW_OUTSIDE_LINKS_HELP, false)
    .action(async (flags: ComposeFlags & { allowOutsideLinks?: boolean }) => {
      if (flags.allowOutsideLinks) allowOutsideLinks();
      await composeCommand(flags);
    });
}
