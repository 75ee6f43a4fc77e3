// Which runs changed since the views last looked. A live run changes every step; redrawing only its row (not the
// whole Runs view) matters beyond speed: VS Code forgets every tree item when the whole tree refreshes, and a
// context-menu command picked in that moment arrives without its item (Stop Run would ask "which run?").
import { isRunFolder } from './run-store';

/** Every run (the list itself may differ: a run appeared or went), or only these runs' rows. */
export type RunsChange = { all: true } | { all: false; runDirs: string[] };

export class StaleRuns {
  private all = false;
  private readonly runs = new Set<string>();

  /** A run's files or live state changed; without a run, anything may have. */
  mark(runDir?: string): void {
    if (runDir === undefined) this.all = true;
    else this.runs.add(runDir);
  }

  /**
   * Takes what is pending. A run that is not among the `known` ones (new) or whose folder no longer holds a run
   * (deleted) changes the list, so the change is `all`; so is any change before the list was first read.
   */
  take(known: readonly string[] | undefined, isRun: (runDir: string) => boolean = isRunFolder): RunsChange {
    const runDirs = [...this.runs];
    const all = this.all || known === undefined || runDirs.some((dir) => !known.includes(dir) || !isRun(dir));
    this.all = false;
    this.runs.clear();
    return all ? { all: true } : { all: false, runDirs };
  }
}
