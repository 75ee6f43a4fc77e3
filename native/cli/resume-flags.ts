// `train --resume DIR [flags]`: a resumed run keeps its settings. Only the fields that extend it (--max-steps,
// --epochs, --allow-long-context) may change; any other flag given on the command line must equal the run's own
// value, or the resume is refused naming that flag — silently ignoring `--lr 0.5` would train something other than
// what the user asked for.
import { resolve } from 'node:path';
import type { RunConfig } from '../protocol';
import { UserError } from '../util/errors';
import { runConfigFromFlags, type TrainFlags } from './train-options';

/** The RunConfig field each train flag sets; `undefined` for flags that are not settings of the run. */
const FLAG_FIELDS: Record<keyof TrainFlags, keyof RunConfig | undefined> = {
  model: 'model', data: 'data', out: 'out', evalData: 'eval_data', evalSplit: 'eval_split',
  rank: 'r', alpha: 'lora_alpha', dropout: 'lora_dropout', targetModules: 'target_modules', rslora: 'use_rslora', useDora: 'use_dora',
  init: 'init_lora_weights', reloraEvery: 'relora_steps', reloraPrune: 'relora_prune', reloraWarmup: 'relora_warmup_steps',
  method: 'method', initR: 'init_r', targetR: 'target_r', tinit: 'tinit', tfinal: 'tfinal', deltaT: 'deltaT', beta1: 'beta1', beta2: 'beta2',
  orthRegWeight: 'orth_reg_weight', totalStep: 'total_step', numVirtualTokens: 'num_virtual_tokens', promptInit: 'prompt_tuning_init', promptInitText: 'prompt_tuning_init_text', lisaLayers: 'lisa_layers', lisaPeriod: 'lisa_period',
  loraplusRatio: 'loraplus_lr_ratio', lr: 'learning_rate', weightDecay: 'weight_decay', warmupSteps: 'warmup_steps',
  scheduler: 'lr_scheduler_type', batchSize: 'micro_batch_size', gradAccum: 'gradient_accumulation_steps',
  maxGradNorm: 'max_grad_norm', epochs: 'num_epochs', maxSteps: 'max_steps', evalEvery: 'eval_every',
  saveEvery: 'save_every', saveTotalLimit: 'save_total_limit', seed: 'seed', device: 'device', maxSeqLen: 'max_seq_len', allowLongContext: 'allow_long_context',
  trainOnPrompt: 'train_on_prompt', gradientCheckpointing: 'gradient_checkpointing', precision: 'precision',
  quantization: 'quantization', saveDtype: 'save_dtype', resume: undefined, json: undefined, allowOutsideLinks: undefined,
};

/**
 * Flags that may differ on a resume: they extend a run, they do not change what it trains. --max-steps / --epochs
 * lengthen the schedule; --allow-long-context lets the run's own max_seq_len past the model's positions (say after
 * config.json was edited), the same sequences as before, which is also why it is no part of a checkpoint's fingerprint.
 */
const EXTENDING: readonly (keyof TrainFlags)[] = ['maxSteps', 'epochs', 'allowLongContext'];

const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

const PATH_FIELDS: readonly (keyof RunConfig)[] = ['model', 'data', 'out', 'eval_data'];

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The config a resume continues with: the run's own, with --max-steps / --epochs applied when given. `explicit` names
 * the flags the user typed (commander's option value source 'cli'), so defaults never count as changes.
 * `checkpointStep` is the step of the checkpoint the run resumes from.
 */
export function resumeConfig(saved: RunConfig, flags: TrainFlags, explicit: ReadonlySet<keyof TrainFlags>, checkpointStep: number): RunConfig {
  const wanted = runConfigFromFlags(flags);
  const changed: string[] = [];
  for (const key of explicit) {
    const field = FLAG_FIELDS[key];
    if (field === undefined || EXTENDING.includes(key)) continue;
    let value = wanted[field];
    if (PATH_FIELDS.includes(field) && typeof value === 'string' && value !== '') value = resolve(value);
    if (!same(value, saved[field])) changed.push(`${flagName(key)} ${JSON.stringify(value)} (this run has ${field} = ${JSON.stringify(saved[field] ?? null)})`);
  }
  if (changed.length > 0) {
    throw new UserError(`a resumed run keeps its settings, but ${changed.join('; ')}`, {
      where: { file: saved.out },
      fix: 'drop those flags to continue the run as it was (only --max-steps, --epochs and --allow-long-context can extend it), or start a new run with another --out to train with different settings',
    });
  }
  const next: RunConfig = { ...saved };
  if (explicit.has('maxSteps')) next.max_steps = wanted.max_steps;
  // A boolean flag: typed means on. Once on it stays on (the flag has no off form, and the run already went past).
  if (explicit.has('allowLongContext') && wanted.allow_long_context) next.allow_long_context = true;
  if (explicit.has('epochs')) {
    if (saved.max_steps !== undefined && !explicit.has('maxSteps')) {
      throw new UserError(`--epochs has no effect on this run: it is limited by max_steps = ${saved.max_steps}`, {
        where: { file: saved.out },
        fix: `extend it with --max-steps N (N > ${checkpointStep}) instead`,
      });
    }
    next.num_epochs = wanted.num_epochs;
  }
  if (next.max_steps !== undefined && (!Number.isInteger(next.max_steps) || next.max_steps < checkpointStep)) {
    throw new UserError(`--max-steps ${next.max_steps} is below step ${checkpointStep}, which this run's latest checkpoint has already reached`, {
      where: { file: saved.out },
      fix: `pass --max-steps above ${checkpointStep} to train further, or use the run's adapter as it is`,
    });
  }
  return next;
}
