// Tiny run folders built by code for the run-store / run-items / status-text tests.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUN_OPTIONS, type MetricRecord, type RunConfig } from '../../../../native/protocol';
import type { RunStatus, WorkerInfo } from '../../../../native/train/run-dir';

export function metric(step: number, extra: Partial<MetricRecord> = {}): MetricRecord {
  return { step, epoch: 0, loss: 3 - step / 100, lr: 3e-4, grad_norm: 1, tokens: step * 512, tokens_per_s: 1500, elapsed_s: step * 2, memory_mb: 900, ...extra };
}

export interface RunSpec {
  id: string;
  status?: Omit<RunStatus, 'updated_at'>;
  metrics?: MetricRecord[];
  /** Appended raw after the metrics (a torn last line). */
  tail?: string;
  worker?: WorkerInfo;
  checkpoints?: number[];
  adapter?: boolean;
  mtime?: number;
}

export function makeRuns(specs: RunSpec[]): string {
  const root = mkdtempSync(join(tmpdir(), 'runs-'));
  for (const spec of specs) {
    const dir = join(root, spec.id);
    mkdirSync(dir, { recursive: true });
    const config: RunConfig = { ...DEFAULT_RUN_OPTIONS, model: '/models/Qwen2-0.5B', data: '/data/train.jsonl', out: dir };
    writeFileSync(join(dir, 'training_config.json'), JSON.stringify(config));
    if (spec.status) writeFileSync(join(dir, 'status.json'), JSON.stringify({ ...spec.status, updated_at: '2026-01-01T00:00:00Z' }));
    if (spec.metrics) writeFileSync(join(dir, 'metrics.jsonl'), spec.metrics.map((m) => JSON.stringify(m) + '\n').join('') + (spec.tail ?? ''));
    if (spec.worker) writeFileSync(join(dir, 'worker.json'), JSON.stringify(spec.worker));
    for (const step of spec.checkpoints ?? []) {
      mkdirSync(join(dir, 'checkpoints', `step-${step}`), { recursive: true });
      writeFileSync(join(dir, 'checkpoints', `step-${step}`, 'trainer_state.json'), '{}');
    }
    if (spec.adapter) writeFileSync(join(dir, 'adapter_config.json'), '{"peft_type":"LORA"}');
  }
  mkdirSync(join(root, 'not-a-run'));
  return root;
}
