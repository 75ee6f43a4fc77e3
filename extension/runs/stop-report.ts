// What the window tells after a run ended: when the user pressed Stop (how the stop went and what the run folder
// holds afterwards) and when a run it follows ended on its own. Read from the run folder (the truth), not from the
// request: a run that finished before the stop took effect says it finished, one stopped before its first step says
// nothing was trained, one that had to be killed says so and what its last complete checkpoint is. Pure: no vscode.
import type { RunSummary } from './run-store';

/**
 * How the stop request went (WorkerClient.stop): the worker was already gone, it exited after the stop command or
 * SIGTERM (both save a checkpoint first), or it did not and was killed. 'ended': no stop was requested from this
 * window (the run ended by itself or elsewhere).
 */
export type StopOutcome = 'not-running' | 'stopped' | 'terminated' | 'killed' | 'ended';

export interface EndReport {
  severity: 'info' | 'warning' | 'error';
  message: string;
  /** Whether the run folder holds an adapter worth offering (Open, Merge, Compare). */
  hasAdapter: boolean;
}

type RunFacts = Pick<RunSummary, 'id' | 'dir' | 'state' | 'step' | 'totalSteps' | 'message' | 'checkpoints' | 'hasAdapter'>;

export function endReport(run: RunFacts, outcome: StopOutcome): EndReport {
  const checkpoint = run.checkpoints.at(-1)?.step;
  const kept = checkpoint !== undefined ? `the checkpoint at step ${checkpoint} (Resume continues from it)` : 'no checkpoint';
  const adapter = run.hasAdapter ? `; its adapter is in ${run.dir}` : '';
  if (outcome === 'killed') {
    return {
      severity: 'warning', hasAdapter: run.hasAdapter,
      message: `${run.id} did not stop in time and was killed at step ${run.step}: kept ${kept}${checkpoint !== undefined && checkpoint < run.step ? `; steps ${checkpoint + 1}–${run.step} are lost` : ''}.`,
    };
  }
  switch (run.state) {
    case 'completed':
      return {
        severity: 'info', hasAdapter: run.hasAdapter,
        message: outcome === 'ended' ? `${run.id} finished after ${run.step} steps${adapter}.` : `${run.id} had already finished (${run.step} steps) before the stop took effect${adapter}.`,
      };
    case 'stopped': {
      const trained = run.step > 0 || checkpoint !== undefined;
      if (!trained) return { severity: 'info', hasAdapter: false, message: `${run.id} stopped before its first step: nothing was trained; start it again when you are ready.` };
      const prefix = outcome === 'not-running' ? `${run.id} was not running: it had stopped at step ${run.step}` : `${run.id} stopped at step ${run.step}`;
      return { severity: 'info', hasAdapter: run.hasAdapter, message: `${prefix}; kept ${kept}${adapter}.` };
    }
    case 'failed':
      return { severity: 'error', hasAdapter: run.hasAdapter, message: `${run.id} failed${run.message ? `: ${run.message}` : ''}.` };
    default:
      // Still running or pending: the stop has not taken effect (the worker is saving, or not yet up).
      return { severity: 'warning', hasAdapter: run.hasAdapter, message: `${run.id} is still ${run.state} at step ${run.step}${run.message ? ` (${run.message})` : ''}.` };
  }
}
