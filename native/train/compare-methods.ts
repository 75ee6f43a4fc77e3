// compare-methods, the pure part: which methods can be compared (the engine's method union plus the LoRA variants
// that are flags of method 'lora'), the train flags each gets for a comparison of N steps, one result row per method
// built from its run's numbers (method-metrics.ts), the summary line and the text table (the lines themselves: compare-events.ts). The seeds' comparison
// (trainable parameters, size, memory, speed, quality) on the user's own data; native/cli/compare-methods.ts runs it.
import { UserError } from '../util/errors';
import type { CompareResult, CompareSummary } from './compare-events';
import { finalTrainLoss, lastEvalLoss, LAST_STEPS, medianStepSeconds, medianTokensPerSecond, trainableFromState, type StepRecord } from './method-metrics';

/** LoRA variants that are settings of method 'lora' (PEFT's use_dora, init_lora_weights, …), not methods of their own. */
const LORA_VARIANTS = ['dora', 'qlora', 'pissa', 'relora'] as const;

/** A new comparison folder's name: the time and the model, sortable (as run ids are). */
export function comparisonId(model: string, now = new Date()): string {
  const stamp = now.toISOString().slice(0, 19).replace('T', '_').replace(/:/g, '-');
  const name = model.split(/[\\/]/).filter((part) => part !== '').at(-1) ?? '';
  return `${stamp}_${name.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 40) || 'model'}`;
}

/** Every method a comparison can run: the engine's methods (train's --method choices, the MethodName union) and the LoRA variants. */
export function knownCompareMethods(engineMethods: readonly string[]): string[] {
  return [...engineMethods, ...LORA_VARIANTS.filter((v) => !engineMethods.includes(v))];
}

/** The --methods list, checked against `known` (knownCompareMethods): known names, each once, at least one. */
export function parseMethodList(text: string, known: readonly string[]): string[] {
  const names = text.split(',').map((m) => m.trim().toLowerCase()).filter((m) => m !== '');
  const unknown = names.filter((m) => !known.includes(m));
  if (unknown.length > 0) {
    throw new UserError(`--methods: unknown method${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; this version of LoRA Studio knows ${known.join(', ')}`, {
      fix: `pass some of them, comma-separated, e.g. --methods lora,dora`,
    });
  }
  const repeated = names.filter((m, i) => names.indexOf(m) !== i);
  if (repeated.length > 0) throw new UserError(`--methods names ${[...new Set(repeated)].join(', ')} more than once`, { fix: 'name each method once (each gets its own run)' });
  if (names.length === 0) throw new UserError('--methods is empty', { fix: `pass e.g. --methods lora,dora (known: ${known.join(', ')})` });
  return names;
}

export interface MethodSetup {
  /** How the table names it, with the setting that matters ("ReLoRA (restart every 7)"). */
  label: string;
  /** `lora-studio train` flags on top of the comparison's common ones. */
  flags: string[];
}

/**
 * The train flags of a method in a comparison of `steps` steps at rank `r` (bench/methods uses the same): AdaLoRA
 * starts at init_r = 1.5·r (PEFT's 12 → 8 ratio) and ends at r on average, the budget held for the first 10% of the
 * steps, fixed for the last 20%, reallocated 30 times; ReLoRA restarts every third of the run and prunes 99% of the
 * AdamW state (the paper's); PiSSA uses the randomized SVD (seconds, not minutes); QLoRA is LoRA on the NF4 base.
 * Methods the engine gained later run with their own defaults (`--method <name>`).
 */
export function methodSetup(method: string, steps: number, r: number): MethodSetup {
  const cycle = Math.max(1, Math.round(steps / 3));
  switch (method) {
    case 'lora': return { label: 'LoRA', flags: [] };
    case 'dora': return { label: 'DoRA', flags: ['--use-dora'] };
    case 'qlora': return { label: 'QLoRA (NF4 base)', flags: ['--quantization', 'nf4'] };
    case 'pissa': return { label: 'PiSSA (pissa_niter_4)', flags: ['--init', 'pissa_niter_4'] };
    case 'relora': return { label: `ReLoRA (restart every ${cycle})`, flags: ['--relora-every', String(cycle), '--relora-prune', '0.99'] };
    case 'adalora': {
      const initR = Math.max(r + 1, Math.round(1.5 * r));
      return {
        label: `AdaLoRA (init_r ${initR} → target_r ${r})`,
        flags: ['--method', 'adalora', '--init-r', String(initR), '--target-r', String(r), '--tinit', String(Math.round(steps * 0.1)),
          '--tfinal', String(Math.round(steps * 0.2)), '--delta-t', String(Math.max(1, Math.round(steps / 30)))],
      };
    }
    // Methods of their own, with the engine's defaults (their sizes: train --help).
    case 'lisa': return { label: 'LISA', flags: ['--method', 'lisa'] };
    case 'prompt-tuning': return { label: 'Prompt tuning', flags: ['--method', 'prompt-tuning'] };
    case 'prefix-tuning': return { label: 'Prefix tuning', flags: ['--method', 'prefix-tuning'] };
    default: return { label: method, flags: ['--method', method] };
  }
}

export interface RunNumbers {
  method: string;
  runDir: string;
  status: CompareResult['status'];
  records: readonly StepRecord[];
  /** trainer_state.json `tensors` of the final checkpoint (undefined: no checkpoint). */
  stateTensors?: Record<string, readonly number[]>;
  outputBytes?: number;
  peakRssBytes?: number;
  modelParams: number;
  steps: number;
  r: number;
  penalty?: number;
  error?: string;
}

const finite = (n: number | undefined): number | null => (n !== undefined && Number.isFinite(n) ? n : null);

/** A method's result from what its run left: every number comes from the run's own files and process. */
export function compareResult(n: RunNumbers): CompareResult {
  const trainable = n.stateTensors ? trainableFromState(n.stateTensors) : undefined;
  return {
    type: 'result',
    method: n.method,
    label: methodSetup(n.method, n.steps, n.r).label,
    status: n.status,
    trainable_params: trainable ?? null,
    trainable_percent: trainable !== undefined && n.modelParams > 0 ? (100 * trainable) / n.modelParams : null,
    output_bytes: n.outputBytes ?? null,
    peak_rss_bytes: n.peakRssBytes ?? null,
    median_step_ms: finite(medianStepSeconds(n.records) * 1000),
    tokens_per_s: finite(medianTokensPerSecond(n.records)),
    final_train_loss: finite(finalTrainLoss(n.records)),
    final_eval_loss: finite(lastEvalLoss(n.records)),
    ...(n.penalty !== undefined ? { orth_reg_penalty: n.penalty } : {}),
    steps: n.records.at(-1)?.step ?? 0,
    run_dir: n.runDir,
    ...(n.error !== undefined ? { error: n.error } : {}),
  };
}

/** The cross-entropy part of a logged loss: AdaLoRA's losses include its regularization, the others' do not. */
export const crossEntropy = (loss: number | null, r: CompareResult): number | null => (loss === null ? null : loss - (r.orth_reg_penalty ?? 0));

function best<T extends number>(rows: readonly CompareResult[], value: (r: CompareResult) => T | null): { method: string; value: T } | null {
  let found: { method: string; value: T } | null = null;
  for (const r of rows) {
    const v = value(r);
    if (v !== null && (found === null || v < found.value)) found = { method: r.method, value: v };
  }
  return found;
}

export function compareSummary(methods: readonly string[], rows: readonly CompareResult[], stopped: boolean, out: string): CompareSummary {
  const done = rows.filter((r) => r.status === 'completed');
  const evalLoss = best(done, (r) => crossEntropy(r.final_eval_loss, r));
  const output = best(done, (r) => r.output_bytes);
  const fastest = best(done, (r) => r.median_step_ms);
  return {
    type: 'summary', methods: [...methods], completed: done.map((r) => r.method), stopped,
    best_eval_loss: evalLoss, smallest_output: output && { method: output.method, bytes: output.value },
    fastest: fastest && { method: fastest.method, median_step_ms: fastest.value }, out,
  };
}

const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

/** Bytes as KiB/MiB/GiB with one unit. */
export function formatSize(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  return `${(n / 1024).toFixed(1)} KiB`;
}

/** The table's header, a row of cells per method and the notes under it: the text table and the Compare Methods view show these. */
export function compareCells(rows: readonly CompareResult[]): { header: string[]; cells: string[][]; notes: string[] } {
  const header = ['method', 'trainable params', 'output size', 'peak RSS', 'median step', 'tokens/s', `train loss (last ${LAST_STEPS})`, 'eval loss'];
  // AdaLoRA's losses are shown less its regularization (comparable with the others), marked *; the note says so.
  const loss = (v: number | null, r: CompareResult) => (v === null ? '—' : `${crossEntropy(v, r)!.toFixed(4)}${r.orth_reg_penalty !== undefined ? '*' : ''}`);
  const or = <T>(v: T | null, f: (v: T) => string) => (v === null ? '—' : f(v));
  const cells = rows.map((r) => [
    `${r.label}${r.status === 'completed' ? '' : ` (${r.status}${r.status === 'stopped' ? ` at step ${r.steps}` : ''})`}`,
    or(r.trainable_params, (p) => `${grouped(p)}${r.trainable_percent !== null ? ` (${r.trainable_percent < 0.01 ? r.trainable_percent.toExponential(1) : r.trainable_percent.toFixed(2)}%)` : ''}`),
    or(r.output_bytes, formatSize), or(r.peak_rss_bytes, formatSize), or(r.median_step_ms, (ms) => `${Math.round(ms)} ms`),
    or(r.tokens_per_s, (t) => grouped(t)), loss(r.final_train_loss, r), loss(r.final_eval_loss, r),
  ]);
  const notes = rows.filter((r) => r.orth_reg_penalty !== undefined).map((r) =>
    `* ${r.label}: less PEFT's orthogonal regularization, ${r.orth_reg_penalty!.toFixed(4)} at the final weights, which its logged losses include`);
  return { header, cells, notes };
}

/** The table as markdown: numbers right-aligned, padded so the plain text reads as a table too. */
export function compareTable(rows: readonly CompareResult[]): string {
  const { header, cells, notes } = compareCells(rows);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]) => `| ${row.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...cells.map(line), ...notes].join('\n');
}
