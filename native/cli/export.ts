// lora-studio export --format F …: a model or a run taken elsewhere (gguf, gguf-adapter, ollama). Each format is one entry of FORMATS (name → what
// it needs, what it does), so a new target is a new entry, not a new command; the entry's function returns the path
// it wrote and the lines to print (e.g. the command that uses the result). --json prints one {"type":"done",…} line
// (or {"type":"error","message"}), like merge.
import { mkdtempSync, rmSync } from 'node:fs';
import { makeDirs } from '../util/make-dirs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../util/errors';
import { cancellableBySignal } from './exit';
import { exportGgufModel, GGUF_DTYPES, type GgufDtype } from '../export/gguf-model';
import { adapterBaseDir, exportGgufAdapter } from '../export/gguf-adapter';
import { mergeAdapter } from '../model/merge';
import { exportOllama } from '../export/ollama';
import { checkGgufTarget, ExportCancelled } from '../export/gguf-writer';
import { CLUSTER_FORMATS } from './export-cluster';
import { ALLOW_OUTSIDE_LINKS_HELP, allowOutsideLinks } from '../model/folder-links';

export interface ExportFlags {
  format?: string;
  model?: string;
  run?: string;
  adapter?: string;
  out?: string;
  dtype?: string;
  json?: boolean;
  /** Cluster formats: a settings file instead of --run, the data beside it, and how to shard. */
  config?: string;
  data?: string;
  evalData?: string;
  deepspeed?: string;
  fsdp?: boolean;
}

export interface ExportResult {
  /** The file or folder written. */
  out: string;
  /** Lines for the user: what was written, how to use it. */
  notes: string[];
}

export interface ExportFormat {
  /** One line for --help. */
  description: string;
  /** `cancelled()` turns true on SIGTERM/SIGINT; a format checks it between steps and throws ExportCancelled, leaving nothing behind. */
  run(flags: ExportFlags, cancelled?: () => boolean): Promise<ExportResult>;
}

/** `flags[name]` or a UserError saying which flag this format needs. */
export function requireFlag(flags: ExportFlags, name: keyof ExportFlags, format: string, example: string): string {
  const value = flags[name];
  if (typeof value !== 'string' || value === '') throw new UserError(`--format ${format} needs --${name}`, { fix: `lora-studio export ${example}` });
  return value;
}

function ggufDtype(flags: ExportFlags): GgufDtype {
  const value = (flags.dtype ?? 'f16').toLowerCase();
  if (!(GGUF_DTYPES as readonly string[]).includes(value)) throw new UserError(`--dtype must be ${GGUF_DTYPES.join(', ')} for GGUF, got "${flags.dtype}"`, { fix: 'pass --dtype f16 (exact) or q8_0 (half the size)' });
  return value as GgufDtype;
}

/** --run and --adapter name the same thing (a run folder is a PEFT adapter folder); undefined when neither is given. */
export function adapterFlag(flags: ExportFlags): string | undefined {
  if (flags.run && flags.adapter && resolve(flags.run) !== resolve(flags.adapter)) throw new UserError('--run and --adapter name different folders', { fix: 'pass one of them' });
  const dir = flags.run ?? flags.adapter;
  return dir ? resolve(dir) : undefined;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export const FORMATS: Record<string, ExportFormat> = {
  gguf: {
    description: 'a model as one GGUF file for llama.cpp (--dtype f16|bf16|q8_0): --model DIR, or --run DIR for the run merged into its base',
    async run(flags, cancelled) {
      const example = '--model MODEL_DIR --format gguf --out model.gguf';
      const out = resolve(requireFlag(flags, 'out', 'gguf', example));
      checkGgufTarget(out); // before the merge, not after it
      const dtype = ggufDtype(flags);
      const adapterDir = adapterFlag(flags);
      const done = (written: { tensors: number; bytes: number; notes: string[] }, what: string) => ({
        out, notes: [`${what} written to ${out} (${written.tensors} tensors, ${mib(written.bytes)})`, ...written.notes, `try it: llama-cli -m ${out}`],
      });
      if (!adapterDir) return done(await exportGgufModel({ modelDir: resolve(requireFlag(flags, 'model', 'gguf', example)), outFile: out, dtype, cancelled }), 'GGUF model');
      // A run's model is its base with the adapter merged (exact for every method, DoRA included): merged into a
      // temporary folder beside the output, exported, removed.
      const modelDir = resolve(adapterBaseDir(adapterDir, flags.model));
      makeDirs(dirname(out));
      const staging = mkdtempSync(join(dirname(out), '.lora-studio-merge-'));
      try {
        const merged = join(staging, 'model');
        await mergeAdapter({ modelDir, adapterDir, outDir: merged, dtype: 'same', cancelled, onProgress: () => {} });
        if (cancelled?.()) throw new ExportCancelled();
        return done(await exportGgufModel({ modelDir: merged, outFile: out, dtype, cancelled, name: `${basename(modelDir)}-${basename(adapterDir)}` }), 'GGUF of the merged model');
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    },
  },
  'gguf-adapter': {
    description: 'a LoRA adapter (--run DIR or --adapter DIR; --model BASE_DIR unless the adapter names a local base) as a GGUF LoRA for llama.cpp',
    async run(flags, cancelled) {
      const adapterDir = adapterFlag(flags);
      if (!adapterDir) throw new UserError('--format gguf-adapter needs --run DIR (or --adapter DIR)', { fix: 'lora-studio export --run .lora-studio/runs/RUN --format gguf-adapter --out adapter.gguf' });
      const out = resolve(flags.out ?? join(adapterDir, 'adapter.gguf'));
      checkGgufTarget(out);
      const written = await exportGgufAdapter({ adapterDir, modelDir: flags.model ? resolve(flags.model) : undefined, outFile: out, cancelled });
      return {
        out,
        notes: [`GGUF LoRA adapter written to ${out} (${written.tensors} tensors, ${mib(written.bytes)})`, ...written.notes,
          `use it on the base model's GGUF (lora-studio export --model ${written.modelDir} --format gguf --out base.gguf): llama-cli -m base.gguf --lora ${out}`],
      };
    },
  },
  ollama: {
    description: 'a folder for Ollama (--out DIR): the GGUF (--dtype), with --run DIR also the GGUF LoRA, and a Modelfile',
    async run(flags, cancelled) {
      const out = resolve(requireFlag(flags, 'out', 'ollama', '--run RUN_DIR --format ollama --out ollama-folder'));
      const adapterDir = adapterFlag(flags);
      const modelDir = resolve(adapterDir ? adapterBaseDir(adapterDir, flags.model) : requireFlag(flags, 'model', 'ollama', '--model MODEL_DIR --format ollama --out ollama-folder'));
      const { name, notes } = await exportOllama({ outDir: out, modelDir, adapterDir, dtype: ggufDtype(flags), cancelled });
      return {
        out,
        notes: [`Ollama folder written to ${out} (Modelfile, model.gguf${adapterDir ? ', adapter.gguf' : ''})`, ...notes,
          `import it: ollama create ${name} -f ${join(out, 'Modelfile')}`, `then chat: ollama run ${name}`],
      };
    },
  },
  ...CLUSTER_FORMATS,
};

export async function exportCommand(flags: ExportFlags): Promise<ExportResult> {
  const name = flags.format ?? '';
  const format = FORMATS[name];
  if (!format) throw new UserError(`unknown --format "${name}"`, { fix: `choose one of: ${Object.keys(FORMATS).join(', ')}` });
  const print = (value: object) => process.stdout.write(JSON.stringify(value) + '\n');
  try {
    const result = await cancellableBySignal((cancelled) => format.run(flags, cancelled));
    if (flags.json) print({ type: 'done', out: result.out, notes: result.notes });
    else process.stdout.write(result.notes.join('\n') + '\n');
    return result;
  } catch (caught) {
    const error = caught instanceof ExportCancelled ? new UserError('export cancelled; nothing was written') : caught;
    if (flags.json) print({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    throw error;
  }
}

export function register(program: Command): void {
  program
    .command('export')
    .description('export a model or a run for another tool:\n' + Object.entries(FORMATS).map(([name, f]) => `  ${name}: ${f.description}`).join('\n'))
    .requiredOption('--format <format>', `what to write: ${Object.keys(FORMATS).join(', ')}`)
    .option('--model <dir>', 'Hugging Face model folder')
    .option('--run <dir>', 'run folder (a PEFT adapter folder)')
    .option('--adapter <dir>', 'PEFT adapter folder (same as --run)')
    .option('--out <path>', 'file or folder to write')
    .option('--dtype <dtype>', 'GGUF tensor type: f16, bf16 or q8_0', 'f16')
    .option('--config <file>', 'cluster formats: settings file (.lora.json preset or training_config.json) instead of --run')
    .option('--data <file.jsonl>', 'cluster formats: training data, when --config has none')
    .option('--eval-data <file.jsonl>', 'cluster formats: evaluation data')
    .option('--deepspeed <stage>', 'cluster formats: DeepSpeed zero2 or zero3 (default: plain data parallel)')
    .option('--fsdp', 'cluster formats: PyTorch FSDP instead of DeepSpeed')
    .option('--json', 'print one JSON line with the result', false)
    .option('--allow-outside-links', ALLOW_OUTSIDE_LINKS_HELP, false)
    .action(async (flags: ExportFlags & { allowOutsideLinks?: boolean }) => {
      if (flags.allowOutsideLinks) allowOutsideLinks();
      await exportCommand(flags);
    });
}
