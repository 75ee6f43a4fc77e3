// What a run's end records: status.json's final state and the `done` event. One function, used by the trainer when a
// run ends (owned-run.ts) and, through the native-call marker, by its supervisor when it ends a stuck trainer's stop
// (supervisor.ts): both write the same record.
import type { WorkerEvent } from '../protocol';
import { trainedModelDir, type RunStatus } from './run-dir';

export interface RunEnd {
  outcome: 'completed' | 'stopped';
  step: number;
  total_steps: number;
  message?: string;
}

export function runEndRecord(runDir: string, ended: RunEnd): { status: Omit<RunStatus, 'updated_at'>; done: Extract<WorkerEvent, { type: 'done' }> } {
  const model = trainedModelDir(runDir);
  return {
    status: { state: ended.outcome, step: ended.step, total_steps: ended.total_steps, ...(ended.message ? { message: ended.message } : {}) },
    done: { type: 'done', adapter: runDir, reason: ended.outcome, step: ended.step, ...(model ? { model } : {}) },
  };
}
