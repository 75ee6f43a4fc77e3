// "Run on a Cluster…" in the training panel, host side without vscode: the trainer and parallelism to offer, and the
// handling of the panel's `exportCluster` message — ask (trainer, parallelism, a new folder), check the form's settings
// as Start does (problems go back by field), write the export (native/export/cluster/write.ts), answer `exported`.
// training-panel.ts gives it VS Code's quick picks and save dialog; tests give it answers.
import type { RunConfig } from '../../native/protocol';
import { resolveRunConfig } from '../../native/train/config';
import { existsAs } from '../../native/util/fs-checks';
import type { TrainerName } from '../../native/export/cluster/dataset';
import type { Parallelism } from '../../native/export/cluster/parallel';
import { exportForCluster, type ClusterExportRequest } from '../../native/export/cluster/write';
import type { TrainingHostMessage } from '../../webview/protocol';

export interface Choice<T> {
  value: T;
  label: string;
  detail: string;
}

export const TRAINER_CHOICES: readonly Choice<TrainerName>[] = [
  { value: 'axolotl', label: 'Axolotl', detail: 'config.yaml for `axolotl train`; runs ReLoRA too' },
  { value: 'llamafactory', label: 'LLaMA-Factory', detail: 'config.yaml and dataset_info.json for `llamafactory-cli train`' },
  { value: 'trl', label: 'TRL', detail: 'train.py with SFTTrainer and PEFT LoraConfig, settings in train_config.json' },
];

export const PARALLELISM_CHOICES: readonly Choice<Parallelism>[] = [
  { value: 'ddp', label: 'Data parallel (DDP)', detail: 'a full model per GPU: the model and its training state fit on one GPU' },
  { value: 'zero2', label: 'DeepSpeed ZeRO-2', detail: 'optimizer state and gradients sharded over the GPUs' },
  { value: 'zero3', label: 'DeepSpeed ZeRO-3', detail: 'parameters sharded too: models larger than one GPU' },
  { value: 'fsdp', label: 'PyTorch FSDP', detail: 'parameters, gradients and optimizer state sharded (FSDP 2)' },
];

export interface ClusterExportUi {
  pick<T>(choices: readonly Choice<T>[], placeHolder: string): Promise<T | undefined>;
  /** A new (or empty) folder for the export; `suggested` is a name beside the run folder. */
  folder(suggested: string): Promise<string | undefined>;
}

/** The answer to the panel's `exportCluster`, or undefined when the user cancelled a question. */
export async function exportFromPanel(
  values: Partial<RunConfig>, ui: ClusterExportUi,
  write: (request: ClusterExportRequest) => Promise<{ out: string; unmapped: { field: string }[]; notes: string[] }> = exportForCluster,
): Promise<TrainingHostMessage | undefined> {
  // The form's settings first, as Start checks them: a cluster cannot run what LoRA Studio would refuse.
  const { problems } = resolveRunConfig({ ...values, out: values.out || 'cluster-export' }, { exists: existsAs });
  if (problems.length > 0) return { type: 'problems', problems };
  const trainer = await ui.pick(TRAINER_CHOICES, 'Train on the cluster with which trainer?');
  if (!trainer) return undefined;
  const parallelism = await ui.pick(PARALLELISM_CHOICES, 'Spread the training over the GPUs how?');
  if (!parallelism) return undefined;
  const out = await ui.folder(`${values.out || 'cluster'}-${trainer}`);
  if (!out) return undefined;
  const result = await write({ trainer, parallelism, config: values, out });
  const notes = [`${TRAINER_CHOICES.find((c) => c.value === trainer)!.label} export written to ${result.out}: run launch.sh there (README.md says how, on one node or several)`];
  if (result.unmapped.length > 0) notes.push(`not carried over (listed in its README): ${result.unmapped.map((u) => u.field).join(', ')}`);
  return { type: 'exported', out: result.out, notes };
}
