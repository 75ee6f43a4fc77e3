// Checkpoints: everything needed to resume a run exactly — the adapter (PEFT files, so any checkpoint is itself a
// usable adapter), the trainer's state tensors (LoRA weights and AdamW moments, in float32), the loop state (step, data
// position, tokens, elapsed time) and the seed. Dropout masks and shuffles are derived from (seed, step, epoch), so no
// RNG stream needs saving. A checkpoint is written into a staging folder and renamed into place; `latest` is written
// last, so a killed process never leaves a torn checkpoint and never damages an earlier one.
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { makeDirs } from '../util/make-dirs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { RunConfig } from '../protocol';
import { commitFolderAtomic, writeFileAtomic, writeJsonAtomic } from '../util/atomic-write';
import { UserError } from '../util/errors';
import { openSafetensors, readTensorF32, writeSafetensors } from '../model/safetensors';
import type { LoopState } from './loop';
import { checkpointName, listCheckpoints, runPaths } from './run-dir';

export const CHECKPOINT_FORMAT_VERSION = 1;
export const TRAINER_STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_STATE_FILE = 'optimizer_state.safetensors';

/** The trainer's resumable state: named float32 tensors (LoRA A/B and AdamW moments) and its optimizer step count. */
export interface TrainerStateTensors {
  step: number;
  tensors: Map<string, Float32Array>;
}

/** trainer_state.json: written last inside the checkpoint folder (its presence marks the folder complete). */
export interface TrainerStateFile {
  format_version: number;
  loop: LoopState;
  optimizer_step: number;
  seed: number;
  /** The options that must not change across a resume (changing them would silently train something else). */
  fingerprint: RunFingerprint;
  /** Shapes of the tensors in optimizer_state.safetensors, so a load can check them before reading. */
  tensors: Record<string, number[]>;
  saved_at: string;
}

export type RunFingerprint = Pick<RunConfig, 'model' | 'data' | 'r' | 'lora_alpha' | 'target_modules' | 'micro_batch_size' | 'gradient_accumulation_steps' | 'max_seq_len' | 'seed' | 'train_on_prompt' | 'quantization' | 'use_dora' | 'init_lora_weights' | 'relora_steps' | 'method' | 'init_r' | 'target_r' | 'tinit' | 'tfinal' | 'deltaT' | 'beta1' | 'beta2' | 'orth_reg_weight' | 'total_step' | 'num_virtual_tokens' | 'prompt_tuning_init' | 'prompt_tuning_init_text' | 'lisa_layers' | 'lisa_period'>;

export function fingerprintOf(config: RunConfig): RunFingerprint {
  const { model, data, r, lora_alpha, target_modules, micro_batch_size, gradient_accumulation_steps, max_seq_len, seed, train_on_prompt } = config;
  const fingerprint: Omit<RunFingerprint, 'method'> & Partial<Pick<RunFingerprint, 'method'>> = { model, data, r, lora_alpha, target_modules, micro_batch_size, gradient_accumulation_steps, max_seq_len, seed, train_on_prompt };
  // Only when set: checkpoints saved before the option existed (none) still resume.
  if ((config.quantization ?? 'none') !== 'none') fingerprint.quantization = config.quantization;
  if (config.use_dora) fingerprint.use_dora = true;
  if (config.init_lora_weights !== undefined && config.init_lora_weights !== true) fingerprint.init_lora_weights = config.init_lora_weights;
  if ((config.relora_steps ?? 0) > 0) fingerprint.relora_steps = config.relora_steps;
  // AdaLoRA: its state (Λ, the importance EMAs, the rank masks) and schedule depend on all of its fields.
  if (config.method === 'adalora') {
    fingerprint.method = 'adalora';
    for (const key of ['init_r', 'target_r', 'tinit', 'tfinal', 'deltaT', 'beta1', 'beta2', 'orth_reg_weight', 'total_step'] as const) {
      if (config[key] !== undefined) (fingerprint as Record<string, unknown>)[key] = config[key];
    }
  }
  // Prompt/prefix tuning: another method, count or init would load state of another shape or start.
  if (config.method === 'prompt-tuning' || config.method === 'prefix-tuning') {
    fingerprint.method = config.method;
    for (const key of ['num_virtual_tokens', 'prompt_tuning_init', 'prompt_tuning_init_text'] as const) {
      if (config[key] !== undefined) (fingerprint as Record<string, unknown>)[key] = config[key];
    }
  }
  // LISA: its samples (and so the state's tensors) follow γ and K.
  if (config.method === 'lisa') {
    fingerprint.method = 'lisa';
    for (const key of ['lisa_layers', 'lisa_period'] as const) if (config[key] !== undefined) (fingerprint as Record<string, unknown>)[key] = config[key];
  }
  return fingerprint as RunFingerprint;
}

export interface CheckpointInput {
  config: RunConfig;
  loop: LoopState;
  trainer: TrainerStateTensors;
  /** Shapes by tensor name (a Float32Array has no shape). */
  shapes: Map<string, number[]>;
  /** Writes the PEFT adapter files into the given (staging) folder. */
  writeAdapter(dir: string): void;
}

/** Saves a checkpoint for `input.loop.step` under `<run>/checkpoints/step-N/` and returns its path. */
export function saveCheckpoint(runDir: string, input: CheckpointInput): string {
  const paths = runPaths(runDir);
  const target = join(paths.checkpoints, checkpointName(input.loop.step));
  const staging = join(paths.checkpoints, `.staging-${checkpointName(input.loop.step)}-${process.pid}-${randomBytes(3).toString('hex')}`);
  makeDirs(staging);
  try {
    input.writeAdapter(staging);
    const tensors = [...input.trainer.tensors].map(([name, data]) => {
      const shape = input.shapes.get(name) ?? [data.length];
      if (shape.reduce((a, b) => a * b, 1) !== data.length) {
        throw new Error(`checkpoint tensor ${name}: shape [${shape}] does not match its ${data.length} values`);
      }
      return { name, dtype: 'F32' as const, shape, data };
    });
    writeSafetensors(join(staging, OPTIMIZER_STATE_FILE), tensors, { format: 'lora-studio-optimizer' });
    const state: TrainerStateFile = {
      format_version: CHECKPOINT_FORMAT_VERSION,
      loop: input.loop,
      optimizer_step: input.trainer.step,
      seed: input.config.seed,
      fingerprint: fingerprintOf(input.config),
      tensors: Object.fromEntries(tensors.map((t) => [t.name, t.shape])),
      saved_at: new Date().toISOString(),
    };
    writeJsonAtomic(join(staging, TRAINER_STATE_FILE), state);
    commitFolderAtomic(staging, target);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  writeFileAtomic(paths.latest, checkpointName(input.loop.step) + '\n');
  // Only now, with a newer checkpoint complete and `latest` pointing at it, may older ones go.
  pruneCheckpoints(runDir, input.config.save_total_limit ?? 0);
  return target;
}

/**
 * Removes what a killed process left half-done in a run folder: checkpoints being written (.staging-step-*) or
 * deleted (.deleting-step-*), folders moved aside (step-N.old-*) and temp files of atomic writes (.name.pid.hex.tmp).
 * Only the process that holds the run's lock (run-lock.ts) calls it, so nothing in there is still being written.
 */
export function removeLeftovers(runDir: string): string[] {
  const removed: string[] = [];
  const sweep = (dir: string, leftover: RegExp) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names.filter((n) => leftover.test(n))) {
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(join(dir, name));
    }
  };
  sweep(runPaths(runDir).checkpoints, /^\.(staging|deleting)-step-\d+-|^step-\d+\.old-|^\..*\.\d+\.[0-9a-f]+\.tmp$/);
  sweep(runDir, /^\..*\.\d+\.[0-9a-f]+\.tmp$/);
  return removed;
}

/**
 * Deletes all but the newest `keep` complete checkpoints (0 keeps all) and returns the folders removed. Each is
 * renamed out of the step-N pattern first, so a process killed mid-delete leaves no half-deleted "checkpoint".
 */
export function pruneCheckpoints(runDir: string, keep: number): string[] {
  if (!(keep > 0)) return [];
  const all = listCheckpoints(runDir);
  return all.slice(0, Math.max(0, all.length - keep)).filter((old) => removeCheckpoint(runDir, old.step)).map((old) => old.path);
}

/**
 * Deletes the checkpoint of `step` (never the latest: call it once a newer one is complete), renamed out of the
 * step-N pattern first; false when it is in use or gone (keeping an extra checkpoint is harmless).
 */
export function removeCheckpoint(runDir: string, step: number): boolean {
  const doomed = join(runPaths(runDir).checkpoints, `.deleting-${checkpointName(step)}-${randomBytes(3).toString('hex')}`);
  try {
    renameSync(join(runPaths(runDir).checkpoints, checkpointName(step)), doomed);
  } catch {
    return false;
  }
  rmSync(doomed, { recursive: true, force: true });
  return true;
}

export interface LoadedCheckpoint {
  path: string;
  loop: LoopState;
  trainer: TrainerStateTensors;
  fingerprint: RunFingerprint;
}

/** Loads a checkpoint folder; every problem says which file and what to do. */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  const statePath = join(path, TRAINER_STATE_FILE);
  if (!existsSync(statePath)) {
    throw new UserError(`${path} is not a complete checkpoint (no ${TRAINER_STATE_FILE})`, {
      where: { file: path },
      fix: 'resume from the run folder instead: the latest complete checkpoint is chosen automatically',
    });
  }
  let state: TrainerStateFile;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as TrainerStateFile;
  } catch (error) {
    throw new UserError(`${TRAINER_STATE_FILE} is not valid JSON: ${(error as Error).message}`, {
      where: { file: statePath },
      fix: 'this checkpoint is damaged; delete the folder to resume from the one before it',
    });
  }
  if (state.format_version !== CHECKPOINT_FORMAT_VERSION) {
    throw new UserError(`checkpoint format ${String(state.format_version)} is not supported (this build reads ${CHECKPOINT_FORMAT_VERSION})`, {
      where: { file: statePath },
      fix: 'resume with the LoRA Studio version that wrote it',
    });
  }
  const file = openSafetensors(join(path, OPTIMIZER_STATE_FILE));
  const tensors = new Map<string, Float32Array>();
  for (const [name, shape] of Object.entries(state.tensors)) {
    const entry = file.entries.get(name);
    if (!entry || entry.shape.join(',') !== shape.join(',')) {
      throw new UserError(`optimizer state tensor ${name} is missing or has the wrong shape`, {
        where: { file: file.path },
        fix: 'this checkpoint is damaged; delete the folder to resume from the one before it',
      });
    }
    tensors.set(name, readTensorF32(file, name));
  }
  return { path, loop: state.loop, trainer: { step: state.optimizer_step, tensors }, fingerprint: state.fingerprint };
}

/** The fields of the fingerprint that differ between a checkpoint and the config a resume would use. */
export function fingerprintMismatches(saved: RunFingerprint, config: RunConfig): string[] {
  const now = fingerprintOf(config);
  const keys = new Set([...Object.keys(saved), ...Object.keys(now)]) as Set<keyof RunFingerprint>;
  return [...keys].filter((key) => JSON.stringify(saved[key]) !== JSON.stringify(now[key]));
}
