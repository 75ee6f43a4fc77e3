// The NDJSON lines `lora-studio merge --json` prints, parsed (pure: tested without VS Code), and its arguments.
import { basename, dirname, join, resolve } from 'node:path';
import { jsonObjectOf } from '../../native/util/json-line';

export type MergeLine =
  | { type: 'progress'; done: number; total: number; tensor?: string }
  | { type: 'done'; out: string }
  | { type: 'error'; message: string };

export function parseMergeLine(line: string): MergeLine | undefined {
  const v = jsonObjectOf(line);
  if (v === undefined) return undefined;
  if (v.type === 'progress' && typeof v.done === 'number' && typeof v.total === 'number') {
    return { type: 'progress', done: v.done, total: v.total, ...(typeof v.tensor === 'string' ? { tensor: v.tensor } : {}) };
  }
  if (v.type === 'done' && typeof v.out === 'string') return { type: 'done', out: v.out };
  if (v.type === 'error' && typeof v.message === 'string') return { type: 'error', message: v.message };
  return undefined;
}

export function mergeArgs(cli: string, request: { model: string; adapter: string; out: string }): string[] {
  return [cli, 'merge', '--model', request.model, '--adapter', request.adapter, '--out', request.out, '--json'];
}

/**
 * Suggested output folder, named after model and adapter: next to the adapter, except for a run's adapter, whose
 * merged models go to a `merged` folder beside the runs folder (so models do not pile up among the runs). A name
 * already `taken` (a non-empty folder) gets -2, -3, … so the suggestion is always usable as is.
 */
export function suggestedMergeOut(adapterDir: string, modelDir: string, runsFolder?: string, taken: (path: string) => boolean = () => false): string {
  const parent = runsFolder && resolve(dirname(adapterDir)) === resolve(runsFolder) ? join(dirname(resolve(runsFolder)), 'merged') : dirname(adapterDir);
  const name = `${basename(modelDir)}-${basename(adapterDir)}-merged`;
  let candidate = join(parent, name);
  for (let n = 2; taken(candidate); n++) candidate = join(parent, `${name}-${n}`);
  return candidate;
}
