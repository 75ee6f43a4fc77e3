// The cluster formats of `lora-studio export` (axolotl, llamafactory, trl): a run folder (--run) or a settings file
// (--config FILE.lora.json, with --model/--data when it lacks them) as a folder to train on a cluster
// (native/export/cluster/), with --deepspeed zero2|zero3 or --fsdp (plain data parallel otherwise).
import { resolve } from 'node:path';
import { UserError } from '../util/errors';
import type { ExportFlags, ExportFormat } from './export';
import { exportForCluster } from '../export/cluster/write';
import type { TrainerName } from '../export/cluster/dataset';
import type { Parallelism } from '../export/cluster/parallel';

const TRAINERS: Record<TrainerName, string> = { axolotl: 'Axolotl', llamafactory: 'LLaMA-Factory', trl: 'TRL (SFTTrainer + PEFT)' };

/** --deepspeed zero2|zero3 or --fsdp (not both); neither is plain data parallel. */
export function parallelismOf(flags: ExportFlags): Parallelism {
  if (flags.deepspeed !== undefined && flags.fsdp) throw new UserError('--deepspeed and --fsdp are two ways to shard the same training: choose one');
  if (flags.fsdp) return 'fsdp';
  if (flags.deepspeed === undefined) return 'ddp';
  if (flags.deepspeed === 'zero2' || flags.deepspeed === 'zero3') return flags.deepspeed;
  throw new UserError(`--deepspeed must be zero2 or zero3, got "${flags.deepspeed}"`, { fix: 'zero2 shards optimizer state and gradients; zero3 the parameters too (models larger than a GPU)' });
}

function clusterFormat(trainer: TrainerName): ExportFormat {
  const example = `--run RUN_DIR --format ${trainer} --out DIR [--deepspeed zero2|zero3 | --fsdp]`;
  return {
    description: `a run (--run DIR, or --config FILE.lora.json with --model/--data) as a folder to train with ${TRAINERS[trainer]} on a cluster: data, config, launch scripts for one or several nodes, README (--deepspeed zero2|zero3 or --fsdp)`,
    async run(flags) {
      if (!flags.run && !flags.config) throw new UserError(`--format ${trainer} needs --run RUN_DIR or --config FILE.lora.json`, { fix: `lora-studio export ${example}` });
      if (flags.run && flags.config) throw new UserError('give --run or --config, not both');
      if (!flags.out) throw new UserError(`--format ${trainer} needs --out DIR (a new folder)`, { fix: `lora-studio export ${example}` });
      const result = await exportForCluster({
        trainer, parallelism: parallelismOf(flags), out: flags.out,
        runDir: flags.run ? resolve(flags.run) : undefined, configFile: flags.config ? resolve(flags.config) : undefined,
        model: flags.model, data: flags.data, evalData: flags.evalData,
      });
      const notes = [`${TRAINERS[trainer]} export written to ${result.out} (${Object.keys(result.files).length} files)`, `run it: bash ${result.out}/launch.sh (one node) or launch-multinode.sh (see its README.md)`];
      if (result.unmapped.length > 0) notes.push(`not carried over (listed in README.md): ${result.unmapped.map((u) => u.field).join(', ')}`);
      return { out: result.out, notes };
    },
  };
}

export const CLUSTER_FORMATS: Record<TrainerName, ExportFormat> = {
  axolotl: clusterFormat('axolotl'),
  llamafactory: clusterFormat('llamafactory'),
  trl: clusterFormat('trl'),
};
