// Sequences past the positions a model was trained for (config.json max_position_embeddings), one rule for train,
// compose and generate: refused unless the user insists with --allow-long-context, and then said once as a warning.
// Past max_position_embeddings the rotary embedding is evaluated at angles the model never saw in training; some
// models are built to handle it (RoPE scaling: YaRN, NTK, Llama 3's) or are knowingly extrapolated, so the refusal has
// a way through rather than being a hard limit.
import { UserError } from '../util/errors';
import type { RopeScaling } from './hf-config';

export const ALLOW_LONG_CONTEXT_FLAG = '--allow-long-context';
export const ALLOW_LONG_CONTEXT_HELP = 'go on past the model\'s max_position_embeddings (positions it never learned; for models that handle longer contexts, e.g. with rope_scaling), with a warning';

/**
 * Past this many positions even an insisting user is refused: 2^20 is the bound validation puts on max_seq_len ("a
 * typo?"), and generate's KV cache is allocated for the whole length up front.
 */
export const LONG_CONTEXT_CEILING = 1_048_576;

/** The part of a model folder the check reads (tests pass a literal). */
export interface PositionsOf {
  dir: string;
  config: { max_position_embeddings: number; rope_scaling?: RopeScaling | null };
}

export interface ContextLength {
  /** What runs past, as the user named it: "max_seq_len 4096", "the prompt (90 tokens) plus 64 new tokens". */
  what: string;
  /** Positions it takes. */
  tokens: number;
  model: PositionsOf;
  /** The user insisted (--allow-long-context / allow_long_context). */
  allow: boolean;
  /** How to stay within the positions; the flag is added after it. */
  fix: string;
  /** The field the error belongs to (the training panel shows it there). */
  field?: string;
}

/**
 * Throws when `tokens` is past the model's positions and the user did not insist; returns the warning to show once
 * when they did, and undefined within the positions.
 */
export function checkContextLength(c: ContextLength): string | undefined {
  const positions = c.model.config.max_position_embeddings;
  if (c.tokens <= positions) return undefined;
  const past = `${c.what} is past the ${positions} positions ${c.model.dir} was trained for (max_position_embeddings)`;
  if (!c.allow) {
    throw new UserError(past, {
      where: c.field ? { field: c.field } : undefined,
      fix: `${c.fix}, or pass ${ALLOW_LONG_CONTEXT_FLAG} if the model handles longer contexts (rope_scaling)`,
    });
  }
  if (c.tokens > LONG_CONTEXT_CEILING) {
    throw new UserError(`${c.what} takes ${c.tokens.toLocaleString('en-US')} positions, past the ${LONG_CONTEXT_CEILING.toLocaleString('en-US')} LoRA Studio allows even with ${ALLOW_LONG_CONTEXT_FLAG}`, {
      where: c.field ? { field: c.field } : undefined, fix: `${c.fix} (a typo?)`,
    });
  }
  return `warning: ${past}; going on as ${ALLOW_LONG_CONTEXT_FLAG} asks. Its last ${c.tokens - positions} ` +
    `positions are ones the model never learned: quality may drop unless the model uses rope_scaling (${ropeScalingNote(c.model.config.rope_scaling)})`;
}

/** What config.json says about RoPE scaling, so the warning tells whether the model was built for longer contexts. */
function ropeScalingNote(scaling: RopeScaling | null | undefined): string {
  if (!scaling) return 'its config.json has none';
  return `its config.json has ${scaling.rope_type} rope_scaling, factor ${scaling.factor} over ${scaling.original_max_position_embeddings} original positions`;
}
