// Builds the workspace folder the scenarios open: the sample dataset, a .jsonl broken on known lines, and (for the
// training scenarios) a tiny model made by code. Recreated on every run under test-output/e2e/.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './code-server';
import { outputDir } from './workbench';

/** The sample dataset the repository ships (400 alpaca records); the workspace holds a copy under data/. */
export const sampleDatasetSource = join(repoRoot, 'media', 'sample-data', 'instructions.jsonl');
export const sampleDatasetName = 'instructions.jsonl';

/** The broken dataset: line numbers (1-based) that must be reported, and the lines that must not. */
export const brokenDataset = {
  name: 'broken.jsonl',
  errorLines: [3, 5],
  goodLines: [1, 2, 4],
  text: [
    '{"instruction": "Name a primary color.", "output": "Red."}',
    '{"instruction": "What is 2 + 2?", "output": "4"}',
    // A wrong type: "output" must be a string.
    '{"instruction": "Translate cat to French.", "output": 42}',
    // Valid, with the optional "input" (a file holds one record format: alpaca throughout).
    '{"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"}',
    // Not JSON at all: the string is never closed.
    '{"instruction": "Say something.", "output": "unterminated}',
  ].join('\n') + '\n',
};

export interface Workspace {
  folder: string;
  sampleDataset: string;
  /** The sample's records, parsed, in file order. */
  sampleRecords: Record<string, unknown>[];
  brokenDataset: string;
}

export function prepareWorkspace(name: string): Workspace {
  const folder = join(outputDir, `workspace-${name}`);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(join(folder, 'data'), { recursive: true });
  const sampleDataset = join(folder, 'data', sampleDatasetName);
  if (!existsSync(sampleDatasetSource)) throw new Error(`the sample dataset ${sampleDatasetSource} is missing`);
  copyFileSync(sampleDatasetSource, sampleDataset);
  const sampleRecords = readFileSync(sampleDataset, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const broken = join(folder, 'data', brokenDataset.name);
  writeFileSync(broken, brokenDataset.text);
  return { folder, sampleDataset, sampleRecords, brokenDataset: broken };
}

/** The text a Dataset Preview row must show for a record: its instruction, or its first message's content. */
export function recordHeadline(record: Record<string, unknown>): string {
  if (typeof record.instruction === 'string') return record.instruction;
  const messages = record.messages;
  if (Array.isArray(messages) && messages.length > 0) {
    const first = messages.find((m: { role?: string }) => m.role !== 'system') ?? messages[0];
    return String((first as { content?: unknown }).content ?? '');
  }
  throw new Error(`record has neither "instruction" nor "messages": ${JSON.stringify(record).slice(0, 120)}`);
}

/** The tiny model builder (test/fixtures/tiny-model/index.ts, owned by the model team). */
export const tinyModelBuilder = join(repoRoot, 'test', 'fixtures', 'tiny-model', 'index.ts');

/** A Llama small enough to train a few dozen steps on 2 CPU cores in seconds, with all seven linear modules. */
export const tinyModelOptions = {
  architecture: 'LlamaForCausalLM', layers: 2, hidden: 64, heads: 4, kvHeads: 2, intermediate: 128,
  vocab: 1024, tie: false, dtype: 'float32', seed: 7,
} as const;

/**
 * The training scenarios' workspace: the basic one plus a tiny model folder under models/, made by code with the
 * fixture builder (a real HF folder: config.json, tokenizer files, model.safetensors), so nothing is downloaded.
 */
export async function prepareTrainingWorkspace(name: string): Promise<Workspace & { modelDir: string }> {
  const workspace = prepareWorkspace(name);
  // The broken file would only add noise to the dataset list and the Problems panel here.
  rmSync(workspace.brokenDataset);
  const modelDir = join(workspace.folder, 'models', 'tiny-llama');
  if (!existsSync(tinyModelBuilder)) throw new Error(`the tiny model builder ${tinyModelBuilder} does not exist`);
  const builder = (await import(tinyModelBuilder)) as { makeTinyModel?: (dir: string, opts: typeof tinyModelOptions) => unknown };
  if (typeof builder.makeTinyModel !== 'function') throw new Error(`${tinyModelBuilder} does not export makeTinyModel(dir, options)`);
  builder.makeTinyModel(modelDir, tinyModelOptions);
  for (const file of ['config.json', 'tokenizer.json', 'model.safetensors']) {
    if (!existsSync(join(modelDir, file))) throw new Error(`makeTinyModel(${modelDir}) wrote no ${file}`);
  }
  return { ...workspace, modelDir };
}
