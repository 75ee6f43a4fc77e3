// Stop points: where a run's long start (building graphs, exporting ONNX, creating onnxruntime sessions) may end early
// on SIGINT/SIGTERM or a window's `stop`. A signal handler is JavaScript, so it runs only when the event loop does:
// synchronous stretches between stop points are the stop's latency. A native call (InferenceSession.create) cannot be
// interrupted at all; the stop point right after it ends the start then, and a supervised trainer marks the call so that
// its supervisor can end it sooner (native-call.ts, supervisor.ts) where nothing unsaved would be lost: before the
// first step, or during training once the trainer had the steps since the last checkpoint saved (`saveUnsaved`).
// Still waited for: the AdamW programs' sessions (a small graph: milliseconds), the save itself (what the stop needs
// anyway), LISA's recompiles (its save is a whole model: lisa-trainer.ts), and on Windows every call after the first step (no SIGSTOP: the supervisor cannot end one, so nothing is
// saved for it).
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Thrown at a stop point once a stop was requested; the run ends as `stopped`, keeping its last checkpoint. */
export class RunStopped extends Error {
  constructor() {
    super('stopped on request');
    this.name = 'RunStopped';
  }
}

export const isRunStopped = (error: unknown): error is RunStopped => error instanceof RunStopped;

/**
 * Lets pending signals and socket commands be handled, then throws RunStopped if a stop was requested. `nativeCall`
 * wraps a native call nothing interrupts: `phase` names it for whoever may end the process meanwhile; it can be cut
 * short only while nothing trained is unsaved. `saveUnsaved`, called by a trainer whose state is the last step's right
 * before such a call during training, saves what a stop would save (loop.ts LoopSaving), so that the call can be.
 */
export type StopPoint = (() => Promise<void>) & {
  nativeCall?: <T>(phase: string, call: () => Promise<T>) => Promise<T>;
  saveUnsaved?: () => Promise<void>;
};

export function stopPointFor(stopRequested: () => boolean, nativeCall?: StopPoint['nativeCall'], saveUnsaved?: StopPoint['saveUnsaved']): StopPoint {
  const point: StopPoint = async () => {
    // Two turns: a signal that arrived after this turn's poll for I/O is read in the next turn's poll, and the first
    // immediate may still belong to the current turn.
    await nextTurn();
    await nextTurn();
    if (stopRequested()) throw new RunStopped();
  };
  if (nativeCall) point.nativeCall = nativeCall;
  if (saveUnsaved) point.saveUnsaved = saveUnsaved;
  return point;
}
