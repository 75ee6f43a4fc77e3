// lora-studio train: a RunConfig from flags (or --resume DIR), written to the run folder, then the same run the
// VS Code worker performs (native/train/owned-run.ts), printing WorkerEvents as text or, with --json, as NDJSON lines.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { RunConfig } from '../protocol';
import { UserError } from '../util/errors';
import { writeJsonAtomic } from '../util/atomic-write';
import { existsAs } from '../util/fs-checks';
import { assertValidRunConfig, resolveRunConfig } from '../train/config';
import { latestCheckpoint, readRunConfigForResume, runPaths } from '../train/run-dir';
import { formatEvent, StepPace } from '../train/event-text';
import { trainOwnedRun } from '../train/owned-run';
import { acquireRunLock, type RunLock } from '../train/run-lock';
import { addTrainOptions, runConfigFromFlags, type TrainFlags } from './train-options';
import { resumeConfig } from './resume-flags';
import { allowOutsideLinks } from '../model/folder-links';

/**
 * The config of a new run, or of the run being resumed: its own training_config.json, extended by --max-steps /
 * --epochs / --allow-long-context when given (written back, so the run folder keeps telling the truth). `explicit`: the flags typed.
 */
function configFor(flags: TrainFlags, explicit: ReadonlySet<keyof TrainFlags>, lock: (runDir: string) => void): RunConfig {
  if (flags.resume) {
    const dir = resolve(flags.resume);
    const path = runPaths(dir).config;
    if (!existsSync(path)) {
      throw new UserError(`${dir} is not a run folder (no training_config.json)`, { where: { file: dir }, fix: 'pass the --out folder of an earlier run' });
    }
    lock(dir);
    const checkpoint = latestCheckpoint(dir);
    if (!checkpoint) {
      throw new UserError(`${dir} has no complete checkpoint to resume from`, { where: { file: dir }, fix: 'start the run again without --resume' });
    }
    const saved = readRunConfigForResume(dir);
    const config = resumeConfig(saved, flags, explicit, checkpoint.step);
    if (config.max_steps !== saved.max_steps || config.num_epochs !== saved.num_epochs || config.allow_long_context !== saved.allow_long_context) {
      assertValidRunConfig(config, { exists: existsAs });
      writeJsonAtomic(path, config);
    }
    return config;
  }
  const fromFlags = runConfigFromFlags(flags);
  const absolute = (path: string) => (path === '' ? path : resolve(path));
  const { config } = resolveRunConfig({
    ...fromFlags,
    model: absolute(fromFlags.model),
    data: absolute(fromFlags.data),
    out: absolute(fromFlags.out),
    eval_data: fromFlags.eval_data === undefined ? undefined : absolute(fromFlags.eval_data),
  });
  assertValidRunConfig(config, { exists: existsAs });
  const problem = outFolderProblem(config.out);
  if (problem) throw problem;
  lock(config.out);
  writeJsonAtomic(runPaths(config.out).config, config);
  return config;
}

/**
 * Why a new run may not start in `dir`: nothing the user had is overwritten. An empty or missing folder is fine, and
 * so is a run that never trained a step (a start that failed, say on the data: the same command runs again).
 */
export function outFolderProblem(dir: string): UserError | undefined {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) return new UserError(`--out ${dir} is a file, not a folder`, { where: { file: dir }, fix: 'choose a new folder for the run' });
    entries = readdirSync(dir).filter((name) => name !== 'run.lock');
  } catch {
    return undefined; // missing: the run creates it
  }
  if (entries.length === 0) return undefined;
  const paths = runPaths(dir);
  if (!existsSync(paths.config)) {
    const shown = entries.slice(0, 5).join(', ') + (entries.length > 5 ? `, … (${entries.length} entries)` : '');
    return new UserError(`--out ${dir} is not empty and is not a run folder (it holds ${shown})`, {
      where: { file: dir }, fix: 'choose a new or empty folder for the run, so nothing there is overwritten',
    });
  }
  if (latestCheckpoint(dir)) {
    return new UserError(`${dir} already holds a run with checkpoints`, { where: { file: dir }, fix: `continue it with --resume ${dir}, or choose another --out folder` });
  }
  const trained = existsSync(paths.metrics) && statSync(paths.metrics).size > 0;
  const adapter = existsSync(paths.adapterWeights);
  if (trained || adapter) {
    const what = [trained ? 'trained steps (metrics.jsonl)' : '', adapter ? 'an adapter' : ''].filter(Boolean).join(' and ');
    return new UserError(`${dir} holds a run with ${what} but no checkpoint to resume from`, {
      where: { file: dir }, fix: 'choose another --out folder; starting over here would overwrite them',
    });
  }
  return undefined;
}

export async function trainCommand(flags: TrainFlags, explicit: ReadonlySet<keyof TrainFlags> = new Set()): Promise<void> {
  // The run folder is locked before anything in it is read for a resume or written for a start (run-lock.ts); the
  // training below takes the same lock again (this process holds it) and releases it when it ends.
  let lock: RunLock | undefined;
  let config: RunConfig;
  try {
    config = configFor(flags, explicit, (runDir) => (lock = acquireRunLock(runDir)));
  } catch (error) {
    lock?.release();
    throw error;
  }
  const pace = new StepPace();
  // Owned like the extension's worker: worker.json and the run socket, so an open VS Code window shows this run live
  // in its Runs view and can stop it.
  const result = await trainOwnedRun(config.out, {
    onEvent: (event) => {
      // Without --json a failure is printed once, by the CLI's error handler (with where and how to fix it).
      if (flags.json || event.type !== 'error') process.stdout.write((flags.json ? JSON.stringify(event) : formatEvent(event, pace)) + '\n');
    },
    log: (line) => process.stderr.write(`${line}\n`),
    stopHint: ' (Ctrl-C again to quit at once)',
    onRepeatedSignal: () => process.exit(130), // a second Ctrl-C: the last complete checkpoint stays intact
  });
  if (result.outcome === 'failed') throw result.error;
}

export function register(program: Command): void {
  const command = program.command('train').description('fine-tune a local Hugging Face model with LoRA on a JSONL dataset');
  addTrainOptions(command).action(async (flags: TrainFlags, self: Command) => {
    if (flags.allowOutsideLinks) allowOutsideLinks();
    await trainCommand(flags, typedFlags(self));
  });
}

/** The flags given on the command line (not defaults): what a resume compares with the run's settings. */
function typedFlags(command: Command): Set<keyof TrainFlags> {
  const typed = new Set<keyof TrainFlags>();
  for (const option of command.options) {
    const key = option.attributeName() as keyof TrainFlags;
    if (command.getOptionValueSource(key) === 'cli') typed.add(key);
  }
  return typed;
}
