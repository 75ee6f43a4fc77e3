// One-line descriptions the training panel shows (pure, tested): the inspected model, a dataset's validation and
// token statistics, a device, and the memory estimate against the device.
import { formatBytes, formatParams, type MemoryEstimate } from '../../native/train/estimate';
import type { DatasetInfo, DeviceInfo, ModelInfo } from '../protocol';

const n = (v: number): string => v.toLocaleString('en-US');

/** "Qwen2ForCausalLM · 494 M parameters · bfloat16 · 24 layers · hidden 896 · context 32,768" */
export function describeModel(info: ModelInfo): string {
  return [info.architecture, `${formatParams(info.totalParams)} parameters`, info.dtype, `${info.layers} layers`, `hidden ${n(info.hiddenSize)}`,
    `context ${n(info.maxPositions)}`].join(' · ');
}

/** "alpaca · 1,234 records · no errors" / "chat · 10 records · 2 errors (line 3: …)" / "checking…" */
export function describeDataset(d: DatasetInfo | undefined): string {
  if (!d) return '';
  if (d.records === undefined) return 'checking…';
  const parts = [d.format ?? 'unknown format', `${n(d.records)} record${d.records === 1 ? '' : 's'}`];
  if (d.errors) parts.push(`${n(d.errors)} error${d.errors === 1 ? '' : 's'}${d.firstError ? ` (${d.firstError})` : ''}`);
  else parts.push('no errors');
  return parts.join(' · ');
}

/** "tokens per record: median 120 · p95 410 · max 900 · 12 longer than 512 (truncated)" */
export function describeTokens(d: DatasetInfo | undefined): string {
  const t = d?.tokens;
  if (!t) return '';
  const over = t.overLimit > 0 ? ` · ${n(t.overLimit)} longer than ${n(t.limit)} (truncated)` : ` · all fit in ${n(t.limit)}`;
  return `tokens per record: median ${n(Math.round(t.median))} · p95 ${n(Math.round(t.p95))} · max ${n(t.max)}${over}`;
}

/** "NVIDIA H100 (cuda:0) · 71.2 GiB free of 79.6 GiB" */
export function describeDevice(d: DeviceInfo): string {
  if (d.freeBytes === undefined) return d.label;
  return `${d.label} · ${formatBytes(d.freeBytes)} free${d.totalBytes !== undefined ? ` of ${formatBytes(d.totalBytes)}` : ''}`;
}

/** The memory estimate's parts, largest first is not needed: the order is the one people reason in. */
export function memoryParts(m: MemoryEstimate): { label: string; bytes: number }[] {
  return [
    { label: 'base weights', bytes: m.weights },
    { label: 'LoRA weights', bytes: m.lora },
    { label: 'gradients + AdamW', bytes: m.optimizer },
    { label: 'float32 weight copies (one layer + head)', bytes: m.weightCopies },
    { label: 'activations (one micro-batch)', bytes: m.activations },
    { label: 'loss chunk', bytes: m.loss },
    { label: 'runtime (Node + onnxruntime)', bytes: m.runtime },
  ];
}
