// "Export to GGUF…" without VS Code (pure, tested): the export choices a run offers, the `lora-studio export` arguments
// for one, the suggested output path, and the one JSON line `export --json` prints at the end.
import { basename, dirname, join } from 'node:path';
import { jsonObjectOf } from '../../native/util/json-line';

export interface GgufExportChoice {
  label: string;
  detail: string;
  format: 'gguf-adapter' | 'gguf' | 'ollama';
  dtype?: 'f16' | 'q8_0';
  /** What the output is: a .gguf file or a folder. */
  output: 'file' | 'folder';
}

export const GGUF_EXPORT_CHOICES: readonly GgufExportChoice[] = [
  { label: 'GGUF LoRA adapter', detail: 'Small; llama.cpp applies it on the base model\'s GGUF (llama-cli -m base.gguf --lora adapter.gguf)', format: 'gguf-adapter', output: 'file' },
  { label: 'GGUF model, adapter merged (f16)', detail: 'One file with the adapter merged in, 16-bit weights', format: 'gguf', dtype: 'f16', output: 'file' },
  { label: 'GGUF model, adapter merged (q8_0)', detail: 'One file with the adapter merged in, 8-bit weights: about half the size of f16', format: 'gguf', dtype: 'q8_0', output: 'file' },
  { label: 'Ollama folder', detail: 'The base GGUF, the GGUF LoRA and a Modelfile (chat template, stop tokens) for ollama create', format: 'ollama', dtype: 'f16', output: 'folder' },
];

/** Where the export goes by default: beside the run folder, named after the run (and the model for a merged one). */
export function suggestedExportPath(runDir: string, modelDir: string, choice: GgufExportChoice): string {
  const run = basename(runDir);
  const name = choice.format === 'gguf-adapter' ? `${run}-lora.gguf`
    : choice.format === 'gguf' ? `${basename(modelDir)}-${run}-${choice.dtype}.gguf`
    : `${run}-ollama`;
  return join(dirname(runDir), name);
}

export function exportArgs(cli: string, request: { run: string; model: string; out: string; choice: GgufExportChoice }): string[] {
  const { choice } = request;
  return [cli, 'export', '--format', choice.format, '--run', request.run, '--model', request.model, '--out', request.out, ...(choice.dtype ? ['--dtype', choice.dtype] : []), '--json'];
}

export type ExportLine = { type: 'done'; out: string; notes: string[] } | { type: 'error'; message: string };

export function parseExportLine(line: string): ExportLine | undefined {
  const v = jsonObjectOf(line);
  if (v === undefined) return undefined;
  if (v.type === 'done' && typeof v.out === 'string') return { type: 'done', out: v.out, notes: Array.isArray(v.notes) ? v.notes.filter((n): n is string => typeof n === 'string') : [] };
  if (v.type === 'error' && typeof v.message === 'string') return { type: 'error', message: v.message };
  return undefined;
}
