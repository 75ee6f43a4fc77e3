// Learning-rate schedules, computed on the host from the optimizer step (0-based) and fed to the graph each step.
// Linear warmup from 0, then constant, linear decay to 0, or cosine decay to 0 — as transformers' get_*_schedule_with_warmup.
// With ReLoRA restarts, each cycle after the first warms up again to the schedule (native/train/relora.ts).
import type { SchedulerName } from '../protocol';
import { reloraLearningRate } from './relora';

export interface ScheduleOptions {
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  scheduler: SchedulerName;
  /** ReLoRA: a restart every `every` steps, each followed by `warmupSteps` of linear warmup (the jagged schedule). */
  restarts?: { every: number; warmupSteps: number };
}

export function learningRateAt(step: number, options: ScheduleOptions): number {
  const { restarts } = options;
  if (restarts && restarts.every > 0) return reloraLearningRate(step, restarts.every, restarts.warmupSteps, (s) => scheduled(s, options));
  return scheduled(step, options);
}

function scheduled(step: number, options: ScheduleOptions): number {
  const { lr, warmupSteps, totalSteps, scheduler } = options;
  if (warmupSteps > 0 && step < warmupSteps) return (lr * step) / warmupSteps;
  if (scheduler === 'constant') return lr;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - warmupSteps) / decaySteps));
  if (scheduler === 'linear') return lr * (1 - progress);
  return lr * 0.5 * (1 + Math.cos(Math.PI * progress));
}
