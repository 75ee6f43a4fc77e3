// Messages between template-pool.ts (the caller's thread) and template-worker.ts, and the packed form of tokenized
// examples: one Int32Array per batch instead of two arrays per record (one block to serialize, not thousands).
import type { ErrorLocation } from '../util/errors';
import type { LocatedRecord } from './records';
import type { TemplateOptions, TokenizedExample } from './template';

export type PoolRequest =
  | { id: number; kind: 'tokenize'; records: LocatedRecord[]; opts: TemplateOptions }
  | { id: number; kind: 'segments'; records: LocatedRecord[] }
  | { id: number; kind: 'prompt'; instruction: string; input?: string; system?: string };

export interface SerializedError {
  user: boolean;
  message: string;
  fix?: string;
  where?: ErrorLocation;
  code?: string;
}

export type SegmentsResult = { segments: { text: string; train: boolean }[] } | { error: SerializedError };

export type PoolReply =
  | { id: number; kind: 'ready' }
  | { id: number; kind: 'tokenize'; packed: Int32Array }
  | { id: number; kind: 'segments'; results: SegmentsResult[] }
  | { id: number; kind: 'prompt'; text: string }
  | { id: number; kind: 'error'; error: SerializedError; line?: number };

/** [count, then per example: line, length, truncated, ids…, labels…]. */
export function packExamples(examples: TokenizedExample[]): Int32Array {
  let size = 1;
  for (const e of examples) size += 3 + 2 * e.inputIds.length;
  const out = new Int32Array(size);
  let at = 0;
  out[at++] = examples.length;
  for (const e of examples) {
    out[at++] = e.line ?? 0;
    out[at++] = e.inputIds.length;
    out[at++] = e.truncated ? 1 : 0;
    out.set(e.inputIds, at);
    at += e.inputIds.length;
    out.set(e.labels, at);
    at += e.labels.length;
  }
  return out;
}

export function unpackExamples(packed: Int32Array): TokenizedExample[] {
  const examples: TokenizedExample[] = [];
  let at = 1;
  for (let k = 0; k < packed[0]; k += 1) {
    const line = packed[at];
    const length = packed[at + 1];
    const truncated = packed[at + 2] === 1;
    at += 3;
    const inputIds = Array.from(packed.subarray(at, at + length));
    at += length;
    const labels = Array.from(packed.subarray(at, at + length));
    at += length;
    examples.push({ inputIds, labels, truncated, line });
  }
  return examples;
}
