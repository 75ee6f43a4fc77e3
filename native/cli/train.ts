// lora-studio train: a RunConfig from flags (or --resume DIR), written to the run folder, then the same run the
// VS Code worker performs (native/train/owned-run.ts), printing WorkerEvents as text or, with --json, as NDJSON lines.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { RunConfig } from '../protocol';
import { UserError } from '../util/errors';
import { writeJsonAtomic } from '../util/atomic-write';
import { existsAs } from '../util/fs-checks';
import { assertValidRunConfig, resolveRunConfig } from '../train/config';
import { latestCheckpoint, runPaths } from '../train/run-dir';
import { formatEvent, StepPace } from '../train/event-text';
import { trainOwnedRun } from '../train/owned-run';
import { addTrainOptions, runConfigFromFlags, type TrainFlags } from './train-options';
import { resumeConfig } from './resume-flags';

/**
 * The config of a new run, or of the run being resumed: its own training_config.json, extended by --max-steps /
 * --epochs when given (written back, so the run folder keeps telling the truth). `explicit`: the flags typed.
 */
function configFor(flags: TrainFlags, explicit: ReadonlySet<keyof TrainFlags>): RunConfig {
  if (flags.resume) {
    const dir = resolve(flags.resume);
    const path = runPaths(dir).config;
    if (!existsSync(path)) {
      throw new UserError(`${dir} is not a run folder (no training_config.json)`, { where: { file: dir }, fix: 'pass the --out folder of an earlier run' });
    }
    const checkpoint = latestCheckpoint(dir);
    if (!checkpoint) {
      throw new UserError(`${dir} has no complete checkpoint to resume from`, { where: { file: dir }, fix: 'start the run again without --resume' });
    }
    const saved = JSON.parse(readFileSync(path, 'utf8')) as RunConfig;
    const config = resumeConfig(saved, flags, explicit, checkpoint.step);
    if (config.max_steps !== saved.max_steps || config.num_epochs !== saved.num_epochs) {
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
  if (existsSync(runPaths(config.out).config) && latestCheckpoint(config.out)) {
    throw new UserError(`${config.out} already holds a run with checkpoints`, {
      where: { file: config.out },
      fix: `continue it with --resume ${config.out}, or choose another --out folder`,
    });
  }
  writeJsonAtomic(runPaths(config.out).config, config);
  return config;
}

export async function trainCommand(flags: TrainFlags, explicit: ReadonlySet<keyof TrainFlags> = new Set()): Promise<void> {
  const config = configFor(flags, explicit);
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
  addTrainOptions(command).action(async (flags: TrainFlags, self: Command) => trainCommand(flags, typedFlags(self)));
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
