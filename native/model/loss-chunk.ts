// How many tokens go through the head and the loss at once (native/model/llama.ts): pure, so the memory estimate
// (native/train/estimate.ts, shown in the panel) uses the same number as the engine.

/**
 * Tokens per loss chunk so that one chunk's float32 logits stay within `bytes`. The default, 64 MiB (110 tokens of
 * Qwen's 151,936 ids), because the backward pass of a chunk holds about five tensors of that size at once (logits,
 * log-softmax, the scattered gradient, exp and its product); measured on the Qwen2.5-0.5B shape at 1,024 tokens,
 * 256 MiB chunks peaked 0.9 GB higher than 64 MiB ones.
 */
export function lossChunkTokens(vocab: number, bytes = 64 * 2 ** 20): number {
  return Math.max(1, Math.floor(bytes / (vocab * 4)));
}
