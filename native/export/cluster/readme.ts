// The README.md of a cluster export: what the folder holds, how to install and launch on one node or several, how to
// bring the result back (Watch External Run…, merge), and every setting of the run that did not map — listed, never
// dropped silently (mapping.ts collects them).
import type { Unmapped } from './mapping';
import type { TrainerName } from './dataset';
import type { Parallelism } from './parallel';

export interface ReadmeInput {
  trainer: TrainerName;
  parallelism: Parallelism;
  /** Where the settings came from (a run folder or a .lora.json file). */
  source: string;
  model: string;
  /** The model is a local path (no Hugging Face id known): it must be copied to the cluster. */
  modelIsPath: boolean;
  files: string[];
  records: { train: number; eval: number };
  unmapped: Unmapped[];
  notes: string[];
  requirements: string[];
}

const TITLES: Record<TrainerName, string> = { axolotl: 'Axolotl', llamafactory: 'LLaMA-Factory', trl: 'TRL (SFTTrainer + PEFT)' };
const PARALLEL: Record<Parallelism, string> = {
  ddp: 'data parallel (DDP: a full copy of the model per GPU)',
  zero2: 'DeepSpeed ZeRO-2 (optimizer state and gradients sharded over the GPUs; deepspeed.json)',
  zero3: 'DeepSpeed ZeRO-3 (parameters sharded too, for models larger than one GPU; deepspeed.json)',
  fsdp: 'PyTorch FSDP 2 (parameters, gradients and optimizer state sharded; ' + 'each decoder layer wrapped)',
};

export function clusterReadme(input: ReadmeInput): string {
  const out: string[] = [];
  out.push(`# LoRA fine-tuning on a cluster with ${TITLES[input.trainer]}`, '');
  out.push(`Exported by LoRA Studio from \`${input.source}\`: the same model, data and settings, for ${TITLES[input.trainer]} with ${PARALLEL[input.parallelism]}.`, '');
  out.push('## Files', '');
  for (const file of input.files) out.push(`- \`${file}\``);
  out.push('', `Data: ${input.records.train} training records${input.records.eval > 0 ? ` and ${input.records.eval} evaluation records` : ''} in \`data/\`.`, '');
  out.push('## Run', '');
  out.push('1. Copy this folder to the cluster (every node needs it, at the same path, or on a shared file system).');
  out.push(`2. Install: \`pip install ${input.requirements.join(' ')}\` (with the PyTorch build for the cluster's CUDA).`);
  if (input.modelIsPath) {
    out.push(`3. The model \`${input.model}\` is a local folder (no Hugging Face id is known for it): copy it to the cluster and put its path in the config (\`${configFile(input.trainer)}\`).`);
  } else out.push(`3. The model \`${input.model}\` is downloaded from the Hugging Face Hub (\`huggingface-cli login\` first if it is gated).`);
  out.push('4. One node, every GPU: `bash launch.sh` (`NPROC_PER_NODE=2 bash launch.sh` for fewer GPUs).');
  out.push('5. Several nodes: on each node run');
  out.push('', '   ```sh', '   MASTER_ADDR=node0.example MASTER_PORT=29500 NNODES=2 NODE_RANK=0 bash launch-multinode.sh   # on node 0', '   MASTER_ADDR=node0.example MASTER_PORT=29500 NNODES=2 NODE_RANK=1 bash launch-multinode.sh   # on node 1', '   ```', '');
  out.push('   NPROC_PER_NODE defaults to the GPU count of the node. Under Slurm, set NODE_RANK=$SLURM_NODEID, NNODES=$SLURM_NNODES and MASTER_ADDR to the first host of `scontrol show hostnames`.', '');
  out.push('## Bring the result back', '');
  out.push('The trainer writes to `output/`: `checkpoint-N/` folders as it goes (each with `trainer_state.json`, the loss so far, and the adapter), then the final PEFT adapter (`adapter_config.json`, `adapter_model.safetensors`) at the top.', '');
  out.push('- While it runs, sync or mount `output/` on your machine and use **LoRA Studio: Watch External Run…** on it: the Runs view shows the loss curve from `trainer_state.json` and each checkpoint as it appears.');
  out.push('- When it is done, Merge, Compare and export work on the watched run (its adapter is the newest one, top-level or the latest checkpoint), or from the command line: `lora-studio merge --model BASE --adapter output --out MERGED`.', '');
  out.push('## Settings', '');
  if (input.unmapped.length === 0) out.push('Every setting of the run is carried over.', '');
  else {
    out.push(`These settings of the run have no equivalent in ${TITLES[input.trainer]} and are not carried over:`, '');
    out.push('| setting | value | why |', '|---|---|---|');
    for (const u of input.unmapped) out.push(`| \`${u.field}\` | \`${JSON.stringify(u.value)}\` | ${u.why} |`);
    out.push('');
  }
  if (input.notes.length > 0) {
    out.push('Differences to know:', '');
    for (const note of input.notes) out.push(`- ${note}`);
    out.push('');
  }
  return out.join('\n');
}

function configFile(trainer: TrainerName): string {
  return trainer === 'trl' ? 'train_config.json: "model"' : trainer === 'axolotl' ? 'config.yaml: base_model' : 'config.yaml: model_name_or_path';
}
