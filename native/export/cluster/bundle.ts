// A cluster export as files (path → text), pure: the run's settings mapped for one trainer (axolotl.ts,
// llamafactory.ts, trl.ts), its data in that trainer's format (dataset.ts), the DeepSpeed or FSDP config
// (parallel.ts), the launch scripts (launch.ts), requirements.txt and the README listing what did not map. write.ts
// reads the inputs and writes the folder.
import type { RunConfig } from '../../protocol';
import type { DatasetRecord } from '../../data/records';
import { axolotlConfig } from './axolotl';
import { dataShape, jsonl, multiTurnCount, type TrainerName } from './dataset';
import { LF_TRAIN_PY, LF_TRAIN_SCRIPT, launchScripts } from './launch';
import { llamafactoryConfig, llamafactoryDatasetInfo } from './llamafactory';
import { hfPrecision, type ConfigMapping, type Unmapped } from './mapping';
import { ACCELERATE_FILE, accelerateFsdpConfig, DEEPSPEED_FILE, deepspeedConfig, type Parallelism } from './parallel';
import { clusterReadme } from './readme';
import { trlSettings } from './trl';
import { TRL_SCRIPT } from './trl-script';
import { toYaml } from './yaml';

export const CLUSTER_TRAINERS: readonly TrainerName[] = ['axolotl', 'llamafactory', 'trl'];
export const PARALLELISMS: readonly Parallelism[] = ['ddp', 'zero2', 'zero3', 'fsdp'];

/** The versions the TRL export's field names were checked against (test/fixtures/cluster-schemas/trl.json). */
const TRL_REQUIREMENTS = ['trl==1.13.0', 'transformers==4.57.6', 'peft==0.21.0', 'accelerate==1.15.0', 'datasets'];

export interface ClusterExportInput {
  trainer: TrainerName;
  parallelism: Parallelism;
  config: RunConfig;
  /** How the cluster names the model (a Hugging Face id when known), and whether that is a local path instead. */
  model: { name: string; isPath: boolean; hasChatTemplate: boolean };
  train: readonly DatasetRecord[];
  eval: readonly DatasetRecord[];
  /** Where the settings came from, for the README. */
  source: string;
}

export interface ClusterExport {
  files: Record<string, string>;
  unmapped: Unmapped[];
  notes: string[];
}

function requirements(trainer: TrainerName, parallelism: Parallelism, config: RunConfig): string[] {
  const base = trainer === 'trl' ? TRL_REQUIREMENTS : [trainer === 'axolotl' ? 'axolotl' : 'llamafactory'];
  return [...base, ...(parallelism === 'zero2' || parallelism === 'zero3' ? ['deepspeed'] : []), ...(config.quantization === 'nf4' ? ['bitsandbytes'] : [])];
}

export function buildClusterExport(input: ClusterExportInput): ClusterExport {
  const { trainer, parallelism, config } = input;
  const shape = dataShape(input.model.hasChatTemplate);
  const hasEval = input.eval.length > 0;
  const files: Record<string, string> = {};
  files['data/train.jsonl'] = jsonl(input.train, trainer, shape, config.train_on_prompt);
  if (hasEval) files['data/eval.jsonl'] = jsonl(input.eval, trainer, shape, config.train_on_prompt);

  const mapInput = { config, model: input.model.name, shape, parallelism, hasEval };
  let mapping: ConfigMapping;
  if (trainer === 'axolotl') {
    const mapped = axolotlConfig(mapInput);
    files['config.yaml'] = toYaml(mapped.yaml);
    mapping = mapped.mapping;
  } else if (trainer === 'llamafactory') {
    const mapped = llamafactoryConfig(mapInput);
    files['config.yaml'] = toYaml(mapped.yaml);
    files['data/dataset_info.json'] = JSON.stringify(llamafactoryDatasetInfo(shape, hasEval), null, 2) + '\n';
    if (parallelism === 'fsdp') files[LF_TRAIN_SCRIPT] = LF_TRAIN_PY;
    mapping = mapped.mapping;
  } else {
    const mapped = trlSettings(mapInput);
    files['train_config.json'] = JSON.stringify(mapped.settings, null, 2) + '\n';
    files['train.py'] = TRL_SCRIPT;
    mapping = mapped.mapping;
    const multi = multiTurnCount([...input.train, ...input.eval]);
    if (multi > 0 && !config.train_on_prompt && shape === 'messages') {
      mapping.note(`TRL learns the completion of prompt/completion records, so in the ${multi} conversation(s) with several assistant replies only the last reply is learned (LoRA Studio learns every reply); earlier replies are context.`);
    }
  }
  if (parallelism === 'zero2' || parallelism === 'zero3') files[DEEPSPEED_FILE] = JSON.stringify(deepspeedConfig(parallelism === 'zero2' ? 2 : 3), null, 2) + '\n';
  if (parallelism === 'fsdp' && trainer !== 'axolotl') {
    const precision = hfPrecision(config);
    files[ACCELERATE_FILE] = toYaml(accelerateFsdpConfig(precision.bf16 ? 'bf16' : precision.fp16 ? 'fp16' : 'no'));
  }
  Object.assign(files, launchScripts(trainer, parallelism));
  const reqs = requirements(trainer, parallelism, config);
  files['requirements.txt'] = reqs.join('\n') + '\n';
  const { unmapped, notes } = mapping.finish();
  files['README.md'] = clusterReadme({
    trainer, parallelism, source: input.source, model: input.model.name, modelIsPath: input.model.isPath,
    files: [...Object.keys(files), 'README.md'].sort(),
    records: { train: input.train.length, eval: input.eval.length },
    unmapped, notes, requirements: reqs,
  });
  return { files, unmapped, notes };
}
