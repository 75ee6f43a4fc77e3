// lora-studio generate --model DIR [--adapter DIR] (--prompt TEXT | --instruction TEXT [--input TEXT]) …: text from a
// local model, optionally with a LoRA adapter run unmerged, decoded with a KV cache; streams to stdout, or prints one
// JSON object ({text, prompt_tokens, tokens, tokens_per_s}) with --json.
import type { Command } from 'commander';
import type { DeviceChoice } from '../protocol';
import { UserError } from '../util/errors';
import { loadModelFolder } from '../model/model-folder';
import { generate, type GenerationStats } from '../model/generate';
import { instructionPrompt } from '../data/template';
import { discoverCuda, resolveDevice } from '../engine/cuda-discovery';
import { systemDiscoveryIo } from '../engine/cuda-io';

export interface GenerateFlags {
  model: string;
  adapter?: string;
  prompt?: string;
  instruction?: string;
  input?: string;
  maxNewTokens?: string;
  temperature?: string;
  topP?: string;
  seed: string;
  device: string;
  json?: boolean;
}

function numberFlag(flag: string, value: string | undefined, fallback: number, ok: (n: number) => boolean, rule: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || !ok(n)) throw new UserError(`--${flag} must be ${rule}, got "${value}"`, { fix: `pass --${flag} ${fallback}` });
  return n;
}

export async function generateCommand(flags: GenerateFlags, write: (text: string) => void = (t) => process.stdout.write(t)): Promise<void> {
  if ((flags.prompt === undefined) === (flags.instruction === undefined)) {
    throw new UserError('pass exactly one of --prompt TEXT (raw text) or --instruction TEXT (formatted with the chat or Alpaca template)');
  }
  if (flags.input !== undefined && flags.instruction === undefined) throw new UserError('--input goes with --instruction', { fix: 'add --instruction TEXT' });
  const model = loadModelFolder(flags.model);
  const defaults = model.generation;
  const maxNewTokens = numberFlag('max-new-tokens', flags.maxNewTokens, defaults.max_new_tokens ?? 128, (n) => Number.isInteger(n) && n >= 1, 'a whole number ≥ 1');
  const temperature = numberFlag('temperature', flags.temperature, defaults.temperature ?? 0, (n) => n >= 0, 'a number ≥ 0 (0 = greedy)');
  const topP = numberFlag('top-p', flags.topP, defaults.top_p ?? 1, (n) => n > 0 && n <= 1, 'a number in (0, 1]');
  const seed = numberFlag('seed', flags.seed, 0, Number.isInteger, 'a whole number');
  const device = resolveDevice(flags.device as DeviceChoice, discoverCuda(systemDiscoveryIo()));
  const prompt = flags.prompt ?? instructionPrompt(model.tokenizer, flags.instruction!, flags.input);
  let text = '';
  let stats: GenerationStats | undefined;
  for await (const piece of generate({
    model, adapterDir: flags.adapter, prompt, maxNewTokens, temperature, topP, seed,
    executionProviders: device.provider === 'cuda' ? [{ name: 'cuda', deviceId: device.deviceId }] : ['cpu'],
    onStats: (s) => { stats = s; },
  })) {
    text += piece;
    if (!flags.json) write(piece);
  }
  if (flags.json) {
    write(JSON.stringify({ text, prompt_tokens: stats?.promptTokens ?? [], tokens: stats?.tokens ?? [], tokens_per_s: stats?.tokensPerS ?? 0 }) + '\n');
  } else {
    write('\n');
  }
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('generate text from a local model, optionally with a LoRA adapter (KV cache; temperature 0 = greedy)')
    .requiredOption('--model <dir>', 'Hugging Face model folder')
    .option('--adapter <dir>', 'PEFT LoRA adapter folder (a run folder or checkpoint)')
    .option('--prompt <text>', 'raw prompt text, encoded as tokenizer.json says')
    .option('--instruction <text>', 'an instruction, formatted with the chat template (Alpaca when the model has none)')
    .option('--input <text>', 'input for --instruction')
    .option('--max-new-tokens <n>', 'tokens to generate at most (default: generation_config.json or 128)')
    .option('--temperature <t>', 'sampling temperature, 0 = greedy (default: generation_config.json or 0)')
    .option('--top-p <p>', 'nucleus sampling mass (default: generation_config.json or 1)')
    .option('--seed <n>', 'sampling seed', '0')
    .option('--device <device>', 'auto | cpu | cuda | cuda:N', 'cpu')
    .option('--json', 'print one JSON object {text, prompt_tokens, tokens, tokens_per_s}', false)
    .action(async (flags: GenerateFlags) => {
      await generateCommand(flags);
    });
}
