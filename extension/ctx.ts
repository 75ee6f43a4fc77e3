// The extension's context: settings, the "LoRA Studio" log, the run store and worker connections, the status bar;
// it owns every disposable. It also satisfies the panels' PanelContext (start/stop/resume runs, live events).
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { makeDirs } from '../native/util/make-dirs';
import { basename } from 'node:path';
import type { RunConfig, WorkerEvent } from '../native/protocol';
import { formatEvent, StepPace } from '../native/train/event-text';
import { readRunStatus, readWorkerInfo, runPaths, writeRunStatus } from '../native/train/run-dir';
import { writeJsonAtomic } from '../native/util/atomic-write';
import { onConfigChange, readConfig, type Config } from './config';
import type { PanelContext } from './panels/panel-context';
import { listRuns, pidAlive, readRun, type RunSummary } from './runs/run-store';
import { endReport, type StopOutcome } from './runs/stop-report';
import { StaleRuns, type RunsChange } from './runs/run-changes';
import { RUN_POLL_MS, RunFolderPoller } from './runs/run-watch';
import { readExternalRun } from './runs/external-run';

/** Workspace state: the folders of runs trained elsewhere that the Runs view watches (Watch External Run…). */
const EXTERNAL_RUNS_KEY = 'loraStudio.externalRuns';
import { WorkerClient, WorkerStartError } from './runs/worker-client';

export class Ctx implements PanelContext {
  readonly extensionUri: vscode.Uri;
  readonly state: vscode.Memento;
  readonly log: vscode.OutputChannel;
  readonly workers: WorkerClient;
  config: Config;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly listeners = new Map<string, Set<(event: WorkerEvent) => void>>();
  /** Per live run: the pace of all its steps, for the ETA of the step lines logged. */
  private readonly paces = new Map<string, StepPace>();
  /** Runs this window is stopping (0) or stopped (when): their end is told once, by the stop's report. */
  private readonly stopping = new Map<string, number>();
  private readonly runsChanged = new vscode.EventEmitter<RunsChange>();
  /** Fires (debounced) when runs' files or live state may have changed: which runs, or all of them. */
  readonly onDidChangeRuns = this.runsChanged.event;
  private changeTimer: NodeJS.Timeout | undefined;
  private cached: RunSummary[] | undefined;
  private readonly stale = new StaleRuns();
  private readonly attaching = new Set<string>();

  constructor(readonly context: vscode.ExtensionContext) {
    this.extensionUri = context.extensionUri;
    this.state = context.globalState;
    this.log = this.own(vscode.window.createOutputChannel('LoRA Studio'));
    this.config = readConfig();
    this.own(this.runsChanged);
    this.own(onConfigChange(() => {
      this.config = readConfig();
      this.changed();
    }));
    this.workers = new WorkerClient(
      { nodePath: process.execPath, workerScript: this.distPath('worker.js'), env: () => this.childEnv() },
      {
        onEvent: (runDir, event) => this.dispatch(runDir, event),
        onDetach: () => this.changed(),
        onRefused: (runDir, message) => {
          this.log.appendLine(`[${basename(runDir)}] ${message}`);
          void vscode.window.showWarningMessage(`LoRA Studio: ${message}`, 'Show Log').then((choice) => {
            if (choice === 'Show Log') void vscode.commands.executeCommand('loraStudio.showLog', runDir);
          });
        },
      },
    );
    this.own({ dispose: () => this.workers.dispose() });
    this.own({ dispose: () => clearTimeout(this.changeTimer) });
    // The views follow the run folders, not only the sockets: see run-watch.ts.
    const poller = new RunFolderPoller();
    const poll = setInterval(() => {
      const { listChanged, changed } = poller.poll(this.config.runsFolder, this.externalRuns());
      if (listChanged) this.changed();
      for (const runDir of changed) this.changed(runDir);
    }, RUN_POLL_MS);
    this.own({ dispose: () => clearInterval(poll) });
  }

  own<T extends vscode.Disposable>(disposable: T): T {
    this.disposables.push(disposable);
    return disposable;
  }

  dispose(): void {
    for (const disposable of this.disposables.splice(0).reverse()) disposable.dispose();
  }

  distPath(file: string): string {
    return vscode.Uri.joinPath(this.extensionUri, 'dist', file).fsPath;
  }

  /** Environment for the worker and CLI children; the worker never reads settings, it gets resolved values. */
  childEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
    if (this.config.cudaLibraryPath) env.LORA_STUDIO_CUDA_LIBRARY_PATH = this.config.cudaLibraryPath;
    return env;
  }

  /** All runs, newest first, read from the run folders and the watched external ones (cached until the next change). */
  runs(): RunSummary[] {
    if (!this.cached) {
      const own = this.config.runsFolder ? listRuns(this.config.runsFolder) : [];
      const external = this.externalRuns().filter((dir) => !own.some((run) => run.dir === dir)).map(readExternalRun);
      this.cached = [...own, ...external].sort((a, b) => b.createdMs - a.createdMs || b.id.localeCompare(a.id));
    }
    return this.cached;
  }

  /** The watched external run folders of this workspace. */
  externalRuns(): string[] {
    return this.context.workspaceState.get<string[]>(EXTERNAL_RUNS_KEY, []);
  }

  /** Starts or stops watching an external run folder; the Runs view follows on the next refresh. */
  async setExternalRun(dir: string, watched: boolean): Promise<void> {
    const others = this.externalRuns().filter((d) => d !== dir);
    await this.context.workspaceState.update(EXTERNAL_RUNS_KEY, watched ? [...others, dir] : others);
    this.changed();
  }

  run(runDir: string): RunSummary {
    return this.runs().find((run) => run.dir === runDir) ?? readRun(runDir);
  }

  /**
   * Marks runs stale and tells the views, at most every 250 ms (a step event per step must not flood). With a
   * run folder only that run is re-read (a live run changes every step; the others do not).
   */
  changed(runDir?: string): void {
    this.stale.mark(runDir);
    if (this.changeTimer) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      const change = this.stale.take(this.cached?.map((run) => run.dir));
      if (change.all) this.cached = undefined;
      else this.cached = this.cached!.map((run) => (change.runDirs.includes(run.dir) ? readRun(run.dir) : run));
      this.runsChanged.fire(change);
      void this.attachNewWorkers();
    }, 250);
  }

  /** Follows live runs this window did not start (`lora-studio train` in a terminal, another window) as they appear. */
  private async attachNewWorkers(): Promise<void> {
    const unattached = this.runs().filter((run) => run.live && run.worker && !this.workers.isAttached(run.dir) && !this.attaching.has(run.dir));
    await Promise.all(unattached.map(async (run) => {
      this.attaching.add(run.dir);
      try {
        if (await this.workers.attach(run.dir)) this.log.appendLine(`[${run.id}] attached to its running worker (pid ${run.worker?.pid})`);
      } finally {
        this.attaching.delete(run.dir);
      }
    }));
  }

  /** Re-attaches to every run whose worker is alive (after a window reload); live again within a second. */
  async reattachAll(): Promise<void> {
    await this.attachNewWorkers();
    this.changed();
  }

  // ---- PanelContext ----

  async startRun(config: RunConfig): Promise<string> {
    const runDir = config.out;
    if (existsSync(runPaths(runDir).config)) {
      throw new Error(`${runDir} already holds a run — choose another output folder, or resume that run from the Runs view`);
    }
    makeDirs(runDir);
    writeJsonAtomic(runPaths(runDir).config, config);
    writeRunStatus(runDir, { state: 'pending', step: 0, total_steps: 0, message: 'starting the training worker…' });
    this.changed();
    await this.spawn(runDir, []);
    return runDir;
  }

  async resumeRun(runDir: string): Promise<void> {
    if (this.isRunLive(runDir)) throw new Error(`the run ${runDir} is already running`);
    writeRunStatus(runDir, { ...this.statusOf(runDir), state: 'pending', message: 'resuming from the latest checkpoint…' });
    this.changed();
    await this.spawn(runDir, ['--resume']);
  }

  /** Stops a run, then says what really happened, from its run folder (stop-report.ts). */
  async stopRun(runDir: string): Promise<void> {
    this.stopping.set(runDir, 0);
    let outcome: StopOutcome;
    try {
      outcome = await this.workers.stop(runDir);
    } finally {
      this.stopping.set(runDir, Date.now());
    }
    this.log.appendLine(`[${basename(runDir)}] stop: ${outcome}`);
    this.changed();
    this.showEnd(runDir, outcome);
  }

  onRunEvent(runDir: string, listener: (event: WorkerEvent) => void): vscode.Disposable {
    const set = this.listeners.get(runDir) ?? new Set();
    set.add(listener);
    this.listeners.set(runDir, set);
    return new vscode.Disposable(() => set.delete(listener));
  }

  isRunLive(runDir: string): boolean {
    if (this.workers.isAttached(runDir)) return true;
    const info = readWorkerInfo(runDir);
    return info !== undefined && pidAlive(info.pid);
  }

  deviceBusy(): boolean {
    return this.workers.attachedRuns().length > 0 || this.runs().some((run) => run.state === 'running' && run.live);
  }

  // ---- internals ----

  private statusOf(runDir: string) {
    const run = readRun(runDir);
    return { step: run.step, total_steps: run.totalSteps };
  }

  private async spawn(runDir: string, args: string[]): Promise<void> {
    try {
      const pid = await this.workers.spawn(runDir, args);
      this.log.appendLine(`[${basename(runDir)}] worker started (pid ${pid})`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.appendLine(`[${basename(runDir)}] ${message}`);
      // A slow worker may still come up: leave its status to it. A dead one may have written its own reason
      // (a located UserError) into status.json; keep that rather than overwrite it with ours.
      if (error instanceof WorkerStartError && !error.exited) throw error;
      const status = readRunStatus(runDir);
      if (status?.state === 'failed' && status.message) throw new Error(status.message);
      writeRunStatus(runDir, { ...this.statusOf(runDir), state: 'failed', message });
      throw error;
    } finally {
      this.changed();
    }
  }

  private dispatch(runDir: string, event: WorkerEvent): void {
    for (const listener of this.listeners.get(runDir) ?? []) listener(event);
    const pace = this.paces.get(runDir) ?? new StepPace();
    this.paces.set(runDir, pace);
    if (event.type === 'step') pace.observe(event);
    if (event.type !== 'step' || event.step % Math.max(1, Math.floor(event.total_steps / 50)) === 0) {
      this.log.appendLine(`[${basename(runDir)}] ${formatEvent(event, pace)}`);
    }
    if (event.type === 'done' || event.type === 'error') {
      this.paces.delete(runDir);
      this.notifyEnd(runDir, event);
    }
    this.changed(event.type === 'step' || event.type === 'status' ? runDir : undefined);
  }

  private notifyEnd(runDir: string, event: Extract<WorkerEvent, { type: 'done' | 'error' }>): void {
    if (event.type === 'error') {
      void vscode.window.showErrorMessage(`LoRA training failed: ${event.message}`, 'Show Log', 'Open Dashboard').then((choice) => {
        if (choice === 'Show Log') void vscode.commands.executeCommand('loraStudio.showLog', runDir);
        if (choice === 'Open Dashboard') void vscode.commands.executeCommand('loraStudio.openDashboard', runDir);
      });
      return;
    }
    // A run this window is stopping (or stopped in the last seconds: the event may trail the exit) is told by the stop.
    const stopped = this.stopping.get(runDir);
    if (stopped !== undefined && (stopped === 0 || Date.now() - stopped < 10_000)) return;
    this.showEnd(runDir, 'ended');
  }

  /** The end of a run as its folder tells it, with the actions that fit (an adapter: open, merge, compare). */
  private showEnd(runDir: string, outcome: StopOutcome): void {
    const report = endReport(readRun(runDir), outcome);
    const actions = report.hasAdapter ? ['Open Adapter', 'Merge', 'Compare', 'Show Log'] : ['Show Log'];
    const show = report.severity === 'error' ? vscode.window.showErrorMessage : report.severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(report.message, ...actions).then((choice) => {
      if (choice === 'Open Adapter') void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(runDir));
      if (choice === 'Merge') void vscode.commands.executeCommand('loraStudio.mergeAdapter', vscode.Uri.file(runDir));
      if (choice === 'Compare') void vscode.commands.executeCommand('loraStudio.compare', vscode.Uri.file(runDir));
      if (choice === 'Show Log') void vscode.commands.executeCommand('loraStudio.showLog', runDir);
    });
  }
}
