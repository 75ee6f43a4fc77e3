// Learning-rate schedules, computed on the host from the optimizer step (0-based) and fed to the graph each step.
// Linear warmup from 0, then constant, linear decay to 0, or cosine decay to 0 — as transformers' get_*_schedule_with_warmup.
import type { SchedulerName } from '../protocol';

export function learningRateAt(step: number, options: { lr: number; warmupSteps: number; totalSteps: number; scheduler: SchedulerName }): number {
  const { lr, warmupSteps, totalSteps, scheduler } = options;
  if (warmupSteps > 0 && step < warmupSteps) return (lr * step) / warmupSteps;
  if (scheduler === 'constant') return lr;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - warmupSteps) / decaySteps));
  if (scheduler === 'linear') return lr * (1 - progress);
  return lr * 0.5 * (1 + Math.cos(Math.PI * progress));
}
