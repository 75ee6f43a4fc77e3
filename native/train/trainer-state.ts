// Hugging Face Trainer's trainer_state.json (transformers trainer_callback.py TrainerState) read as LoRA Studio's
// metrics, so a run trained elsewhere (a cluster export, any Trainer/TRL/Axolotl/LLaMA-Factory run) shows its loss
// curve like ours. The Trainer writes the file into every checkpoint-N/ folder it saves and, on save_state(), into its
// output_dir; log_history holds one entry per logging step ({loss, learning_rate, grad_norm, epoch, step, …}), one per
// evaluation ({eval_loss, …, step}) and a final summary ({train_loss, train_runtime, …}).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricRecord } from '../protocol';
import { UserError } from '../util/errors';

export const TRAINER_STATE = 'trainer_state.json';
const CHECKPOINT = /^checkpoint-(\d+)$/;

export interface TrainerStateSummary {
  globalStep: number;
  maxSteps: number;
  /** One record per logged training step, with eval_loss on the record of the step it was evaluated at. */
  metrics: MetricRecord[];
  /** The final summary entry was logged: training ended (trainer_state.json is then written by save_state). */
  finished: boolean;
}

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** trainer_state.json's text → metrics; `file` names it in errors. */
export function parseTrainerState(text: string, file: string): TrainerStateSummary {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(`not valid JSON: ${(error as Error).message}`, { where: { file }, fix: 'the Trainer may be writing it; it is read again on the next change' });
  }
  const state = json as { global_step?: unknown; max_steps?: unknown; log_history?: unknown };
  if (typeof json !== 'object' || json === null || !Array.isArray(state.log_history)) {
    throw new UserError('has no log_history list — not a Hugging Face Trainer state', { where: { file, field: 'log_history' } });
  }
  const metrics: MetricRecord[] = [];
  let finished = false;
  for (const entry of state.log_history as Record<string, unknown>[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const step = num(entry.step);
    if (step === undefined) continue;
    if (num(entry.train_runtime) !== undefined) finished = true;
    const loss = num(entry.loss);
    const evalLoss = num(entry.eval_loss);
    if (loss !== undefined) {
      metrics.push({
        step, epoch: num(entry.epoch) ?? 0, loss, lr: num(entry.learning_rate) ?? 0, grad_norm: num(entry.grad_norm) ?? 0,
        // TRL logs num_tokens; the Trainer's own count is num_input_tokens_seen (when include_num_input_tokens_seen).
        tokens: num(entry.num_tokens) ?? num(entry.num_input_tokens_seen) ?? 0,
        tokens_per_s: 0, elapsed_s: 0, memory_mb: 0,
      });
    } else if (evalLoss !== undefined) {
      // An evaluation is logged after the training entry of its step: it belongs to the latest one at or before it.
      const at = metrics.findLast((m) => m.step <= step);
      if (at) at.eval_loss = evalLoss;
    }
  }
  const globalStep = num(state.global_step) ?? metrics.at(-1)?.step ?? 0;
  return { globalStep, maxSteps: num(state.max_steps) ?? 0, metrics, finished };
}

/** A Trainer output folder's checkpoint-N folders, oldest first. */
export function trainerCheckpoints(dir: string): { step: number; path: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, match: CHECKPOINT.exec(name) }))
    .filter((entry): entry is { name: string; match: RegExpExecArray } => entry.match !== null)
    .map(({ name, match }) => ({ step: Number(match[1]), path: join(dir, name) }))
    .sort((a, b) => a.step - b.step);
}

/**
 * The newest trainer_state.json of an output folder: the top-level one (save_state at the end) or the latest
 * checkpoint's, whichever has the larger global_step (a resumed run's old top-level file is older than its checkpoints).
 */
export function readNewestTrainerState(dir: string): (TrainerStateSummary & { file: string }) | undefined {
  const files = [join(dir, TRAINER_STATE), ...trainerCheckpoints(dir).reverse().map((c) => join(c.path, TRAINER_STATE))].filter((f) => existsSync(f));
  let best: (TrainerStateSummary & { file: string }) | undefined;
  for (const file of files.slice(0, 2)) {
    let summary: TrainerStateSummary;
    try {
      summary = parseTrainerState(readFileSync(file, 'utf8'), file);
    } catch {
      continue; // being written (a torn file): the other one, or the next poll
    }
    if (!best || summary.globalStep > best.globalStep) best = { ...summary, file };
  }
  return best;
}

/** The folder holding the newest PEFT adapter: the output folder itself once saved there, else the latest checkpoint with one. */
export function trainerAdapterDir(dir: string): string | undefined {
  if (existsSync(join(dir, 'adapter_config.json'))) return dir;
  return trainerCheckpoints(dir).reverse().find((c) => existsSync(join(c.path, 'adapter_config.json')))?.path;
}
