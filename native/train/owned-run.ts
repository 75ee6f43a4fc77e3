// The process that trains a run folder owns it: it writes worker.json (its pid, or its supervisor's: the process others
// signal) and serves the per-run socket so any VS Code window can attach, follow and stop it, keeps status.json true,
// and turns SIGTERM/SIGINT or a `stop` command into "save a checkpoint, then stop". The detached worker (worker.ts) and
// `lora-studio train` in a terminal both train through here, so a run started either way looks and behaves the same in
// the Runs view.
import { rmSync } from 'node:fs';
import { WORKER_PROTOCOL_VERSION, type WorkerCommand, type WorkerEvent } from '../protocol';
import { isUserError } from '../util/errors';
import { ioErrorMessage } from '../cli/exit';
import { writeJsonAtomic } from '../util/atomic-write';
import { latestCheckpoint, runPaths, writeRunStatus, type WorkerInfo } from './run-dir';
import { runEndRecord } from './run-end';
import { clearNativeCall, markNativeCall, type RunDirMessage } from './native-call';
import { supervisorPid } from './supervisor';
import { runTraining } from './run';
import { serveRunSocket } from './ipc';
import { acquireRunLock } from './run-lock';
import { removeLeftovers } from './checkpoint';

export interface OwnedRunOptions {
  /** Every event, after attached windows got it (the worker logs it, the CLI prints it). */
  onEvent(event: WorkerEvent): void;
  /** Human-readable notes (stop requested, signals). */
  log(line: string): void;
  /** Appended to the "stopping" note (the CLI tells how to quit at once). */
  stopHint?: string;
  /** A second signal while a stop is already under way (the CLI quits at once; the worker keeps saving). */
  onRepeatedSignal?(signal: NodeJS.Signals): void;
}

export interface OwnedRunResult {
  outcome: 'completed' | 'stopped' | 'failed';
  /** The error of a failed run (its message is already in status.json and sent as an `error` event). */
  error?: unknown;
}

export async function trainOwnedRun(runDir: string, options: OwnedRunOptions): Promise<OwnedRunResult> {
  let stopRequested = false;
  let last = { step: 0, total: 0, phase: 'starting…' };
  const requestStop = (why: string) => {
    // Mid-step or mid-compile the stop waits for it (a native session creation cannot be interrupted); steps trained
    // since the last checkpoint are saved first.
    if (!stopRequested) options.log(`${why}: stopping after the current step or compile, saving any steps not yet checkpointed${options.stopHint ?? ''}`);
    stopRequested = true;
  };

  const onCommand = (command: WorkerCommand) => {
    if (command.type === 'stop') requestStop('stop requested');
    else if (command.type === 'ping') server.broadcast({ type: 'status', phase: 'training', message: last.phase });
  };
  // Before anything in the folder is touched: another process training it keeps it (run-lock.ts).
  const lock = acquireRunLock(runDir);
  for (const leftover of removeLeftovers(runDir)) options.log(`removed ${leftover}, left by a process that was killed`);
  let server: Awaited<ReturnType<typeof serveRunSocket>>;
  try {
    server = await serveRunSocket(runDir, onCommand);
  } catch (error) {
    lock.release();
    throw error;
  }
  for (const stale of server.staleSocketsRemoved) options.log(`removed ${stale}, the socket of a worker that was killed`);
  // Supervised (supervisor.ts), the process others signal is the supervisor: it forwards signals here, and can end a
  // native call this process is stuck in. It learns the run folder to find the native-call marker in.
  const supervisedBy = supervisorPid();
  const supervised = supervisedBy !== undefined;
  clearNativeCall(runDir); // one a killed supervised trainer left
  if (supervised) process.send!({ type: 'run-dir', dir: runDir } satisfies RunDirMessage);
  const info: WorkerInfo = { pid: supervisedBy ?? process.pid, socket: server.socketPath, started_at: new Date().toISOString(), protocol: WORKER_PROTOCOL_VERSION };
  writeJsonAtomic(runPaths(runDir).worker, info);
  const markNativeCallHere = (phase: string, ifStopped: Parameters<typeof runEndRecord>[1]) => {
    markNativeCall(runDir, { pid: process.pid, since: new Date().toISOString(), phase, socket: server.socketPath, ...runEndRecord(runDir, ifStopped), message: ifStopped.message });
    return () => clearNativeCall(runDir);
  };

  const emit = (event: WorkerEvent) => {
    if (event.type === 'step') last = { ...last, step: event.step, total: event.total_steps };
    if (event.type === 'start') last = { ...last, step: event.resumed_from_step, total: event.total_steps };
    if (event.type === 'status') last = { ...last, phase: event.message };
    server.broadcast(event);
    options.onEvent(event);
  };
  // Quitting at once on a second signal: the run folder still tells the truth — stopped, keeping its last complete
  // checkpoint — rather than "running" with a dead worker.json and lock.
  const recordQuit = (signal: NodeJS.Signals) => {
    const kept = latestCheckpoint(runDir)?.step;
    try {
      writeRunStatus(runDir, {
        state: 'stopped', step: last.step, total_steps: last.total,
        message: `quit at once on a second ${signal}: ${kept !== undefined ? `the checkpoint at step ${kept} is kept, steps after it are not` : 'no checkpoint was saved'}`,
      });
      rmSync(runPaths(runDir).worker, { force: true });
      lock.release();
    } catch {
      // Quitting anyway: a run whose worker is gone while status.json says running reads as interrupted.
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested && options.onRepeatedSignal) {
      recordQuit(signal);
      options.onRepeatedSignal(signal);
    }
    requestStop(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    writeRunStatus(runDir, { state: 'running', step: 0, total_steps: 0, message: 'starting…' });
    const ended = await runTraining(runDir, { emit, stopRequested: () => stopRequested, ...(supervised ? { markNativeCall: markNativeCallHere } : {}) });
    const end = runEndRecord(runDir, ended);
    writeRunStatus(runDir, end.status);
    if (ended.message) options.log(ended.message);
    emit(end.done);
    return { outcome: ended.outcome };
  } catch (error) {
    // An ordinary I/O error (a full disk while writing status.json or metrics.jsonl) is said with its path and cause;
    // only a real bug gets its stack in the log.
    const io = ioErrorMessage(error);
    let message = io ?? (error instanceof Error ? error.message : String(error));
    if (!isUserError(error) && !io) options.log(`internal error: ${error instanceof Error ? error.stack : message}`);
    try {
      writeRunStatus(runDir, { state: 'failed', step: last.step, total_steps: last.total, message });
    } catch (statusError) {
      // The failure itself may be that status.json cannot be written: the event and the exit code still tell it, and
      // a window reads a run whose worker is gone while status.json says running as interrupted (run-store.ts).
      message += `; status.json could not record this either: ${ioErrorMessage(statusError) ?? String(statusError)}`;
    }
    emit({ type: 'error', message, code: isUserError(error) ? error.code : undefined });
    return { outcome: 'failed', error };
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    // worker.json goes first: a window that sees the socket close then finds the run's end state, not a live pid.
    rmSync(runPaths(runDir).worker, { force: true });
    await server.close();
    lock.release();
  }
}
