// lora-studio train: a RunConfig from flags (or --resume DIR), written to the run folder, then the same run the
// VS Code worker performs (native/train/run.ts), printing WorkerEvents as text or, with --json, as NDJSON lines.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { RunConfig, WorkerEvent } from '../protocol';
import { UserError } from '../util/errors';
import { writeJsonAtomic } from '../util/atomic-write';
import { existsAs } from '../util/fs-checks';
import { assertValidRunConfig, resolveRunConfig } from '../train/config';
import { latestCheckpoint, runPaths, writeRunStatus } from '../train/run-dir';
import { formatEvent } from '../train/event-text';
import { runTraining } from '../train/run';
import { addTrainOptions, runConfigFromFlags, type TrainFlags } from './train-options';

/** The config of a new run, or of the run being resumed (its own training_config.json, unchanged). */
function configFor(flags: TrainFlags): RunConfig {
  if (flags.resume) {
    const dir = resolve(flags.resume);
    const path = runPaths(dir).config;
    if (!existsSync(path)) {
      throw new UserError(`${dir} is not a run folder (no training_config.json)`, { where: { file: dir }, fix: 'pass the --out folder of an earlier run' });
    }
    if (!latestCheckpoint(dir)) {
      throw new UserError(`${dir} has no complete checkpoint to resume from`, { where: { file: dir }, fix: 'start the run again without --resume' });
    }
    return JSON.parse(readFileSync(path, 'utf8')) as RunConfig;
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

export async function trainCommand(flags: TrainFlags): Promise<void> {
  const config = configFor(flags);
  const runDir = config.out;
  let stopRequests = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    stopRequests += 1;
    if (stopRequests > 1) process.exit(130); // a second Ctrl-C: the last complete checkpoint stays intact
    process.stderr.write(`\n${signal}: saving a checkpoint, then stopping (again to quit at once)…\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let last = { step: 0, total: 0 };
  const emit = (event: WorkerEvent) => {
    if (event.type === 'step') last = { step: event.step, total: event.total_steps };
    if (event.type === 'start') last = { step: event.resumed_from_step, total: event.total_steps };
    process.stdout.write(flags.json ? JSON.stringify(event) + '\n' : formatEvent(event) + '\n');
  };
  try {
    const outcome = await runTraining(runDir, { emit, stopRequested: () => stopRequests > 0 });
    writeRunStatus(runDir, { state: outcome, step: last.step, total_steps: last.total });
    emit({ type: 'done', adapter: runDir, reason: outcome, step: last.step });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    writeRunStatus(runDir, { state: 'failed', step: last.step, total_steps: last.total, message });
    if (flags.json) emit({ type: 'error', message, code: error instanceof UserError ? error.code : undefined });
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function register(program: Command): void {
  const command = program.command('train').description('fine-tune a local Hugging Face model with LoRA on a JSONL dataset');
  addTrainOptions(command).action(async (flags: TrainFlags) => trainCommand(flags));
}
