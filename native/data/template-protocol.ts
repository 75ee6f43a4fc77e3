// Messages between template-pool.ts (the caller's thread) and template-worker.ts, the packed form of tokenized
// examples (one Int32Array per batch instead of two arrays per record: one block to serialize, not thousands), and
// the announcements a worker makes as each record starts: 8 bytes on a pipe of their own (ANNOUNCE_FD), written
// with one synchronous write, not an IPC message each (serializing, parsing and an event per record in the caller).
import type { ErrorLocation } from '../util/errors';
import type { LocatedRecord } from './records';
import { IGNORE_INDEX, type TemplateOptions, type TokenizedExample } from './template';

/** The worker's file descriptor of the announcement pipe (stdio index of the fork; 3 is the IPC channel). */
export const ANNOUNCE_FD = 4;
/** An announcement: the request's id and the index in its records of the record starting, two int32 little-endian. */
export const ANNOUNCE_BYTES = 8;
/** The worker's argument when the caller had no descriptors for the pipe: announcements are IPC messages instead. */
export const ANNOUNCE_OVER_IPC = '--announce-ipc';
/** An announcement as an IPC message: [request id, index]. */
export type Announcement = [number, number];

/**
 * Records travel as the JSON text of their LocatedRecord[]: one string for the serializer to copy, parsed in the worker
 * by JSON.parse, costs the worker (on a machine whose cores all tokenize) a third of what rebuilding the objects
 * from the structured-clone form does.
 */
export type RecordsJson = string;

export type PoolRequest =
  | { id: number; kind: 'tokenize'; records: RecordsJson; opts: TemplateOptions }
  | { id: number; kind: 'lengths'; records: RecordsJson }
  | { id: number; kind: 'segments'; records: RecordsJson }
  | { id: number; kind: 'prompt'; instruction: string; input?: string; system?: string };

/** A request as the pool makes it: Slot.send numbers it and adds the JSON of its records (the kinds that take them). */
export type PoolRequestBody = PoolRequest extends infer R ? (R extends PoolRequest ? Omit<R, 'id' | 'records'> : never) : never;

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
  | { id: number; kind: 'lengths'; lengths: Int32Array }
  | { id: number; kind: 'segments'; results: SegmentsResult[] }
  | { id: number; kind: 'prompt'; text: string }
  | { id: number; kind: 'error'; error: SerializedError; line?: number };

/** A batch's examples with a trained token, and the counts the caller reports (over all of the batch's records). */
export interface PackedBatch {
  examples: TokenizedExample[];
  truncatedCount: number;
  untrainableCount: number;
}

/** True when some label is trained (not IGNORE_INDEX): an example without one teaches nothing and is dropped. */
function trainable(example: TokenizedExample): boolean {
  for (const label of example.labels) if (label !== IGNORE_INDEX) return true;
  return false;
}

/**
 * [count, truncated, untrainable, then per trainable example: line, length, truncated, ids…, labels…]. Untrainable
 * examples are counted and left out here, in the worker, so they cost the caller nothing.
 */
export function packExamples(examples: TokenizedExample[]): Int32Array {
  const kept = examples.filter(trainable);
  let size = 3;
  for (const e of kept) size += 3 + 2 * e.inputIds.length;
  const out = new Int32Array(size);
  out[0] = kept.length;
  out[1] = examples.filter((e) => e.truncated).length;
  out[2] = examples.length - kept.length;
  let at = 3;
  for (const e of kept) {
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

/**
 * A copy into an array made at its final size: Array.from(subarray) goes through the iterator and push grows the
 * array step by step (garbage for the collector); this is 4-5 times cheaper for the caller, who unpacks every example.
 */
function slice(packed: Int32Array, from: number, length: number): number[] {
  const out = new Array<number>(length);
  for (let i = 0; i < length; i += 1) out[i] = packed[from + i];
  return out;
}

export function unpackExamples(packed: Int32Array): PackedBatch {
  const examples: TokenizedExample[] = [];
  let at = 3;
  for (let k = 0; k < packed[0]; k += 1) {
    const line = packed[at];
    const length = packed[at + 1];
    const truncated = packed[at + 2] === 1;
    at += 3;
    const inputIds = slice(packed, at, length);
    at += length;
    const labels = slice(packed, at, length);
    at += length;
    examples.push({ inputIds, labels, truncated, line });
  }
  return { examples, truncatedCount: packed[1], untrainableCount: packed[2] };
}
