// WorkerEvents as the human-readable lines that `lora-studio train` prints and the worker writes to train.log.
import type { WorkerEvent } from '../protocol';

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Seconds left, from the average pace so far (elapsed / steps done). */
export function etaSeconds(step: number, totalSteps: number, elapsedSeconds: number, firstStep = 0): number {
  const done = step - firstStep;
  if (done <= 0 || totalSteps <= step) return 0;
  return (elapsedSeconds / step) * (totalSteps - step);
}

export function formatEvent(event: WorkerEvent): string {
  switch (event.type) {
    case 'start':
      return event.resumed_from_step > 0
        ? `resuming ${event.run_dir} at step ${event.resumed_from_step} of ${event.total_steps}`
        : `training ${event.total_steps} steps → ${event.run_dir}`;
    case 'status':
      return event.message;
    case 'step': {
      const width = String(event.total_steps).length;
      const parts = [
        `step ${String(event.step).padStart(width)}/${event.total_steps}`,
        `loss ${event.loss.toFixed(4)}`,
        ...(event.eval_loss !== undefined ? [`eval ${event.eval_loss.toFixed(4)}`] : []),
        `lr ${event.lr.toExponential(2)}`,
        `grad ${event.grad_norm.toFixed(3)}`,
        `${Math.round(event.tokens_per_s).toLocaleString('en-US')} tok/s`,
        `${event.memory_mb.toLocaleString('en-US')} MiB`,
        `eta ${duration(etaSeconds(event.step, event.total_steps, event.elapsed_s))}`,
      ];
      return parts.join('  ');
    }
    case 'eval':
      return `eval loss at step ${event.step}: ${event.eval_loss.toFixed(4)}`;
    case 'checkpoint':
      return `checkpoint saved: ${event.path}`;
    case 'done':
      return event.reason === 'completed'
        ? `done after ${event.step} steps; adapter: ${event.adapter}`
        : `stopped at step ${event.step}; resume with: lora-studio train --resume ${event.adapter}`;
    case 'error':
      return `error: ${event.message}`;
  }
}
