// "Compose Adapters…" without VS Code (tested as is): the CLI arguments, the suggested output folder, the progress
// text of a `compose --json` step line, and the adapter folders a (multi-)selection stands for.
import { basename, dirname, join, resolve } from 'node:path';
import type { ComposeEvent } from '../../native/train/compose-events';

export interface ComposeRequest {
  model: string;
  adapters: string[];
  data: string;
  out: string;
}

export function composeArgs(cli: string, request: ComposeRequest): string[] {
  return [cli, 'compose', '--model', request.model, '--adapters', request.adapters.join(','), '--data', request.data, '--out', request.out, '--json'];
}

/**
 * Beside the first adapter — for runs, in a `composed` folder beside the runs folder (so compositions do not pose as
 * runs) — named after the few-shot data; a `taken` (non-empty) name gets -2, -3, …
 */
export function suggestedComposeOut(adapters: readonly string[], data: string, runsFolder?: string, taken: (path: string) => boolean = () => false): string {
  const first = adapters[0];
  const parent = runsFolder && resolve(dirname(first)) === resolve(runsFolder) ? join(dirname(resolve(runsFolder)), 'composed') : dirname(first);
  const name = `lorahub-${basename(data).replace(/\.jsonl$/i, '')}`;
  let candidate = join(parent, name);
  for (let n = 2; taken(candidate); n++) candidate = join(parent, `${name}-${n}`);
  return candidate;
}

const weightsText = (w: readonly number[]) => w.map((x) => x.toFixed(2)).join(', ');

/** The notification's line for a step: where the search is and the best so far. */
export function composeStepText(step: Extract<ComposeEvent, { type: 'step' }>): string {
  return `step ${step.step}/${step.total_steps} · best loss ${step.best_loss.toFixed(4)} · w = ${weightsText(step.best_weights)}`;
}

/**
 * The folders a command call names, in order and once each: VS Code passes the clicked item and, for a multi-selection,
 * all selected items (explorer: Uris, Runs view: nodes); `toPath` reads one of them.
 */
export function selectedPaths(arg: unknown, all: unknown, toPath: (item: unknown) => string | undefined): string[] {
  const items = Array.isArray(all) && all.length > 0 ? all : [arg];
  const paths = items.map(toPath).filter((p): p is string => p !== undefined);
  return [...new Set(paths)];
}
