// The `lora-studio` executable (dist/cli.js). `train` runs under a supervisor (native/train/supervisor.ts) that owns
// the signals, so Ctrl-C or SIGTERM is honoured within seconds even while the trainer is inside a native call; the
// program itself (native/cli.ts, onnxruntime and all) is loaded only by the process that runs it, so the supervisor
// stays small.
import { becomeSupervisedTrainer, isSupervisedTrainer, superviseTrainer } from './train/supervisor';
import { formatEvent, StepPace } from './train/event-text';

const argv = process.argv;
if (argv[2] === 'train' && !isSupervisedTrainer()) {
  const json = argv.includes('--json');
  superviseTrainer({
    script: argv[1], args: argv.slice(2),
    printDone: (event) => process.stdout.write(`${json ? JSON.stringify(event) : formatEvent(event, new StepPace())}\n`),
    log: (line) => process.stderr.write(`${line}\n`),
  });
} else {
  if (isSupervisedTrainer()) becomeSupervisedTrainer();
  void import('./cli').then(({ main }) => main(argv));
}
