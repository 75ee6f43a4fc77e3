// One-line descriptions the training panel shows (pure, tested): the inspected model, a dataset's validation and
// token statistics, a device, and the memory estimate against the device.
import { formatBytes, formatParams, type MemoryEstimate, type RunEstimate } from '../../native/train/estimate';
import type { DatasetInfo, DeviceInfo, ModelInfo } from '../protocol';

const n = (v: number): string => v.toLocaleString('en-US');

/** "Qwen2ForCausalLM · 494 M parameters · bfloat16 · 24 layers · hidden 896 · context 32,768" */
export function describeModel(info: ModelInfo): string {
  return [info.architecture, `${formatParams(info.totalParams)} parameters`, info.dtype, `${info.layers} layers`, `hidden ${n(info.hiddenSize)}`,
    `context ${n(info.maxPositions)}`].join(' · ');
}

/** "alpaca · 1,234 records · no errors" / "chat · 10 records · 2 errors (line 3: …)" / "checking…" / the file's error */
export function describeDataset(d: DatasetInfo | undefined): string {
  if (!d) return '';
  if (d.fileError) return d.fileError;
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

/**
 * The memory estimate's parts, largest first is not needed: the order is the one people reason in. A method's own
 * parts (the frozen low-rank term, AdaLoRA's allocator and penalty) are listed only when its method has them.
 */
export function memoryParts(m: MemoryEstimate): { label: string; bytes: number }[] {
  return [
    { label: 'base weights', bytes: m.weights },
    { label: 'adapter weights', bytes: m.lora },
    { label: 'gradients + AdamW', bytes: m.optimizer },
    { label: 'float32 weight copies (one layer + head)', bytes: m.weightCopies },
    { label: 'activations (one micro-batch)', bytes: m.activations },
    { label: 'loss chunk', bytes: m.loss },
    ...(m.baseTerm > 0 ? [{ label: 'frozen low-rank base term (PiSSA/OLoRA start, ReLoRA merged cycles)', bytes: m.baseTerm }] : []),
    ...(m.allocator > 0 ? [{ label: 'AdaLoRA rank allocator (importance EMAs, gradients; host)', bytes: m.allocator }] : []),
    ...(m.penalty > 0 ? [{ label: 'AdaLoRA orthogonal penalty', bytes: m.penalty }] : []),
    { label: 'runtime (Node + onnxruntime)', bytes: m.runtime },
  ];
}

/**
 * The adapter's size as its method saves it: "4.2 MiB (rank 16)"; PiSSA's rank 2r; ReLoRA's cycles × r (or per cycle
 * while the steps are unknown); AdaLoRA's final size at target_r and its largest at init_r.
 */
export function describeAdapter(e: Pick<RunEstimate, 'method' | 'adapterBytes' | 'adapterRank' | 'reloraCycles' | 'adapterMaxBytes'>, r: number): string {
  const size = formatBytes(e.adapterBytes);
  switch (e.method) {
    case 'pissa':
    case 'olora':
      return `${size} (rank ${e.adapterRank} = 2 × r: PEFT's conversion of the trained adapter and its start for the original base)`;
    case 'relora':
      return e.reloraCycles === undefined
        ? `${size} a cycle (rank ${r}); k cycles save one LoRA of rank k × ${r} — set max steps or choose a checked dataset to count them`
        : `${size} (rank ${e.adapterRank} = ${e.reloraCycles} cycle${e.reloraCycles === 1 ? '' : 's'} × r ${r})`;
    case 'prompt-tuning':
    case 'prefix-tuning':
      return `${size} (prompt_embeddings: the virtual tokens, no LoRA modules)`;
    case 'adalora':
      return `about ${size} at the end (target_r ${e.adapterRank} a module on average; pruned triplets are not saved), at most ${formatBytes(e.adapterMaxBytes ?? e.adapterBytes)} (init_r)`;
    default:
      return `${size} (rank ${e.adapterRank})`;
  }
}
