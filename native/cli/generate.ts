// lora-studio generate --model DIR [--adapter DIR] (--prompt TEXT | --instruction TEXT [--input TEXT]) …: text from a
// local model, optionally with a LoRA adapter run unmerged, decoded with a KV cache; streams to stdout, or prints one
// JSON object ({text, prompt_tokens, tokens, tokens_per_s}) with --json, or streams NDJSON with --stream-json (what the
// Compare view reads: a {type:"token"} line per piece, then {type:"done"} with timing and peak memory); --compare
// prints base and adapter side by side.
import type { Command } from 'commander';
import type { GenerateStreamLine } from '../protocol';
import { UserError } from '../util/errors';
import { optionalNumberFlag, SEED_RULE } from './number-flag';
import { parseDeviceFlag } from './device-flag';
import { loadModelFolder } from '../model/model-folder';
import { ALLOW_OUTSIDE_LINKS_HELP, allowOutsideLinks } from '../model/folder-links';
import { ALLOW_LONG_CONTEXT_HELP } from '../model/context-length';
import { generate, type GenerationStats } from '../model/generate';
import { instructionPromptBounded } from '../data/template-pool';
import { discoverCuda, resolveDevice } from '../engine/cuda-discovery';
import { systemDiscoveryIo } from '../engine/cuda-io';
import { adapterRunQuantization } from '../train/run-dir';

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
  streamJson?: boolean;
  compare?: boolean;
  quantization?: string;
  allowLongContext?: boolean;
}

interface Outcome {
  text: string;
  prompt_tokens: number[];
  tokens: number[];
  tokens_per_s: number;
  /** Peak resident memory of the process so far, MiB (the base runs first, so the adapter's figure includes it). */
  peak_rss_mb: number;
}

/** A numeric flag, its default (from generation_config.json) when absent; the default is the fix's example. */
function numberOr(flag: string, value: string | undefined, fallback: number, ok: (n: number) => boolean, rule: string): number {
  return optionalNumberFlag(flag, value, fallback, { ok, rule, example: String(fallback) });
}

export async function generateCommand(flags: GenerateFlags, write: (text: string) => void = (t) => process.stdout.write(t)): Promise<void> {
  if ((flags.prompt === undefined) === (flags.instruction === undefined)) {
    throw new UserError('pass exactly one of --prompt TEXT (raw text) or --instruction TEXT (formatted with the chat or Alpaca template)');
  }
  if (flags.input !== undefined && flags.instruction === undefined) throw new UserError('--input goes with --instruction', { fix: 'add --instruction TEXT' });
  // The template wraps an empty instruction in its markup, so the prompt is not empty: an unset shell variable
  // (--instruction "$Q") would otherwise generate from nothing and look like an answer.
  if (flags.instruction !== undefined && flags.instruction.trim() === '') throw new UserError('--instruction is empty', { fix: 'pass the instruction text (or --prompt TEXT for raw text)' });
  if (flags.streamJson && (flags.json || flags.compare)) throw new UserError('--stream-json goes alone: not with --json or --compare', { fix: 'drop --json / --compare' });
  const model = loadModelFolder(flags.model);
  const defaults = model.generation;
  const maxNewTokens = numberOr('max-new-tokens', flags.maxNewTokens, defaults.max_new_tokens ?? 128, (n) => Number.isInteger(n) && n >= 1, 'a whole number ≥ 1');
  const temperature = numberOr('temperature', flags.temperature, defaults.temperature ?? 0, (n) => n >= 0, 'a number ≥ 0 (0 = greedy)');
  const topP = numberOr('top-p', flags.topP, defaults.top_p ?? 1, (n) => n > 0 && n <= 1, 'a number in (0, 1]');
  const seed = optionalNumberFlag('seed', flags.seed, 0, SEED_RULE);
  const device = resolveDevice(parseDeviceFlag(flags.device), discoverCuda(systemDiscoveryIo()));
  // The chat template is the model folder's code: rendered in a bounded template worker (data/template-pool.ts).
  const prompt = flags.prompt ?? await instructionPromptBounded(model.tokenizer, flags.instruction!, flags.input);
  const quantization = generationQuantization(flags, (note) => process.stderr.write(`${note}\n`));
  // Said once on stderr (so --json stdout stays one object), though --compare generates twice.
  let warned = false;
  const onWarning = (text: string) => {
    if (!warned) process.stderr.write(`${text}\n`);
    warned = true;
  };
  const once = async (adapterDir: string | undefined, onPiece?: (piece: string) => void): Promise<Outcome> => {
    let text = '';
    let stats: GenerationStats | undefined;
    for await (const piece of generate({
      model, adapterDir, prompt, maxNewTokens, maxNewTokensIsDefault: flags.maxNewTokens === undefined, temperature, topP, seed,
      device, quantization, allowLongContext: flags.allowLongContext ?? false, onWarning,
      onStats: (s) => { stats = s; },
    })) {
      text += piece;
      onPiece?.(piece);
    }
    const peak = process.resourceUsage().maxRSS / 1024;
    return { text, prompt_tokens: stats?.promptTokens ?? [], tokens: stats?.tokens ?? [], tokens_per_s: stats?.tokensPerS ?? 0, peak_rss_mb: Math.round(peak) };
  };
  if (flags.streamJson) {
    const line = (l: GenerateStreamLine) => write(JSON.stringify(l) + '\n');
    const started = performance.now();
    const o = await once(flags.adapter, (text) => line({ type: 'token', text }));
    // seconds: wall time to the whole answer (graph setup and prompt included); tokens_per_s: the decoding rate.
    const seconds = (performance.now() - started) / 1000;
    line({ type: 'done', tokens: o.tokens.length, seconds, tokens_per_s: o.tokens_per_s, memory_mb: o.peak_rss_mb });
    return;
  }
  if (flags.compare) {
    if (!flags.adapter) throw new UserError('--compare needs --adapter DIR (it runs the base model and the adapter on the same prompt)');
    const base = await once(undefined);
    const tuned = await once(flags.adapter);
    if (flags.json) {
      write(JSON.stringify({ base, adapter: tuned }) + '\n');
      return;
    }
    for (const [title, o] of [['base model', base], [`with adapter ${flags.adapter}`, tuned]] as const) {
      write(`── ${title} (${o.tokens_per_s.toFixed(1)} tokens/s, peak RSS ${o.peak_rss_mb} MiB)\n${o.text}\n`);
    }
    return;
  }
  const outcome = await once(flags.adapter, flags.json ? undefined : write);
  if (flags.json) {
    const { text, prompt_tokens, tokens, tokens_per_s } = outcome;
    write(JSON.stringify({ text, prompt_tokens, tokens, tokens_per_s }) + '\n');
  } else {
    write('\n');
  }
}

/**
 * The base weights to generate with: --quantization when given, else what the adapter's run trained on (its
 * training_config.json, in the adapter folder or the run folder above a checkpoint), said on stderr when NF4.
 */
export function generationQuantization(flags: Pick<GenerateFlags, 'adapter' | 'quantization'>, note: (text: string) => void): 'none' | 'nf4' {
  if (flags.quantization !== undefined) {
    if (flags.quantization !== 'none' && flags.quantization !== 'nf4') throw new UserError(`--quantization must be none or nf4, got "${flags.quantization}"`);
    return flags.quantization;
  }
  if (!flags.adapter) return 'none';
  const { quantization, runDir } = adapterRunQuantization(flags.adapter);
  if (quantization === 'nf4') note(`using the NF4 base weights the run in ${runDir} trained on (--quantization none for the stored weights)`);
  return quantization;
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
    .option('--device <device>', 'auto | cpu | cuda | cuda:N (auto: CUDA when usable, as train does)', 'auto')
    .option('--quantization <q>', 'base weights as stored (none) or NF4 (nf4); default: what the adapter\'s run trained on')
    .option('--allow-long-context', ALLOW_LONG_CONTEXT_HELP, false)
    .option('--compare', 'run the base model and the adapter on the same prompt and print both, with tokens/s and peak memory', false)
    .option('--json', 'print one JSON object {text, prompt_tokens, tokens, tokens_per_s}', false)
    .option('--stream-json', 'stream NDJSON: {"type":"token","text"} per piece, then {"type":"done","tokens","seconds","tokens_per_s","memory_mb"}', false)
    .option('--allow-outside-links', ALLOW_OUTSIDE_LINKS_HELP, false)
    .action(async (flags: GenerateFlags & { allowOutsideLinks?: boolean }) => {
      if (flags.allowOutsideLinks) allowOutsideLinks();
      await generateCommand(flags);
    });
}
