// The trainer's side of prompt and prefix tuning (native/model/prompt-learning.ts): which virtual tokens a run trains
// and where they start. A text init reads only the embedding rows of the init text's tokens from the model's file,
// not the whole table (Qwen2.5-0.5B's is 545 MB as float32).
import type { RunConfig } from '../protocol';
import type { ModelFolder } from '../model/model-folder';
import type { WeightSource } from '../engine/onnx-export';
import { weightValues } from '../model/weight-values';
import { DEFAULT_VIRTUAL_TOKENS, initVirtualTokens, virtualKindOf, virtualWidth, type VirtualTokens } from '../model/prompt-learning';
import { UserError } from '../util/errors';
import { checkContextLength, type PositionsOf } from '../model/context-length';

/** The virtual tokens a run trains, or undefined for the LoRA family. */
export function virtualTokensOf(config: Pick<RunConfig, 'method' | 'num_virtual_tokens'>): VirtualTokens | undefined {
  const kind = virtualKindOf(config.method);
  return kind ? { kind, tokens: config.num_virtual_tokens ?? DEFAULT_VIRTUAL_TOKENS } : undefined;
}

/**
 * The positions a run uses: prompt tuning's tokens precede the record's and prefix tuning's keys take the first
 * positions of the cache (PEFT's cache_position), so max_seq_len + N must fit the model's positions, or the run has
 * allow_long_context (the warning to show is returned).
 */
export function checkVirtualPositions(config: Pick<RunConfig, 'method' | 'num_virtual_tokens' | 'max_seq_len' | 'allow_long_context'>, model: PositionsOf): string | undefined {
  const virtual = virtualTokensOf(config);
  if (!virtual) return undefined;
  const positions = model.config.max_position_embeddings;
  return checkContextLength({
    what: `max_seq_len ${config.max_seq_len} plus ${virtual.tokens} virtual tokens`, tokens: config.max_seq_len + virtual.tokens, model,
    allow: config.allow_long_context ?? false, field: 'num_virtual_tokens',
    fix: `keep max_seq_len + num_virtual_tokens ≤ ${positions}: lower --max-seq-len or --num-virtual-tokens`,
  });
}

/** One row of a [rows, width] weight (`dir`: the folder file ranges are relative to). */
export function weightRow(source: WeightSource, dir: string, row: number, width: number): Float32Array {
  if (source.kind === 'data') return Float32Array.from(source.data.subarray(row * width, (row + 1) * width));
  if (source.kind === 'file') {
    const bytes = source.dtype === 'F64' ? 8 : source.dtype === 'F32' ? 4 : 2;
    return weightValues({ ...source, offset: source.offset + row * width * bytes, length: width * bytes }, dir);
  }
  throw new Error('an NF4 embedding table: embeddings are never quantized');
}

/**
 * prompt_embeddings at the start of a run: N(0, 1) from the run's seed, or for prompt tuning with TEXT the embedding
 * rows of the init text tokenized as PEFT's tokenizer(text) does (special tokens included), cut or repeated to N.
 */
export function initialVirtualTokens(
  model: ModelFolder,
  config: Pick<RunConfig, 'prompt_tuning_init' | 'prompt_tuning_init_text' | 'seed'>,
  virtual: VirtualTokens,
  source: { weights: (name: string) => WeightSource; dir: string },
): Float32Array {
  const width = virtualWidth(model.config, virtual.kind);
  if (virtual.kind !== 'prompt' || config.prompt_tuning_init !== 'TEXT') return initVirtualTokens(virtual.tokens, width, config.seed);
  const ids = model.tokenizer.encode(config.prompt_tuning_init_text ?? '', true);
  if (ids.length === 0) {
    throw new UserError('prompt_tuning_init_text encodes to no tokens', { where: { field: 'prompt_tuning_init_text' }, fix: 'give a text of a few words, or use --prompt-init random' });
  }
  const table = source.weights('model.embed_tokens.weight');
  return initVirtualTokens(virtual.tokens, width, config.seed, { ids, embeddingRow: (id) => weightRow(table, source.dir, id, width) });
}
