// The status-bar text of the active run (step/total, loss, ETA), pure so it is tested without VS Code.
import type { StepPace } from '../../native/train/event-text';
import type { RunSummary } from './run-store';

/** 42s, 3m05s, 1h07m: short enough for the status bar. */
export function shortDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface StatusText {
  text: string;
  tooltip: string;
}

/** The run to show: the newest running one, else one starting; undefined hides the item. */
export function activeRun(runs: readonly RunSummary[]): RunSummary | undefined {
  return runs.find((run) => run.state === 'running' && run.live) ?? runs.find((run) => run.state === 'running') ?? runs.find((run) => run.state === 'pending' && run.status);
}

/** `pace` follows the run across updates (it observes `run.last`); the ETA shows once it knows the step rate. */
export function statusText(run: RunSummary, pace?: StepPace): StatusText {
  const last = run.last;
  if (!last || run.step === 0) {
    const message = run.message ?? 'starting…';
    return { text: `$(sync~spin) LoRA: ${message}`, tooltip: `${run.id}\n${message}\nClick to open the dashboard` };
  }
  const total = run.totalSteps;
  pace?.observe(last);
  const eta = total > 0 && pace ? pace.etaSeconds(total) : NaN;
  const parts = [
    `$(sync~spin) LoRA ${run.step}/${total || '?'}`,
    `loss ${last.loss.toFixed(3)}`,
    ...(Number.isFinite(eta) && total > 0 ? [`ETA ${shortDuration(eta)}`] : []),
  ];
  const tooltip = [
    run.id,
    `step ${run.step} of ${total || '?'}, loss ${last.loss.toFixed(4)}${last.eval_loss !== undefined ? `, eval ${last.eval_loss.toFixed(4)}` : ''}`,
    `${Math.round(last.tokens_per_s).toLocaleString('en-US')} tokens/s, elapsed ${shortDuration(last.elapsed_s)}`,
    'Click to open the dashboard',
  ].join('\n');
  return { text: parts.join(' · '), tooltip };
}
