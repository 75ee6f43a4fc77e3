// The Compare Methods view's state (pure, tested): the methods in the order asked, each pending, running (its live
// curve growing) or done (its row and its curve read from the run folder), the summary and how the comparison ended;
// and the chart's table — one x column of steps and a loss column per method, null where a method has no step.
import type { CompareResult, CompareSummary } from '../../native/train/compare-events';
import type { CompareMethodsHostMessage, LossCurve } from '../protocol';
import type { ChartTable } from '../dashboard/run-state';

export interface MethodState {
  method: string;
  label: string;
  phase: 'pending' | 'running' | 'done';
  runDir?: string;
  step: number;
  totalSteps: number;
  curve: LossCurve;
  result?: CompareResult;
}

export interface CompareMethodsState {
  methods: MethodState[];
  steps: number;
  model: string;
  data: string;
  out: string;
  summary?: CompareSummary;
  ended?: { outcome: 'completed' | 'stopped' | 'failed'; message: string };
}

export const emptyState = (): CompareMethodsState => ({ methods: [], steps: 0, model: '', data: '', out: '' });

/** The state after a host message (a new `init` starts over: the host replays everything after it). */
export function reduce(state: CompareMethodsState, message: CompareMethodsHostMessage): CompareMethodsState {
  const update = (method: string, change: (m: MethodState) => MethodState): CompareMethodsState => ({
    ...state, methods: state.methods.map((m) => (m.method === method ? change(m) : m)),
  });
  switch (message.type) {
    case 'init':
      return {
        methods: message.methods.map((m) => ({ ...m, phase: 'pending', step: 0, totalSteps: message.steps, curve: { steps: [], losses: [] } })),
        steps: message.steps, model: message.model, data: message.data, out: message.out,
      };
    case 'method':
      return update(message.method, (m) => ({ ...m, phase: 'running', runDir: message.runDir }));
    case 'progress':
      return update(message.method, (m) => (m.phase !== 'running' || message.step <= m.step ? m : {
        ...m, step: message.step, totalSteps: message.totalSteps,
        curve: { steps: [...m.curve.steps, message.step], losses: [...m.curve.losses, message.loss] },
      }));
    case 'result':
      return update(message.result.method, (m) => ({ ...m, phase: 'done', label: message.result.label, result: message.result, curve: message.curve, step: message.result.steps, runDir: message.result.run_dir }));
    case 'summary':
      return { ...state, summary: message.summary };
    case 'ended':
      return { ...state, ended: { outcome: message.outcome, message: message.message } };
  }
}

/** The chart's columns: the steps any method has, and each method's loss at them (null where it has none). */
export function chartTable(methods: readonly MethodState[]): ChartTable {
  const steps = [...new Set(methods.flatMap((m) => m.curve.steps))].sort((a, b) => a - b);
  const index = new Map(steps.map((s, i) => [s, i]));
  const columns = methods.map((m) => {
    const column: (number | null)[] = new Array<number | null>(steps.length).fill(null);
    m.curve.steps.forEach((s, i) => (column[index.get(s)!] = m.curve.losses[i]));
    return column;
  });
  return [steps, ...columns] as ChartTable;
}
