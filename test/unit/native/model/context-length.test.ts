// native/model/context-length.ts: past max_position_embeddings only when the user insists, then with a warning that
// says what and why; the same rule for training's max_seq_len (run.ts checkModelBounds, virtual-tokens.ts) and for
// generate's prompt plus new tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkContextLength, LONG_CONTEXT_CEILING } from '../../../../native/model/context-length';
import { checkGenerationLength } from '../../../../native/model/generate';
import { checkVirtualPositions } from '../../../../native/train/virtual-tokens';
import { UserError } from '../../../../native/util/errors';

const model = { dir: '/models/tiny', config: { max_position_embeddings: 128, rope_scaling: null } };
const check = (tokens: number, allow: boolean) => checkContextLength({ what: `max_seq_len ${tokens}`, tokens, model, allow, field: 'max_seq_len', fix: 'lower --max-seq-len to 128 or less' });

test('within the positions: nothing to say, with or without the flag', () => {
  assert.equal(check(128, false), undefined);
  assert.equal(check(128, true), undefined);
});

test('past them without the flag: refused at the field, the fix naming the flag', () => {
  assert.throws(() => check(129, false), (e: unknown) => e instanceof UserError && e.where?.field === 'max_seq_len' &&
    /^max_seq_len: max_seq_len 129 is past the 128 positions \/models\/tiny was trained for \(max_position_embeddings\)/.test(e.message) &&
    e.fix === 'lower --max-seq-len to 128 or less, or pass --allow-long-context if the model handles longer contexts (rope_scaling)');
});

test('past them with the flag: a warning with what (N past M positions) and why (never learned, rope_scaling)', () => {
  const warning = check(512, true);
  assert.ok(warning);
  assert.match(warning, /^warning: max_seq_len 512 is past the 128 positions \/models\/tiny was trained for/);
  assert.match(warning, /Its last 384 positions are ones the model never learned: quality may drop unless the model uses rope_scaling \(its config\.json has none\)/);
  const scaled = checkContextLength({ what: 'x', tokens: 200, allow: true, fix: 'f', model: { dir: '/m', config: { max_position_embeddings: 128, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } } } });
  assert.match(scaled ?? '', /its config\.json has llama3 rope_scaling, factor 8 over 16 original positions/);
});

test('past the ceiling even the flag is refused (a typo; generate allocates its KV cache for the whole length)', () => {
  assert.throws(() => check(LONG_CONTEXT_CEILING + 1, true), /takes 1,048,577 positions, past the 1,048,576 LoRA Studio allows even with --allow-long-context/);
  assert.ok(check(LONG_CONTEXT_CEILING, true));
});

test('prompt/prefix tuning: max_seq_len plus the virtual tokens, refused or warned the same way', () => {
  const config = { method: 'prompt-tuning' as const, num_virtual_tokens: 29, max_seq_len: 100 };
  assert.throws(() => checkVirtualPositions(config, model), (e: unknown) => e instanceof UserError && e.where?.field === 'num_virtual_tokens' && /or pass --allow-long-context/.test(e.fix ?? ''));
  assert.match(checkVirtualPositions({ ...config, allow_long_context: true }, model) ?? '', /^warning: max_seq_len 100 plus 29 virtual tokens is past the 128 positions/);
  assert.equal(checkVirtualPositions({ ...config, num_virtual_tokens: 28 }, model), undefined);
  assert.equal(checkVirtualPositions({ method: 'lora', max_seq_len: 4096 }, model), undefined, 'LoRA runs are checked by checkModelBounds');
});

test('generate: the prompt plus new tokens past the positions, refused with the room left, or warned with the flag', () => {
  assert.throws(() => checkGenerationLength(100, 50, model), (e: unknown) => e instanceof UserError &&
    /the prompt \(100 tokens\) plus 50 new tokens is past the 128 positions/.test(e.message) && /pass --max-new-tokens 28 or less, or shorten the prompt, or pass --allow-long-context/.test(e.fix ?? ''));
  assert.match(checkGenerationLength(100, 50, model, true) ?? '', /^warning: the prompt \(100 tokens\) plus 50 new tokens is past the 128 positions/);
  assert.equal(checkGenerationLength(100, 28, model), undefined);
  assert.throws(() => checkGenerationLength(0, 5, model, true), /the prompt is empty/);
});
