// lora-studio merge --model DIR --adapter DIR --out DIR [--json]: a PEFT LoRA adapter merged into its base model as a
// new Hugging Face folder. --json prints NDJSON: {"type":"progress","done","total","tensor"} …, then {"type":"done","out"}
// (or {"type":"error","message"}); SIGTERM/SIGINT cancel and leave nothing behind.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../util/errors';
import { cancellableBySignal } from './exit';
import { mergeAdapter, type MergeDtype } from '../model/merge';
import { DTYPE_NAMES_HELP, parseDtypeFlag } from './dtype-flag';
import { ALLOW_OUTSIDE_LINKS_HELP, allowOutsideLinks } from '../model/folder-links';

export interface MergeFlags {
  model?: string;
  adapter?: string;
  out?: string;
  json?: boolean;
  dtype?: string;
}

const SHORT = { float32: 'f32', float16: 'f16', bfloat16: 'bf16' } as const;

export async function mergeCommand(flags: MergeFlags): Promise<void> {
  const missing = (['model', 'adapter', 'out'] as const).filter((flag) => !flags[flag]);
  if (missing.length > 0) throw new UserError(`missing ${missing.map((m) => `--${m}`).join(', ')}`, { fix: 'lora-studio merge --model BASE_DIR --adapter ADAPTER_DIR --out NEW_DIR' });
  const dtype: MergeDtype = !flags.dtype || flags.dtype === 'same' ? 'same' : SHORT[parseDtypeFlag('dtype', flags.dtype)];
  const print = (value: object) => process.stdout.write(JSON.stringify(value) + '\n');
  const out = resolve(flags.out!);
  let lastPercent = -1;
  try {
    await cancellableBySignal((cancelled) => mergeAdapter({
      modelDir: resolve(flags.model!), adapterDir: resolve(flags.adapter!), outDir: out,
      cancelled,
      dtype,
      onLeftoverRemoved: (path) => process.stderr.write(`removed ${path}, left by a merge that was killed\n`),
      onProgress: (p) => {
        if (flags.json) print({ type: 'progress', ...p });
        else {
          const percent = Math.floor((100 * p.done) / p.total);
          if (percent !== lastPercent && percent % 10 === 0) process.stderr.write(`merging… ${percent}% (${p.done}/${p.total} tensors)\n`);
          lastPercent = percent;
        }
      },
    }));
    if (flags.json) print({ type: 'done', out });
    else process.stdout.write(`merged model written to ${out}\n`);
  } catch (error) {
    if (flags.json) print({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    throw error;
  }
}

export function register(program: Command): void {
  program
    .command('merge')
    .description('merge a PEFT LoRA adapter into its base model (W + scaling·B·A) as a new Hugging Face folder')
    .requiredOption('--model <dir>', 'base model folder')
    .requiredOption('--adapter <dir>', 'PEFT adapter folder (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('--out <dir>', 'new folder for the merged model')
    .option('--dtype <dtype>', `dtype of the merged weights: same (as the base), ${DTYPE_NAMES_HELP}`, 'same')
    .option('--json', 'print NDJSON progress and result', false)
    .option('--allow-outside-links', ALLOW_OUTSIDE_LINKS_HELP, false)
    .action(async (flags: MergeFlags & { allowOutsideLinks?: boolean }) => {
      if (flags.allowOutsideLinks) allowOutsideLinks();
      await mergeCommand(flags);
    });
}
