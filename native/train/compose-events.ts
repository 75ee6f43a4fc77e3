// The NDJSON lines `lora-studio compose --json` prints, defined once: the CLI writes them, the extension's
// "Compose Adapters…" reads them (pure: no Node or engine imports, so the host may import it).
import { jsonObjectOf } from '../util/json-line';

/** Progress and outcome of a LoRAHub composition (native/train/compose.ts). */
export type ComposeEvent =
  /** A phase began: loading, tokenizing, compiling, evaluating the references. */
  | { type: 'status'; message: string }
  /**
   * One evaluation of the search: `weights` were tried; `loss` is their few-shot cross-entropy, `objective` that plus
   * the L1 penalty; `best_*` describe the best point so far (by objective).
   */
  | { type: 'step'; step: number; total_steps: number; weights: number[]; loss: number; objective: number; best_weights: number[]; best_loss: number; best_objective: number }
  /** The composed adapter was written to `out`. `uniform_loss`: the loss at wᵢ = 1/N; `base_loss`: at w = 0 (no adapter). */
  | { type: 'done'; out: string; weights: number[]; loss: number; objective: number; uniform_loss: number; base_loss: number }
  | { type: 'error'; message: string };

const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');
const isNumber = (v: unknown): v is number => typeof v === 'number';

/** A line of `compose --json` output, or undefined for anything else (human-readable text between the lines). */
export function parseComposeLine(line: string): ComposeEvent | undefined {
  const v = jsonObjectOf(line);
  if (v === undefined) return undefined;
  switch (v.type) {
    case 'status':
      return typeof v.message === 'string' ? { type: 'status', message: v.message } : undefined;
    case 'step':
      return isNumber(v.step) && isNumber(v.total_steps) && isNumbers(v.weights) && isNumber(v.loss) && isNumber(v.objective) &&
        isNumbers(v.best_weights) && isNumber(v.best_loss) && isNumber(v.best_objective)
        ? { type: 'step', step: v.step, total_steps: v.total_steps, weights: v.weights, loss: v.loss, objective: v.objective, best_weights: v.best_weights, best_loss: v.best_loss, best_objective: v.best_objective }
        : undefined;
    case 'done':
      return typeof v.out === 'string' && isNumbers(v.weights) && isNumber(v.loss) && isNumber(v.objective) && isNumber(v.uniform_loss) && isNumber(v.base_loss)
        ? { type: 'done', out: v.out, weights: v.weights, loss: v.loss, objective: v.objective, uniform_loss: v.uniform_loss, base_loss: v.base_loss }
        : undefined;
    case 'error':
      return typeof v.message === 'string' ? { type: 'error', message: v.message } : undefined;
    default:
      return undefined;
  }
}
