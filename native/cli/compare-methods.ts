// lora-studio compare-methods --model M --data D --methods lora,dora,… --steps N [--eval-data E] [--seq-len L]
// [--out DIR] [--json]: the seeds' method comparison on the user's own data. Each method trains for the same steps on
// the same data and seed, one after the other, each a real run in its own folder under --out (its own process:
// native/train/compare-runner.ts), then one table: trainable parameters, output size, peak memory, median step time,
// tokens/s, final train and eval loss. --json prints the NDJSON lines of CompareEvent (a `result` per method, then a
// `summary`). Ctrl-C (SIGINT) or SIGTERM stops the current method's run cleanly and prints the table of what ran.
import { existsSync, readdirSync } from 'node:fs';
import { makeDirs } from '../util/make-dirs';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors';
import { numberFlag, wholeAtLeast } from './number-flag';
import { writeJsonAtomic } from '../util/atomic-write';
import { parameterCount } from '../model/model-folder';
import { openWeights } from '../model/safetensors';
import { comparisonId, compareSummary, compareTable, knownCompareMethods, methodSetup, parseMethodList } from '../train/compare-methods';
import type { CompareEvent, CompareResult } from '../train/compare-events';
import type { Command } from 'commander';
import { engineMethods } from './method-choices';
import { runMethod, type CliCommand, type MethodRun } from '../train/compare-runner';
import { DEFAULT_RUN_OPTIONS } from '../protocol';
import { EXIT_SIGNAL } from './exit';
import { ALLOW_LONG_CONTEXT_HELP } from '../model/context-length';

export interface CompareFlags {
  model: string;
  data: string;
  methods: string;
  steps: string;
  evalData?: string;
  evalSplit: string;
  seqLen: string;
  rank: string;
  lr: string;
  batchSize: string;
  targetModules: string;
  seed: string;
  device: string;
  allowLongContext?: boolean;
  out?: string;
  json?: boolean;
}

/** The comparison's `train` flags shared by every method: same data, steps, seed, rank and batches. */
export function commonTrainArgs(f: { model: string; data: string; evalData?: string; evalSplit: string; steps: number; seqLen: number; rank: number; lr: string; batchSize: string; targetModules: string; seed: string; device: string; allowLongContext?: boolean }): string[] {
  return [
    '--model', f.model, '--data', f.data, ...(f.evalData ? ['--eval-data', f.evalData] : ['--eval-split', f.evalSplit]),
    '--max-steps', String(f.steps), '--max-seq-len', String(f.seqLen), '--rank', String(f.rank), '--alpha', String(2 * f.rank),
    '--target-modules', f.targetModules, '--lr', f.lr, '--batch-size', f.batchSize, '--seed', f.seed, '--device', f.device,
    ...(f.allowLongContext ? ['--allow-long-context'] : []),
    // A tenth of the steps to warm up (train's default of 100 would never reach the peak in a short comparison);
    // no checkpoints but the final one, and evaluation once, at the end, so no step's time holds an eval pass.
    '--warmup-steps', String(Math.round(f.steps / 10)), '--save-every', '0', '--eval-every', '0',
  ];
}

/** This process's own command line, to start `lora-studio train` the same way (bundled cli.js, or tsx in development). */
const selfCommand = (): CliCommand => ({ node: process.execPath, args: [...process.execArgv, process.argv[1]] });

function eventText(event: CompareEvent): string | undefined {
  switch (event.type) {
    case 'method': return `[${event.index + 1}/${event.count}] ${event.label}: training in ${event.run_dir}`;
    case 'status': return `  ${event.method}: ${event.message}`;
    case 'progress': return `  ${event.method}: step ${event.step}/${event.total_steps} · loss ${event.loss.toFixed(4)}`;
    case 'result': return `  ${event.method}: ${event.status}${event.error ? ` — ${event.error}` : ''}`;
    case 'error': return event.message;
    case 'summary': return undefined;
  }
}

export async function compareMethodsCommand(flags: CompareFlags, write: (text: string) => void = (t) => process.stdout.write(t), log: (text: string) => void = (t) => process.stderr.write(t), cli: CliCommand = selfCommand()): Promise<void> {
  const methods = parseMethodList(flags.methods, knownCompareMethods(engineMethods()));
  const steps = numberFlag('steps', flags.steps, wholeAtLeast(2, '20'));
  const seqLen = numberFlag('seq-len', flags.seqLen, wholeAtLeast(2, '256'));
  const rank = numberFlag('rank', flags.rank, wholeAtLeast(1, '8'));
  const model = resolve(flags.model);
  const data = resolve(flags.data);
  const evalData = flags.evalData === undefined ? undefined : resolve(flags.evalData);
  for (const [flag, path] of [['data', data], ['eval-data', evalData]] as const) {
    if (path !== undefined && !existsSync(path)) throw new UserError(`--${flag} ${path}: no such file`, { where: { file: path }, fix: 'pass a .jsonl file of alpaca or chat records' });
  }
  // The model's stored parameters (headers only): also the check that --model is a model folder, before any run.
  const modelParams = parameterCount(openWeights(model));
  const out = resolve(flags.out ?? join('.lora-studio', 'compare', comparisonId(model)));
  if (existsSync(out) && readdirSync(out).length > 0) {
    throw new UserError(`--out ${out} is not empty`, { where: { file: out }, fix: 'choose a new folder (each method gets a run folder inside it; nothing is overwritten)' });
  }
  makeDirs(out);
  const common = commonTrainArgs({ ...flags, model, data, evalData, steps, seqLen, rank });
  const emit = (event: CompareEvent) => {
    if (flags.json) write(`${JSON.stringify(event)}\n`);
    else {
      const text = eventText(event);
      if (text) log(`${text}\n`);
    }
  };

  let signal: keyof typeof EXIT_SIGNAL | undefined;
  let current: MethodRun | undefined;
  const onSignal = (name: keyof typeof EXIT_SIGNAL) => {
    signal ??= name;
    current?.stop(name);
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const results: CompareResult[] = [];
  try {
    for (const [index, method] of methods.entries()) {
      if (signal) break;
      const setup = methodSetup(method, steps, rank);
      const runDir = join(out, method);
      emit({ type: 'method', method, label: setup.label, index, count: methods.length, run_dir: runDir });
      current = runMethod({
        cli, method, runDir, trainArgs: [...common, ...setup.flags], modelParams, steps, r: rank,
        onEvent: (event) => {
          if (event.type === 'step') emit({ type: 'progress', method, step: event.step, total_steps: event.total_steps, loss: event.loss });
          else if (event.type === 'status') emit({ type: 'status', method, message: event.message });
        },
      });
      const result = await current.result;
      current = undefined;
      results.push(result);
      emit(result);
    }
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  const summary = compareSummary(methods, results, signal !== undefined, out);
  writeJsonAtomic(join(out, 'comparison.json'), { methods, steps, common_train_args: common, results, summary });
  if (flags.json) emit(summary);
  else {
    write(`${compareTable(results)}\n`);
    const stoppedNote = signal ? `stopped by ${signal} after ${summary.completed.length} of ${methods.length} methods; ` : '';
    write(`${stoppedNote}run folders and comparison.json in ${out}\n`);
  }
  if (signal) process.exitCode = EXIT_SIGNAL[signal];
  else if (results.some((r) => r.status === 'failed')) {
    throw new UserError(`${results.filter((r) => r.status === 'failed').map((r) => `${r.method}: ${r.error}`).join('; ')}`, { fix: 'fix what the message names (a setting every method shares fails them all), or run the method alone with lora-studio train' });
  }
}

export function register(program: Command): void {
  const d = DEFAULT_RUN_OPTIONS;
  program
    .command('compare-methods')
    .description('train each method for the same steps on the same data and seed, one after the other, and compare trainable parameters, output size, peak memory, speed and loss')
    .requiredOption('--model <dir>', 'local Hugging Face model folder')
    .requiredOption('--data <file.jsonl>', 'training data (alpaca or chat records)')
    .requiredOption('--methods <names>', 'comma-separated methods, e.g. lora,dora,qlora,pissa,adalora,relora')
    .option('--steps <n>', 'optimizer steps per method', '20')
    .option('--eval-data <file.jsonl>', 'evaluation data (the eval loss is measured once, at the end)')
    .option('--eval-split <fraction>', 'without --eval-data: hold out this fraction of --data for evaluation', '0')
    .option('--seq-len <n>', 'tokens per record (longer ones are truncated)', '256')
    .option('--allow-long-context', `${ALLOW_LONG_CONTEXT_HELP} (passed to every run)`, false)
    .option('--rank <r>', 'LoRA rank r (alpha = 2r); AdaLoRA starts at 1.5r and ends at r', String(d.r))
    .option('--lr <lr>', 'peak learning rate', String(d.learning_rate))
    .option('--batch-size <n>', 'micro-batch size', String(d.micro_batch_size))
    .option('--target-modules <names>', 'comma-separated module names or all-linear', (d.target_modules as string[]).join(','))
    .option('--seed <n>', 'seed of every run', String(d.seed))
    .option('--device <device>', 'auto | cpu | cuda | cuda:N', d.device)
    .option('--out <dir>', 'new folder for the runs (default: .lora-studio/compare/<time>_<model>)')
    .option('--json', 'print NDJSON: a result line per method, then a summary line', false)
    .action(async (flags: CompareFlags) => compareMethodsCommand(flags));
}
