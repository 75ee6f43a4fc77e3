// The detached training worker: `node dist/worker.js <runDir>`. Runs the run folder's training_config.json, serves
// WorkerEvents/WorkerCommands on a per-run socket (so a reloaded window re-attaches), mirrors events as text on stdout
// (the host sends stdout/stderr to train.log), and keeps status.json and worker.json true at every moment. The process
// the extension starts and signals is a small supervisor (train/supervisor.ts) of the trainer, this same script run
// again: a stop is then honoured within seconds even while the trainer is inside a native call.
import { resolve } from 'node:path';
import { latestCheckpoint, writeRunStatus } from './train/run-dir';
import { formatEvent, StepPace } from './train/event-text';
import { becomeSupervisedTrainer, isSupervisedTrainer, superviseTrainer } from './train/supervisor';

const log = (line: string) => process.stdout.write(`[${new Date().toISOString()}] ${line}\n`);

async function main(runDir: string): Promise<number> {
  const pace = new StepPace();
  // Loaded here only: the supervisor never loads onnxruntime.
  const { trainOwnedRun } = await import('./train/owned-run');
  const { outcome } = await trainOwnedRun(runDir, { onEvent: (event) => log(formatEvent(event, pace)), log });
  return outcome === 'failed' ? 1 : 0;
}

// `worker.js <runDir> [--resume]`: a run folder with a checkpoint always continues from it (a resume never starts
// over); --resume only insists that such a checkpoint exists.
const [runDir, ...flags] = process.argv.slice(2);
if (!runDir || flags.some((flag) => flag !== '--resume')) {
  process.stderr.write('usage: worker.js <run folder> [--resume]\n');
  process.exit(2);
}
if (!isSupervisedTrainer()) {
  superviseTrainer({ script: process.argv[1], args: process.argv.slice(2), printDone: (event) => log(formatEvent(event, new StepPace())), log });
} else {
  becomeSupervisedTrainer();
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
}
