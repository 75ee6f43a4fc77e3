// What a dashboard's webview is sent, so that it always ends up showing what the run's files say: live events while
// they are news, and the files' state (an `init`) when the files say more and no live event will — a run driven from
// elsewhere, a socket that dropped or skipped steps, a worker that died, a run that ended while detached. No vscode
// here: dashboard-panel.ts wires it to a webview, tests to a model of one.
import type { WorkerEvent } from '../../native/protocol';
import type { DashboardHostMessage } from '../../webview/protocol';
import { readRun, type RunSummary } from '../runs/run-store';
import { dashboardInit, siblingRuns } from './dashboard-data';

/** How long after a live event the files' state is not resent (the events are the newer news). */
export const EVENTS_FRESH_MS = 2000;
/** Resends of the files' state are at most this often (a run detached from this window changes every step). */
export const RESYNC_DELAY_MS = 500;
const ENDED = new Set(['completed', 'stopped', 'failed']);

export interface DashboardSyncHost {
  post(message: DashboardHostMessage): void;
  /** Whether a worker is attached to (or alive for) this run. */
  live(): boolean;
  /** The run as its files say (the extension's cached summary, refreshed before it announces a change). */
  run?(): RunSummary;
  now?(): number;
}

export class DashboardSync {
  private lastEventAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The step and state the webview shows now: the last init's, moved on by the events forwarded since. */
  private shown = { step: 0, state: 'pending' };

  constructor(private readonly runDir: string, private readonly host: DashboardSyncHost) {}

  private run(): RunSummary {
    return this.host.run?.() ?? readRun(this.runDir);
  }

  private now(): number {
    return this.host.now?.() ?? Date.now();
  }

  /** Sends the state rebuilt from the run folder (on `ready`, and whenever the files say more). */
  sendInit(): void {
    const init = dashboardInit(this.runDir, this.host.live(), siblingRuns(this.runDir));
    this.shown = { step: init.step, state: init.state };
    this.host.post(init);
  }

  /**
   * A live event goes on unless the webview already has it: after a resync, events still queued in the socket are
   * older than what it shows. A step past the next one means steps were skipped (the worker drops step events for a
   * host that reads slowly): the files have them all, so the webview gets the files' state instead.
   */
  event(event: WorkerEvent): void {
    this.lastEventAt = this.now();
    if (event.type === 'start') {
      // A new attempt (a resume) has said so in status.json before its `start`; a `start` read late from a backlog,
      // after the files' end state was shown, is old news.
      // (Read fresh, not from the cache: a resume's status.json may be newer than the last announced change.)
      if (ENDED.has(this.shown.state) && ENDED.has(readRun(this.runDir).state)) return;
      this.shown = { step: event.resumed_from_step, state: 'running' };
    } else if (ENDED.has(this.shown.state)) return; // ended: only a new attempt's `start` changes that
    else if (event.type === 'step') {
      if (event.step <= this.shown.step) return;
      if (event.step > this.shown.step + 1) return this.resync();
      this.shown = { step: event.step, state: 'running' };
    } else if (event.type === 'status') this.shown = { ...this.shown, state: 'running' };
    else if (event.type === 'done') this.shown = { step: event.step, state: event.reason };
    else if (event.type === 'error') this.shown = { ...this.shown, state: 'failed' };
    this.host.post({ type: 'event', event });
    // `done` comes once the adapter files are complete: what only they tell (AdaLoRA's final ranks) is sent then.
    if (event.type === 'done') this.resync();
  }

  /** The run's files changed: resend them when they say more than the webview shows and no live event will. */
  filesChanged(): void {
    const run = this.run();
    if (run.step === this.shown.step && run.state === this.shown.state) return;
    const eventsStale = this.now() - this.lastEventAt > EVENTS_FRESH_MS || !this.host.live();
    if (eventsStale || ENDED.has(run.state)) this.resync();
  }

  private resync(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sendInit();
    }, RESYNC_DELAY_MS);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
