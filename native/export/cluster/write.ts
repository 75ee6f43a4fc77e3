// `lora-studio export --format axolotl|llamafactory|trl` and the panel's "Run on a Cluster…": reads the run's settings
// (a run folder's training_config.json, or a .lora.json preset with the model and data given beside it), its records
// and what the model folder says about itself, builds the folder (bundle.ts) and writes it in one rename, so a
// half-written export never stands where the user looks.
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { makeDirs } from '../../util/make-dirs';
import { dirname, join, resolve } from 'node:path';
import type { RunConfig } from '../../protocol';
import { resolveRunConfig } from '../../train/config';
import { readRunConfig } from '../../train/run-dir';
import { readDatasetRecords } from '../../data/validate';
import { splitEval } from '../../data/batch';
import type { DatasetRecord } from '../../data/records';
import { hubIdOf } from '../../model/hub-id';
import { commitFolderAtomic } from '../../util/atomic-write';
import { existsAs } from '../../util/fs-checks';
import { UserError } from '../../util/errors';
import { buildClusterExport, type ClusterExport } from './bundle';
import type { TrainerName } from './dataset';
import type { Parallelism } from './parallel';

export interface ClusterExportRequest {
  trainer: TrainerName;
  parallelism: Parallelism;
  /** A run folder (its training_config.json) … */
  runDir?: string;
  /** … or a settings file (a .lora.json preset or a training_config.json); model/data fill what it lacks. */
  configFile?: string;
  /** Settings given directly (the panel's current form); model/data inside. */
  config?: Partial<RunConfig>;
  model?: string;
  data?: string;
  evalData?: string;
  out: string;
}

function readSettings(request: ClusterExportRequest): { values: Partial<RunConfig>; source: string } {
  if (request.runDir) {
    const config = readRunConfig(request.runDir);
    if (!config) throw new UserError(`no readable training_config.json in ${request.runDir}`, { where: { file: request.runDir }, fix: 'choose a LoRA Studio run folder' });
    return { values: config, source: request.runDir };
  }
  if (request.configFile) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(request.configFile, 'utf8'));
    } catch (error) {
      throw new UserError(`cannot read the settings: ${(error as Error).message}`, { where: { file: request.configFile }, fix: 'give a .lora.json preset or a training_config.json' });
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UserError('the settings must be a JSON object', { where: { file: request.configFile } });
    return { values: json as Partial<RunConfig>, source: request.configFile };
  }
  if (request.config) return { values: request.config, source: 'the training panel' };
  throw new UserError('nothing to export', { fix: 'give --run DIR or --config FILE.lora.json' });
}

/** Whether the tokenizer has a chat template (then records are exported as conversations, as LoRA Studio renders them). */
export function modelHasChatTemplate(modelDir: string): boolean {
  if (existsSync(join(modelDir, 'chat_template.jinja')) || existsSync(join(modelDir, 'chat_template.json'))) return true;
  try {
    const tokenizerConfig = JSON.parse(readFileSync(join(modelDir, 'tokenizer_config.json'), 'utf8')) as { chat_template?: unknown };
    return tokenizerConfig.chat_template !== undefined && tokenizerConfig.chat_template !== null && tokenizerConfig.chat_template !== '';
  } catch {
    return false;
  }
}

/** The resolved, validated settings of the export (output folders are the export's, not the run's). */
export function exportSettings(request: ClusterExportRequest): { config: RunConfig; source: string } {
  const { values, source } = readSettings(request);
  const given: Partial<RunConfig> = { ...values };
  if (request.model) given.model = request.model;
  if (request.data) given.data = request.data;
  if (request.evalData) given.eval_data = request.evalData;
  const { config, problems } = resolveRunConfig({ ...given, out: request.out }, { exists: existsAs });
  if (problems.length > 0) {
    const list = problems.map((p) => `  ${p.field}: ${p.message}`).join('\n');
    const missingPaths = problems.some((p) => p.field === 'model' || p.field === 'data');
    throw new UserError(`the settings of ${source} cannot be exported (${problems.length}):\n${list}`, {
      fix: missingPaths ? 'fix them; a preset names no model or data: give --model DIR and --data FILE' : 'fix them (LoRA Studio would refuse to train them too)',
    });
  }
  return { config, source };
}

async function records(config: RunConfig): Promise<{ train: DatasetRecord[]; eval: DatasetRecord[] }> {
  const train = (await readDatasetRecords(config.data)).map((r) => r.record);
  if (config.eval_data) return { train, eval: (await readDatasetRecords(config.eval_data)).map((r) => r.record) };
  // The same held-out records LoRA Studio's own run would use (run.ts splits the file's records in order, seeded).
  if (config.eval_split > 0) return splitEval(train, config.eval_split, config.seed);
  return { train, eval: [] };
}

/** Builds the export of the request and writes it to request.out, which must not exist or be empty. */
export async function exportForCluster(request: ClusterExportRequest): Promise<ClusterExport & { out: string }> {
  const out = resolve(request.out);
  if (existsSync(out) && readdirSync(out).length > 0) {
    throw new UserError(`${out} is not empty`, { where: { file: out }, fix: 'choose a new folder for the export (it is written whole, never merged into old files)' });
  }
  const { config, source } = exportSettings(request);
  const hubId = hubIdOf(config.model);
  const data = await records(config);
  const result = buildClusterExport({
    trainer: request.trainer, parallelism: request.parallelism, config, source,
    model: { name: hubId ?? resolve(config.model), isPath: hubId === undefined, hasChatTemplate: modelHasChatTemplate(config.model) },
    train: data.train, eval: data.eval,
  });
  makeDirs(dirname(out));
  const staging = `${out}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    for (const [path, text] of Object.entries(result.files)) {
      const target = join(staging, path);
      makeDirs(dirname(target));
      writeFileSync(target, text);
      if (path.endsWith('.sh') || path.endsWith('.py')) chmodSync(target, 0o755);
    }
    if (existsSync(out)) rmSync(out, { recursive: true }); // empty (checked above)
    commitFolderAtomic(staging, out);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return { ...result, out };
}
