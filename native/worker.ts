// The detached training worker: `node dist/worker.js <runDir>`. Runs the run folder's training_config.json, serves
// WorkerEvents/WorkerCommands on a per-run socket (so a reloaded window re-attaches), mirrors events as text on stdout
// (the host sends stdout/stderr to train.log), and keeps status.json and worker.json true at every moment.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { WorkerCommand, WorkerEvent } from './protocol';
import { isUserError } from './util/errors';
import { writeJsonAtomic } from './util/atomic-write';
import { latestCheckpoint, runPaths, writeRunStatus, type WorkerInfo } from './train/run-dir';
import { formatEvent } from './train/event-text';
import { runTraining } from './train/run';
import { serveRunSocket } from './train/ipc';

async function main(runDir: string): Promise<number> {
  let stopRequested = false;
  let last = { step: 0, total: 0, phase: 'starting…' };
  const log = (line: string) => process.stdout.write(`[${new Date().toISOString()}] ${line}\n`);

  const onCommand = (command: WorkerCommand) => {
    if (command.type === 'stop') {
      stopRequested = true;
      log('stop requested: saving a checkpoint, then stopping');
    } else if (command.type === 'ping') {
      server.broadcast({ type: 'status', phase: 'training', message: last.phase });
    }
  };
  const server = await serveRunSocket(runDir, onCommand);
  const info: WorkerInfo = { pid: process.pid, socket: server.socketPath, started_at: new Date().toISOString() };
  writeJsonAtomic(runPaths(runDir).worker, info);

  const emit = (event: WorkerEvent) => {
    if (event.type === 'step') last = { ...last, step: event.step, total: event.total_steps };
    if (event.type === 'start') last = { ...last, step: event.resumed_from_step, total: event.total_steps };
    if (event.type === 'status') last = { ...last, phase: event.message };
    server.broadcast(event);
    log(formatEvent(event));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: saving a checkpoint, then stopping`);
    stopRequested = true;
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    writeRunStatus(runDir, { state: 'running', step: 0, total_steps: 0, message: 'starting…' });
    const outcome = await runTraining(runDir, { emit, stopRequested: () => stopRequested });
    writeRunStatus(runDir, { state: outcome, step: last.step, total_steps: last.total });
    emit({ type: 'done', adapter: runDir, reason: outcome, step: last.step });
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!isUserError(error)) log(`internal error: ${error instanceof Error ? error.stack : message}`);
    writeRunStatus(runDir, { state: 'failed', step: last.step, total_steps: last.total, message });
    emit({ type: 'error', message, code: isUserError(error) ? error.code : undefined });
    return 1;
  } finally {
    rmSync(runPaths(runDir).worker, { force: true });
    await server.close();
  }
}

// `worker.js <runDir> [--resume]`: a run folder with a checkpoint always continues from it (a resume never starts
// over); --resume only insists that such a checkpoint exists.
const [runDir, ...flags] = process.argv.slice(2);
if (!runDir || flags.some((flag) => flag !== '--resume')) {
  process.stderr.write('usage: worker.js <run folder> [--resume]\n');
  process.exit(2);
}
if (flags.includes('--resume') && !latestCheckpoint(resolve(runDir))) {
  process.stderr.write(`worker: ${runDir} has no complete checkpoint to resume from\n`);
  writeRunStatus(resolve(runDir), { state: 'failed', step: 0, total_steps: 0, message: 'no checkpoint to resume from — start a new run' });
  process.exit(1);
}
main(resolve(runDir)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
