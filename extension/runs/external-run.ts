// A run trained elsewhere and watched here ("Watch External Run…"): a Hugging Face Trainer output folder, synced or
// mounted, read as a RunSummary from its files — the loss curve from the newest trainer_state.json, its checkpoint-N
// folders, its newest PEFT adapter (top level or the latest checkpoint). No process of ours trains it, so its state
// is what the files say: completed once the Trainer logged its final summary and saved the adapter at the top, else
// running (it may also have stopped: the folder cannot tell). No vscode here, so it is tested on real folders.
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readNewestTrainerState, TRAINER_STATE, trainerAdapterDir, trainerCheckpoints } from '../../native/train/trainer-state';
import { runPaths } from '../../native/train/run-dir';
import type { RunSummary } from './run-store';

/**
 * A folder is an external run when it holds a Trainer's files (trainer_state.json or checkpoint-N folders) and none of
 * LoRA Studio's run files (training_config.json, status.json, metrics.jsonl): a plain adapter folder is not a run.
 */
export function isExternalRun(dir: string): boolean {
  const ours = runPaths(dir);
  if (existsSync(ours.config) || existsSync(ours.status) || existsSync(ours.metrics)) return false;
  return existsSync(join(dir, TRAINER_STATE)) || trainerCheckpoints(dir).length > 0;
}

/** Why a folder cannot be watched as an external run, or undefined when it can. */
export function externalRunProblem(dir: string): string | undefined {
  if (!existsSync(dir)) return `${dir} does not exist — choose the Trainer's output_dir (synced or mounted here)`;
  if (existsSync(runPaths(dir).config)) return `${dir} is a LoRA Studio run folder — it is listed with the runs of its runs folder`;
  if (!isExternalRun(dir)) {
    return `${dir} has no trainer_state.json or checkpoint-N folder yet — choose the Trainer's output_dir (the folder with checkpoint-N), or watch it once its first checkpoint is saved`;
  }
  return undefined;
}

export function readExternalRun(dir: string): RunSummary {
  const state = readNewestTrainerState(dir);
  const adapterDir = trainerAdapterDir(dir);
  const checkpoints = trainerCheckpoints(dir);
  const completed = state?.finished === true && adapterDir === dir;
  let createdMs = 0;
  try {
    createdMs = statSync(dir).mtimeMs;
  } catch {
    // the mount went away: the view shows the run with nothing in it until it returns
  }
  const step = state?.globalStep ?? checkpoints.at(-1)?.step ?? 0;
  return {
    dir,
    id: basename(dir),
    state: completed ? 'completed' : 'running',
    step,
    totalSteps: state?.maxSteps ?? 0,
    message: state ? `external run (Hugging Face Trainer), read from ${state.file}` : 'external run: no trainer_state.json yet',
    last: state?.metrics.at(-1),
    live: false,
    checkpoints,
    hasAdapter: adapterDir !== undefined,
    adapterDir,
    external: true,
    createdMs,
  };
}

function stat(path: string): string {
  try {
    const s = statSync(path);
    return `${s.size}@${s.mtimeMs}`;
  } catch {
    return '-';
  }
}

/** The files an external run's summary is read from, as one comparable string (run-watch.ts compares it each poll). */
export function externalStamp(dir: string): string {
  const parts = [stat(join(dir, TRAINER_STATE)), stat(join(dir, 'adapter_config.json'))];
  for (const checkpoint of trainerCheckpoints(dir)) {
    parts.push(`${basename(checkpoint.path)}:${stat(join(checkpoint.path, TRAINER_STATE))}:${stat(join(checkpoint.path, 'adapter_config.json'))}`);
  }
  return parts.join('|');
}
