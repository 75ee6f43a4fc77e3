// The tiny run the training tests share: a tiny Qwen2 (sharp weights, std 0.3, so the frozen head can express
// confident predictions), four records, a run folder per test with a config written as the CLI would, and training
// in-process with an optional stop after a step.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUN_OPTIONS, type RunConfig, type WorkerEvent } from '../../../../native/protocol';
import { runTraining } from '../../../../native/train/run';
import { runPaths } from '../../../../native/train/run-dir';
import { writeJsonAtomic } from '../../../../native/util/atomic-write';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';

export const FEW_RECORDS = [
  { instruction: 'Add the two numbers.', input: '2 and 3', output: '5' },
  { instruction: 'Reverse the word.', input: 'orbit', output: 'tibro' },
  { instruction: 'What is 3 times 4?', output: '3 times 4 is 12.' },
  { instruction: 'Is 7 prime?', output: 'Yes, 7 is prime.' },
];

/** A folder with the model and the data; `defaults` are this test file's run settings over the shared ones. */
export function runFixture(prefix: string, defaults: Partial<RunConfig>) {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 3, std: 0.3 }).dir;
  const data = join(root, 'data.jsonl');
  writeFileSync(data, FEW_RECORDS.map((r) => JSON.stringify(r)).join('\n') + '\n');

  const newRun = (name: string, options: Partial<RunConfig>): string => {
    const out = join(root, name);
    const config: RunConfig = {
      ...DEFAULT_RUN_OPTIONS, model, data, out, target_modules: 'all-linear',
      learning_rate: 2e-2, warmup_steps: 3, micro_batch_size: 2, max_seq_len: 64, save_every: 0, ...defaults, ...options,
    };
    writeJsonAtomic(runPaths(out).config, config);
    return out;
  };

  /** Trains the run folder in this process; stops (with a checkpoint) once `stopAfterStep` steps are done. */
  const trainEvents = async (runDir: string, stopAfterStep = Infinity): Promise<{ outcome: string; events: WorkerEvent[] }> => {
    const events: WorkerEvent[] = [];
    let step = 0;
    const { outcome } = await runTraining(runDir, {
      emit: (event) => {
        events.push(event);
        if (event.type === 'step') step = event.step;
      },
      stopRequested: () => step >= stopAfterStep,
    });
    return { outcome, events };
  };
  const train = async (runDir: string, stopAfterStep = Infinity): Promise<string> => (await trainEvents(runDir, stopAfterStep)).outcome;

  return { root, model, data, newRun, train, trainEvents };
}
