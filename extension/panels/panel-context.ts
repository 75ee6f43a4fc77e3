// What the panels need from the extension (U1's Ctx satisfies it structurally): where the extension lives, a log,
// memory across sessions, and the run operations. Panels never spawn training workers themselves.
import type * as vscode from 'vscode';
import type { RunConfig, WorkerEvent } from '../../native/protocol';
import type { RunsChange } from '../runs/run-changes';
import type { RunSummary } from '../runs/run-store';

export interface PanelContext {
  extensionUri: vscode.Uri;
  /** The "LoRA Studio" OutputChannel. */
  log: { appendLine(line: string): void; show?(preserveFocus?: boolean): void };
  /** context.globalState: recent model folders. */
  state: vscode.Memento;
  /** Creates the run folder for a validated config, spawns the worker and attaches; resolves to the run folder. */
  startRun(config: RunConfig): Promise<string>;
  /** Live WorkerEvents of a run while a worker is attached; dispose to unsubscribe. */
  onRunEvent(runDir: string, listener: (event: WorkerEvent) => void): vscode.Disposable;
  /** Asks the worker to save a checkpoint and exit. */
  stopRun(runDir: string): Promise<void>;
  /** Resumes from the latest checkpoint; resolves once the worker is spawned. */
  resumeRun(runDir: string): Promise<void>;
  /** Runs whose files or live state may have changed (the run-folder poll, live events). */
  onDidChangeRuns?: vscode.Event<RunsChange>;
  /** A run's summary as the extension last read it from its files (cached between changes). */
  run?(runDir: string): RunSummary;
  /** Whether a worker is attached to this run now. */
  isRunLive?(runDir: string): boolean;
  /** Whether a training run holds the device now (Compare then queues instead of competing for memory). */
  deviceBusy?(): boolean;
}
