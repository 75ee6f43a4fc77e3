// The supervisor of a training process: `lora-studio train` and the extension's worker start the trainer as a child
// (the same script, SUPERVISED_ENV set) and own the signals. A JavaScript signal handler runs only when the event loop
// does, and onnxruntime's InferenceSession.create is one synchronous native call (seconds to minutes), so a trainer
// cannot honour a stop while inside it; this small process (no onnxruntime, no engine) can. It forwards SIGINT/SIGTERM;
// when the trainer is inside a call it marked (native-call.ts: made while nothing unsaved exists), it gives it a second
// to exit on its own, then kills it and writes the record the trainer's own stop would have written. Otherwise it only
// mirrors the trainer's exit (code, or the signal it died of).
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import type { WorkerEvent } from '../protocol';
import { clearNativeCall, readNativeCall, SUPERVISED_ENV, type NativeCallMarker, type RunDirMessage } from './native-call';
import { runPaths, writeRunStatus } from './run-dir';
import { runLockPath, type RunLockInfo } from './run-lock';

export interface SuperviseOptions {
  /** The script the trainer runs (this process's own) and its arguments. */
  script: string;
  args: string[];
  /** Prints a `done` event as the trainer would have (NDJSON or text). */
  printDone(event: Extract<WorkerEvent, { type: 'done' }>): void;
  /** Prints a note as the trainer logs one. */
  log(line: string): void;
  /** How long a trainer inside a marked native call may take to exit on its own after a signal (default 1 s). */
  graceMs?: number;
}

/** Whether this process is a supervised trainer (then it trains; its parent owns the signals). */
export const isSupervisedTrainer = (env: NodeJS.ProcessEnv = process.env) => env[SUPERVISED_ENV] === '1' && process.send !== undefined;

export function superviseTrainer(options: SuperviseOptions): void {
  const posix = process.platform !== 'win32';
  const child = spawn(process.execPath, [...process.execArgv, options.script, ...options.args], {
    // The IPC channel tells the trainer its run folder's supervisor is alive; a supervisor killed outright takes the
    // trainer with it (as a kill of the trainer did before there was a supervisor).
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [SUPERVISED_ENV]: '1' },
    // Its own process group: a terminal's Ctrl-C reaches the supervisor only, which forwards it once (two would read
    // as "quit at once").
    detached: posix,
  });
  let runDir: string | undefined;
  let abandoned: NativeCallMarker | undefined;
  let pending: NodeJS.Timeout | undefined;
  let exited = false;
  child.on('message', (message: RunDirMessage) => {
    if (message?.type === 'run-dir' && typeof message.dir === 'string') runDir = message.dir;
  });

  // The trainer is stopped (SIGSTOP) while the marker is read: it cannot leave its native call and start its own stop
  // between the read and the kill.
  const endIfStuck = () => {
    pending = undefined;
    if (exited || !runDir || !posix) return;
    if (!send('SIGSTOP')) return;
    const marker = readNativeCall(runDir);
    if (marker?.pid !== child.pid) {
      send('SIGCONT'); // it left the call: its own stop is under way
      return;
    }
    abandoned = marker;
    send('SIGKILL');
  };
  const send = (signal: NodeJS.Signals) => {
    try {
      return child.kill(signal);
    } catch {
      return false;
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    send(signal);
    const marker = runDir ? readNativeCall(runDir) : undefined;
    if (marker && marker.pid === child.pid && !pending && !abandoned) {
      options.log(`${signal}: stopping; the trainer is inside a call that cannot be interrupted (${marker.phase}) with nothing unsaved, so it ends within a second`);
      pending = setTimeout(endIfStuck, options.graceMs ?? 1000);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  child.on('exit', (code, signal) => {
    exited = true;
    if (pending) clearTimeout(pending);
    if (abandoned && runDir && signal === 'SIGKILL') {
      finishAbandoned(runDir, abandoned, options);
      process.exit(0); // what the trainer's own stop exits with
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (signal) process.kill(process.pid, signal); // died of it: so does the supervisor, for whoever waits on it
    else process.exit(code ?? 1);
  });
  child.on('error', (error) => {
    options.log(`could not start the trainer (${process.execPath} ${options.script}): ${error.message}`);
    process.exit(1);
  });
}

/** The trainer's stop, finished for it: its record (computed by the trainer, run-end.ts), then its ownership files go. */
function finishAbandoned(runDir: string, marker: NativeCallMarker, options: SuperviseOptions): void {
  try {
    writeRunStatus(runDir, marker.status);
  } catch (error) {
    options.log(`status.json could not record the stop: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (marker.message) options.log(marker.message);
  options.printDone(marker.done);
  // worker.json first, as the trainer does: a window that sees the socket close then finds the run's end state.
  rmSync(runPaths(runDir).worker, { force: true });
  if (process.platform !== 'win32') rmSync(marker.socket, { force: true });
  try {
    // The trainer's lock only: never one another process took since (it cannot have: the trainer held it until now).
    if ((JSON.parse(readFileSync(runLockPath(runDir), 'utf8')) as RunLockInfo).trainer_pid === marker.pid) rmSync(runLockPath(runDir), { force: true });
  } catch {
    // gone already
  }
  clearNativeCall(runDir);
}

let supervisor: number | undefined;

/** The supervisor's pid in a supervised trainer (the pid worker.json names: the process others signal). */
export const supervisorPid = (): number | undefined => supervisor;

/**
 * Called first by a supervised trainer: its own children are not supervised trainers, the IPC channel does not keep it
 * alive, and a supervisor that is gone (killed outright, or its terminal closed) takes it along, as a kill of the
 * trainer did before: the run folder then reads as interrupted, its last complete checkpoint intact.
 */
export function becomeSupervisedTrainer(): void {
  supervisor = process.ppid;
  delete process.env[SUPERVISED_ENV];
  process.channel?.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}
