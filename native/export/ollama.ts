// An Ollama folder: the GGUF model (or base + GGUF LoRA adapter) and a Modelfile (ollama docs/modelfile.md) with FROM,
// ADAPTER, TEMPLATE, SYSTEM and stop parameters. Ollama's TEMPLATE is a Go template, not the model's Jinja one, so it
// is written for the chat-template families recognised here (ChatML as Qwen uses it, Llama 3 headers); for any other
// the Modelfile says so and carries the Jinja template as a comment to translate by hand (Ollama may still recognise
// the GGUF's tokenizer.chat_template itself). Stops are the family's turn markers and the model's EOS tokens, so a
// reply ends where the model ends it instead of running on (the "gibberish after export" reports).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { makeDirs } from '../util/make-dirs';
import { basename, dirname, join } from 'node:path';
import { commitFolderAtomic, writeFileAtomic } from '../util/atomic-write';
import { loadModelFolder, stopTokenIds } from '../model/model-folder';
import { exportGgufModel, type GgufDtype } from './gguf-model';
import { exportGgufAdapter } from './gguf-adapter';
import { UserError } from '../util/errors';

export interface ChatFamily {
  name: string;
  /** Ollama's Go template for the family (system, user and assistant turns; generation prompt at the end). */
  template: string;
  /** Turn markers that end a reply. */
  stops: string[];
}

/** ChatML (<|im_start|>role\n…<|im_end|>\n), as Qwen's templates render it with add_generation_prompt. */
const CHATML: ChatFamily = {
  name: 'ChatML',
  template: '{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n',
  stops: ['<|im_start|>', '<|im_end|>'],
};

/** Llama 3 (<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>); BOS comes from the GGUF's add_bos_token. */
const LLAMA3: ChatFamily = {
  name: 'Llama 3',
  template: '{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n',
  stops: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
};

/** The family of a Jinja chat template, by the turn markers it writes. */
export function chatFamily(template: string | undefined): ChatFamily | undefined {
  if (!template) return undefined;
  if (template.includes('<|im_start|>') && template.includes('<|im_end|>')) return CHATML;
  if (template.includes('<|start_header_id|>') && template.includes('<|eot_id|>')) return LLAMA3;
  return undefined;
}

/** A default system prompt the Jinja template inserts when there is none (Qwen2.5: "You are Qwen, created by …"). */
export function defaultSystemPrompt(template: string | undefined): string | undefined {
  const m = template && /'<\|im_start\|>system\\n([^'{}<]+?)<\|im_end\|>\\n'/.exec(template);
  return m ? m[1].replace(/\\n/g, '\n') : undefined;
}

export interface ModelfileInput {
  /** GGUF file names inside the folder. */
  from: string;
  adapter?: string;
  chatTemplate?: string;
  /** The text of the model's EOS tokens. */
  eosTexts: string[];
  /** Where it came from, for the header comment. */
  source: string;
}

const quoted = (text: string) => `"""${text}"""`;

/** The Modelfile text. */
export function modelfileText(input: ModelfileInput): string {
  const lines = [`# Ollama Modelfile written by LoRA Studio from ${input.source}`, `FROM ./${input.from}`];
  if (input.adapter) lines.push(`ADAPTER ./${input.adapter}`);
  const family = chatFamily(input.chatTemplate);
  if (family) {
    lines.push(`# ${family.name} chat format, translated from the model's chat template`, `TEMPLATE ${quoted(family.template)}`);
    const system = defaultSystemPrompt(input.chatTemplate);
    if (system) lines.push(`SYSTEM ${quoted(system)}`);
  } else if (input.chatTemplate) {
    lines.push(
      '# TEMPLATE must be written by hand: LoRA Studio does not know this chat template\'s family, and Ollama templates are',
      '# Go templates (https://github.com/ollama/ollama/blob/main/docs/template.md). Ollama may recognise the GGUF\'s',
      '# tokenizer.chat_template on its own; if replies run on or look wrong, translate this Jinja template:',
      ...input.chatTemplate.split('\n').map((line) => `#   ${line}`),
    );
  } else {
    lines.push('# The model has no chat template: use it for plain completion (ollama run … "text"), or write a TEMPLATE by hand.');
  }
  const stops = [...new Set([...(family?.stops ?? []), ...input.eosTexts.filter((t) => t !== '')])];
  for (const stop of stops) lines.push(`PARAMETER stop ${JSON.stringify(stop)}`);
  return lines.join('\n') + '\n';
}

/** A name `ollama create` accepts, from a folder name. */
export function ollamaName(text: string): string {
  const name = text.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-._]+|[-._]+$/g, '');
  return name === '' ? 'lora-studio-model' : name;
}

export interface OllamaExport {
  outDir: string;
  modelDir: string;
  /** With an adapter: the base GGUF plus a GGUF LoRA and an ADAPTER line. */
  adapterDir?: string;
  dtype: GgufDtype;
  /** Checked between tensors; true stops the export (ExportCancelled) and leaves the old folder as it was. */
  cancelled?: () => boolean;
}

export interface OllamaResult {
  name: string;
  notes: string[];
}

/** What an Ollama export writes: a folder holding only these is an earlier export, replaced whole. */
const OLLAMA_FILES = new Set(['Modelfile', 'model.gguf', 'adapter.gguf']);

/**
 * Refuses an --out that replacing whole would lose something: a file, or a folder with anything but an earlier
 * export's files (`--out` the model folder itself replaced the model with the export).
 */
export function checkOllamaTarget(outDir: string): void {
  const stat = statSync(outDir, { throwIfNoEntry: false });
  if (!stat) return;
  if (!stat.isDirectory()) throw new UserError(`${outDir} is a file, not a folder`, { fix: 'choose a new folder for the Ollama export (nothing was written)' });
  const others = readdirSync(outDir).filter((name) => !OLLAMA_FILES.has(name));
  if (others.length > 0) {
    const shown = others.slice(0, 5).join(', ') + (others.length > 5 ? `, … (${others.length} in all)` : '');
    throw new UserError(`${outDir} is not empty and is not an earlier Ollama export (it holds ${shown}): the export replaces the folder whole`, {
      fix: 'choose a new or empty folder for the Ollama export (nothing was written)',
    });
  }
}

/** Writes the folder (staged beside it and renamed into place, so a failed export leaves the old folder as it was). */
export async function exportOllama(options: OllamaExport): Promise<OllamaResult> {
  checkOllamaTarget(options.outDir);
  const folder = loadModelFolder(options.modelDir);
  makeDirs(dirname(options.outDir));
  const staging = mkdtempSync(join(dirname(options.outDir), `.${basename(options.outDir)}.staging-`));
  try {
    const model = await exportGgufModel({ modelDir: options.modelDir, outFile: join(staging, 'model.gguf'), dtype: options.dtype, cancelled: options.cancelled });
    const notes = [...model.notes];
    let adapter: string | undefined;
    if (options.adapterDir) {
      const written = await exportGgufAdapter({ adapterDir: options.adapterDir, modelDir: options.modelDir, outFile: join(staging, 'adapter.gguf'), cancelled: options.cancelled });
      notes.push(...written.notes);
      adapter = 'adapter.gguf';
    }
    const eosTexts = stopTokenIds(folder).map((id) => folder.tokenizer.decode([id], false));
    const source = options.adapterDir ? `${options.modelDir} + ${options.adapterDir}` : options.modelDir;
    writeFileAtomic(join(staging, 'Modelfile'), modelfileText({ from: 'model.gguf', adapter, chatTemplate: folder.tokenizer.chatTemplate, eosTexts, source }));
    commitFolderAtomic(staging, options.outDir);
    if (!chatFamily(folder.tokenizer.chatTemplate) && folder.tokenizer.chatTemplate) notes.push(`note: write the TEMPLATE in ${join(options.outDir, 'Modelfile')} by hand (see the comment there)`);
    return { name: ollamaName(basename(options.adapterDir ?? options.modelDir)), notes };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
