// The sizes of the blocks the engine computes in (native/model/llama.ts): tokens per loss chunk, query rows per
// attention block, vocabulary rows per head block. Pure, so the memory estimate (native/train/estimate.ts, shown in the
// panel) uses the same numbers as the engine.

/** Query rows per attention block so that one block's float32 scores [batch, heads, rows, keys] stay within 64 MiB. */
export function attentionBlockRows(batch: number, heads: number, keys: number): number {
  return Math.max(1, Math.floor((64 * 2 ** 20) / (batch * heads * keys * 4)));
}

/** Vocabulary rows per head block so that one block's float32 copy [rows, hidden] stays within 32 MiB. */
export function headBlockRows(hidden: number): number {
  return Math.max(1, Math.floor((32 * 2 ** 20) / (hidden * 4)));
}

/**
 * Tokens per loss chunk so that one chunk's float32 logits stay within `bytes`. The default, 64 MiB (110 tokens of
 * Qwen's 151,936 ids), because the backward pass of a chunk holds about five tensors of that size at once (logits,
 * log-softmax, the scattered gradient, exp and its product); measured on the Qwen2.5-0.5B shape at 1,024 tokens,
 * 256 MiB chunks peaked 0.9 GB higher than 64 MiB ones.
 */
export function lossChunkTokens(vocab: number, bytes = 64 * 2 ** 20): number {
  return Math.max(1, Math.floor(bytes / (vocab * 4)));
}
