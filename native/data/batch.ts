// Tokenized examples → padded micro-batches: a seeded shuffle per epoch (the same seed and epoch give the same batches,
// which is what makes --resume exact), length grouping to cut padding, and an eval split.
import { mulberry32 } from '../util/random';
import type { MicroBatch } from '../train/loop';
import type { TokenizedExample } from './template';
import { IGNORE_INDEX } from './template';
import { UserError } from '../util/errors';

export interface BatchOptions {
  microBatchSize: number;
  seed: number;
  epoch: number;
  padId: number;
  /** Batches are padded to a multiple of this length so few distinct shapes reach the engine (default 64). */
  bucketMultiple?: number;
  /** Sort by length inside mega-batches of `megaBatchFactor` × microBatchSize, then shuffle the batches (default true). */
  lengthGrouped?: boolean;
  megaBatchFactor?: number;
  /** Padded length never exceeds this (default: the longest example of the set, so no batch is padded past it). */
  maxLength?: number;
}

/** mulberry32 (native/util/random.ts): enough for shuffling, and identical on every platform. */
export const seededRandom = mulberry32;

/** Mixes seed and epoch so each epoch's order depends on nothing but (seed, epoch). */
function epochSeed(seed: number, epoch: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul((epoch + 1) >>> 0, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x27d4eb2d);
  return (h ^ (h >>> 15)) >>> 0;
}

export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function padBatch(rows: TokenizedExample[], length: number, padId: number): MicroBatch {
  const batch: MicroBatch = { inputIds: [], labels: [], attentionMask: [] };
  for (const row of rows) {
    const n = Math.min(row.inputIds.length, length);
    const pad = length - n;
    batch.inputIds.push([...row.inputIds.slice(0, n), ...new Array<number>(pad).fill(padId)]);
    // The last kept position has no next token inside the batch, so it is never a target.
    const labels = row.labels.slice(0, n);
    if (n < row.inputIds.length && n > 0) labels[n - 1] = IGNORE_INDEX;
    batch.labels.push([...labels, ...new Array<number>(pad).fill(IGNORE_INDEX)]);
    batch.attentionMask.push([...new Array<number>(n).fill(1), ...new Array<number>(pad).fill(0)]);
  }
  return batch;
}

/** The micro-batches of one epoch, deterministic in (examples, seed, epoch). */
export function planMicroBatches(examples: TokenizedExample[], opts: BatchOptions): MicroBatch[] {
  const { microBatchSize, padId } = opts;
  if (!Number.isInteger(microBatchSize) || microBatchSize < 1) throw new UserError(`micro-batch size must be a whole number ≥ 1, got ${microBatchSize}`, { fix: 'set --batch-size to 1 or more' });
  const multiple = opts.bucketMultiple ?? 64;
  const longest = examples.reduce((m, e) => Math.max(m, e.inputIds.length), 0);
  const cap = opts.maxLength ?? longest;
  const random = seededRandom(epochSeed(opts.seed, opts.epoch));
  const order = shuffleInPlace(examples.map((_, i) => i), random);
  const groups: number[][] = [];
  if (opts.lengthGrouped ?? true) {
    // Megabatch sorting (as in fairseq / HF's LengthGroupedSampler): random at the large scale, similar lengths together.
    const mega = microBatchSize * (opts.megaBatchFactor ?? 50);
    for (let start = 0; start < order.length; start += mega) {
      const chunk = order.slice(start, start + mega).sort((a, b) => examples[b].inputIds.length - examples[a].inputIds.length || a - b);
      for (let i = 0; i < chunk.length; i += microBatchSize) groups.push(chunk.slice(i, i + microBatchSize));
    }
    shuffleInPlace(groups, random);
  } else {
    for (let i = 0; i < order.length; i += microBatchSize) groups.push(order.slice(i, i + microBatchSize));
  }
  return groups.map((group) => {
    const rows = group.map((i) => examples[i]);
    const batchMax = rows.reduce((m, r) => Math.max(m, r.inputIds.length), 0);
    const length = Math.max(1, Math.min(Math.ceil(batchMax / multiple) * multiple, cap));
    return padBatch(rows, length, padId);
  });
}

/**
 * Tokens a batch trains on: labels that are not IGNORE_INDEX (-100). Defined once, here: the trainer weights a step's
 * micro-batches by it and reports their sum as the step's tokens; any `{ labels }` rows can be counted.
 */
export function trainedTokens(batch: { labels: number[][] }): number {
  let n = 0;
  for (const row of batch.labels) for (const label of row) if (label !== IGNORE_INDEX) n += 1;
  return n;
}

/** A seeded random split: `fraction` of the examples (at least one) for evaluation; both keep the file order. */
export function splitEval<T>(examples: T[], fraction: number, seed: number): { train: T[]; eval: T[] } {
  if (!(fraction > 0 && fraction < 1)) throw new UserError(`eval split must be between 0 and 1 (exclusive), got ${fraction}`, { fix: 'use e.g. --eval-split 0.1' });
  const count = Math.max(1, Math.round(examples.length * fraction));
  if (count >= examples.length) {
    throw new UserError(`eval split ${fraction} of ${examples.length} records leaves nothing to train on`, { fix: 'use a smaller --eval-split, more records, or --eval-data FILE' });
  }
  const order = shuffleInPlace(examples.map((_, i) => i), seededRandom(epochSeed(seed, -1)));
  const inEval = new Set(order.slice(0, count));
  return {
    train: examples.filter((_, i) => !inEval.has(i)),
    eval: examples.filter((_, i) => inEval.has(i)),
  };
}
