// The native-call marker: `<run>/.native-call`, written synchronously by a supervised trainer right before a native
// call that nothing interrupts (onnxruntime's InferenceSession.create: seconds for a small model's training graph,
// minutes for a 7B one) made while nothing unsaved exists, and removed right after. It holds what the trainer's own
// stop would record at that moment, so its supervisor (supervisor.ts) can honour a signal within a second by killing
// the stuck trainer and writing that record itself, and the extension's Stop knows to signal rather than send `stop`.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkerEvent } from '../protocol';
import { writeFileAtomic } from '../util/atomic-write';
import type { RunStatus } from './run-dir';

/** Set by the supervisor in its child's environment: this process is the trainer, its parent owns the signals. */
export const SUPERVISED_ENV = 'LORA_STUDIO_SUPERVISED_TRAINER';

export interface NativeCallMarker {
  /** The trainer's pid (the supervisor's is worker.json's). */
  pid: number;
  since: string;
  phase: string;
  /** The run's socket, removed with the run's other ownership files when the trainer is abandoned. */
  socket: string;
  /** status.json as the trainer's stop would write it now (run-end.ts). */
  status: Omit<RunStatus, 'updated_at'>;
  /** The `done` event that stop would send. */
  done: Extract<WorkerEvent, { type: 'done' }>;
  /** The note it would log (status.json's message). */
  message?: string;
}

/** The message a supervised trainer sends its supervisor once it owns a run folder. */
export interface RunDirMessage {
  type: 'run-dir';
  dir: string;
}

export const nativeCallPath = (runDir: string) => join(runDir, '.native-call');

/**
 * Written atomically: the supervisor's signal handler and the extension's Stop read it while the trainer runs, and a
 * torn marker read as absent made them wait for the whole native call (minutes on a 7B model) instead of a second.
 */
export function markNativeCall(runDir: string, marker: NativeCallMarker): void {
  writeFileAtomic(nativeCallPath(runDir), JSON.stringify(marker));
}

export function clearNativeCall(runDir: string): void {
  rmSync(nativeCallPath(runDir), { force: true });
}

export function readNativeCall(runDir: string): NativeCallMarker | undefined {
  try {
    const value = JSON.parse(readFileSync(nativeCallPath(runDir), 'utf8')) as NativeCallMarker;
    return typeof value.pid === 'number' && value.done?.type === 'done' && typeof value.status?.state === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
