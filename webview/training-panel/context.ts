// The training panel's model-dependent length bound (pure): max_seq_len, plus prompt/prefix tuning's virtual tokens,
// within the chosen model's positions (max_position_embeddings), unless "Past the model's positions" is ticked — the
// rule the run applies when it starts (native/model/context-length.ts via run.ts checkModelBounds), said here under
// the field before Start rather than as a failed run.
import type { RunConfig } from '../../native/protocol';
import { DEFAULT_VIRTUAL_TOKENS, virtualKindOf } from '../../native/model/prompt-learning';
import type { FieldProblem, ModelInfo } from '../protocol';

/** The checkbox's label, named in the problem's fix. */
export const ALLOW_LONG_CONTEXT_LABEL = 'Past the model\'s positions';

export function contextProblem(config: RunConfig, model: Pick<ModelInfo, 'maxPositions'> | null): FieldProblem | undefined {
  if (!model || !Number.isInteger(config.max_seq_len) || config.allow_long_context === true) return undefined;
  const virtual = virtualKindOf(config.method) ? config.num_virtual_tokens ?? DEFAULT_VIRTUAL_TOKENS : 0;
  if (config.max_seq_len + virtual <= model.maxPositions) return undefined;
  const what = virtual > 0 ? `with ${virtual} virtual tokens it is` : 'is';
  return {
    field: 'max_seq_len',
    message: `${what} past the model's ${model.maxPositions} positions (max_position_embeddings) — lower it, or tick "${ALLOW_LONG_CONTEXT_LABEL}" if the model handles longer contexts (rope_scaling)`,
  };
}
