// The NDJSON lines of `lora-studio compare-methods --json` (native/cli/compare-methods.ts), defined once: a `method`
// line as each method starts, its `status` and `progress`, its `result` row (the table's numbers, snake_case), and a
// `summary` at the end. Pure and engine-free: the extension host reads these lines from its child process.
import { jsonObjectOf } from '../util/json-line';

/** One method's line of `compare-methods --json` (and a row of the table); null where the run did not tell. */
export interface CompareResult {
  type: 'result';
  method: string;
  label: string;
  /** completed; stopped (Ctrl-C: its numbers are those of the steps it ran); failed (`error` says why). */
  status: 'completed' | 'stopped' | 'failed';
  trainable_params: number | null;
  /** trainable_params as a percentage of the model's stored parameters. */
  trainable_percent: number | null;
  /** The output's files (adapter or model folder), summed. */
  output_bytes: number | null;
  /** The peak resident memory of the method's own process (process.resourceUsage().maxRSS). */
  peak_rss_bytes: number | null;
  median_step_ms: number | null;
  tokens_per_s: number | null;
  /** Mean train loss of the last LAST_STEPS steps. */
  final_train_loss: number | null;
  final_eval_loss: number | null;
  /** AdaLoRA: PEFT's orthogonal regularization at the final weights, included in both losses above as logged. */
  orth_reg_penalty?: number;
  steps: number;
  run_dir: string;
  error?: string;
}

export interface CompareSummary {
  type: 'summary';
  /** Methods asked for, and those whose run completed. */
  methods: string[];
  completed: string[];
  /** True when a signal stopped the comparison before every method ran. */
  stopped: boolean;
  /** Lowest eval cross-entropy (AdaLoRA's less its regularization), of the completed runs. */
  best_eval_loss: { method: string; value: number } | null;
  smallest_output: { method: string; bytes: number } | null;
  fastest: { method: string; median_step_ms: number } | null;
  out: string;
}

/** Each NDJSON line of `compare-methods --json`: a method starts, its progress, its result; at the end the summary. */
export type CompareEvent =
  | { type: 'method'; method: string; label: string; index: number; count: number; run_dir: string }
  | { type: 'status'; method: string; message: string }
  | { type: 'progress'; method: string; step: number; total_steps: number; loss: number }
  | CompareResult
  | CompareSummary
  | { type: 'error'; message: string };

const COMPARE_EVENT_TYPES: readonly string[] = ['method', 'status', 'progress', 'result', 'summary', 'error'] satisfies CompareEvent['type'][];

/** A line of `compare-methods --json` as an event, or undefined for anything else (the extension reads them). */
export function parseCompareLine(line: string): CompareEvent | undefined {
  const rec = jsonObjectOf(line);
  if (rec === undefined || !COMPARE_EVENT_TYPES.includes(rec.type as string)) return undefined;
  if (rec.type !== 'summary' && rec.type !== 'error' && typeof rec.method !== 'string') return undefined;
  return rec as unknown as CompareEvent;
}
