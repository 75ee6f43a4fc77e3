// The bookkeeping of a RunConfig → trainer-config mapping: every field of the run is either used by some key the
// trainer reads, or listed as not mapped with the reason (the export's README prints that list). `finish` adds every
// field no mapper looked at to the list, so a field added to RunConfig later cannot be dropped silently.
import type { RunConfig } from '../../protocol';
import { ADALORA_DEFAULTS } from '../../model/adalora-settings';
import { UserError } from '../../util/errors';

export type RunField = keyof RunConfig;

/** A setting of the run the trainer has no equivalent for, or maps only approximately. */
export interface Unmapped {
  field: RunField;
  value: unknown;
  why: string;
}

export class ConfigMapping {
  private readonly used = new Set<RunField>();
  readonly unmapped: Unmapped[] = [];
  /** Differences worth knowing that are not a single field (how a trainer does something LoRA Studio does too). */
  readonly notes: string[] = [];

  constructor(readonly config: RunConfig) {}

  /** Marks fields as carried over by the keys just written; returns the run's values for convenience. */
  use<K extends RunField>(...fields: K[]): void {
    for (const field of fields) this.used.add(field);
  }

  /** Lists a field as not mapped (when present in the run and not at its no-op value). */
  skip(field: RunField, why: string): void {
    this.used.add(field);
    const value = this.config[field];
    if (value === undefined) return;
    this.unmapped.push({ field, value, why });
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** Every present field no mapper looked at goes to the unmapped list. */
  finish(): { unmapped: Unmapped[]; notes: string[] } {
    for (const [field, value] of Object.entries(this.config) as [RunField, unknown][]) {
      if (value === undefined || this.used.has(field)) continue;
      this.unmapped.push({ field, value, why: 'no equivalent in this trainer is known to LoRA Studio' });
    }
    return { unmapped: this.unmapped, notes: this.notes };
  }
}

/** Hugging Face scheduler names for ours: warmup is part of every HF schedule except plain 'constant'. */
export function hfScheduler(config: RunConfig): string {
  if (config.lr_scheduler_type === 'constant') return config.warmup_steps > 0 ? 'constant_with_warmup' : 'constant';
  return config.lr_scheduler_type;
}

/** Mixed precision on the cluster's GPUs: auto means bf16 there (as LoRA Studio does on CUDA). */
export function hfPrecision(config: RunConfig): { bf16?: boolean; fp16?: boolean } {
  const precision = config.precision ?? 'auto';
  if (precision === 'fp16') return { fp16: true };
  if (precision === 'fp32') return { bf16: false, fp16: false };
  return { bf16: true };
}

/** Checkpoint cadence in Hugging Face Trainer arguments (every trainer here passes them on as they are). */
export function hfSaveCadence(m: ConfigMapping): { save_strategy: 'steps' | 'no'; save_steps?: number; save_total_limit?: number } {
  const c = m.config;
  m.use('save_every', 'save_total_limit');
  return {
    ...(c.save_every > 0 ? { save_strategy: 'steps' as const, save_steps: c.save_every } : { save_strategy: 'no' as const }),
    ...(c.save_total_limit > 0 ? { save_total_limit: c.save_total_limit } : {}),
  };
}

/** The fields of an AdaLoRA run, which none of the trainers' LoRA paths run (PEFT's AdaLoRA needs a per-step call). */
export const ADALORA_FIELDS: RunField[] = ['init_r', 'target_r', 'tinit', 'tfinal', 'deltaT', 'beta1', 'beta2', 'orth_reg_weight', 'total_step'];

/** Fields every trainer handles the same way: where the files go and what LoRA Studio alone uses. */
export function mapCommon(m: ConfigMapping): void {
  const c = m.config;
  // The exported folder carries the data (data/train.jsonl, data/eval.jsonl) and writes to output/.
  m.use('data', 'eval_data', 'eval_split', 'out');
  m.skip('device', 'the cluster\'s launcher places the processes on its GPUs (one per GPU)');
  m.skip('save_dtype', 'the trainers save the adapter in the dtype it trained in (float32 LoRA weights)');
  // The exports write LoRA trainings: a prompt/prefix tuning or LISA run mapped onto them would silently train something else.
  if (c.method === 'prompt-tuning' || c.method === 'prefix-tuning' || c.method === 'lisa') {
    throw new UserError(`a ${c.method} run cannot be exported for a cluster: the Axolotl, LLaMA-Factory and TRL exports write LoRA trainings`, {
      where: { field: 'method' }, fix: c.method === 'lisa'
        ? 'export a LoRA-family run, or train LISA on the cluster with LMFlow (--lisa_activated_layers, --lisa_interval_steps) yourself'
        : 'export a LoRA-family run, or train with PEFT\'s PromptTuningConfig / PrefixTuningConfig on the cluster yourself',
    });
  }
  if (c.method === 'adalora') {
    m.skip('method', 'AdaLoRA is exported as plain LoRA of rank r = init_r (the trainers do not run PEFT\'s rank allocator)');
    for (const field of ADALORA_FIELDS) m.skip(field, 'AdaLoRA budget schedule: not run (plain LoRA)');
  } else {
    m.use('method', ...ADALORA_FIELDS);
  }
  // LoRA Studio's permission to train past the model's positions: the trainers have no such switch, the length itself
  // (max_seq_len) is mapped by each; the README says the run went past, so the cluster user checks RoPE scaling.
  if (c.allow_long_context) m.skip('allow_long_context', `the trainers have no such switch: max_seq_len ${c.max_seq_len} is passed as it is, past the model's max_position_embeddings as in LoRA Studio — set the trainer's rope_scaling option if the model needs RoPE scaling for that length`);
  else m.use('allow_long_context');
  if (c.eval_split > 0 && !c.eval_data) m.note(`The eval set is the ${c.eval_split} held-out fraction LoRA Studio would use (seed ${c.seed}), written to data/eval.jsonl.`);
  m.note(`Effective batch: micro-batch ${c.micro_batch_size} × accumulation ${c.gradient_accumulation_steps} × the number of GPUs; divide gradient_accumulation_steps by the GPU count to keep LoRA Studio's ${c.micro_batch_size * c.gradient_accumulation_steps} sequences per step.`);
}

/** The LoRA rank to train: AdaLoRA's initial rank for an AdaLoRA run (its `r` is unused, as in PEFT). */
export function loraRank(config: RunConfig): number {
  return config.method === 'adalora' ? config.init_r ?? ADALORA_DEFAULTS.init_r : config.r;
}
