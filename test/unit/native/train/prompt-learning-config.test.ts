// Prompt/prefix tuning's options everywhere they are read: validation (native/train/config.ts), the train flags
// (native/cli/train-options.ts), the estimate (native/train/estimate.ts: trainable parameters = prompt_embeddings,
// the adapter file's size) and the panel's Method selector (webview/training-panel/method.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../../../native/protocol';
import { validateRunConfig } from '../../../../native/train/config';
import { runConfigFromFlags } from '../../../../native/cli/train-options';
import { estimateRun, methodOfRun, type EstimateModel } from '../../../../native/train/estimate';
import { applyMethod, fieldShown, formForMethod, methodOfConfig, PANEL_METHODS } from '../../../../webview/training-panel/method';
import { validateForm, formFromConfig } from '../../../../webview/training-panel/form';
import { fingerprintOf } from '../../../../native/train/checkpoint';
import { checkVirtualPositions } from '../../../../native/train/virtual-tokens';
import { UserError } from '../../../../native/util/errors';

const base: RunConfig = { ...DEFAULT_RUN_OPTIONS, model: 'm', data: 'd.jsonl', out: 'o', lora_dropout: 0 };
const fields = (config: Partial<RunConfig>) => validateRunConfig({ ...base, ...config } as RunConfig).map((p) => p.field);

test('validation: prompt/prefix tuning accept their fields, refuse bad ones and LoRA-only options; the LoRA methods refuse theirs', () => {
  assert.deepEqual(fields({ method: 'prompt-tuning', num_virtual_tokens: 8, prompt_tuning_init: 'TEXT', prompt_tuning_init_text: 'Answer:' }), []);
  assert.deepEqual(fields({ method: 'prefix-tuning', num_virtual_tokens: 30 }), []);
  assert.deepEqual(fields({ method: 'prompt-tuning' }), [], 'absent fields take PEFT-like defaults');
  assert.deepEqual(fields({ method: 'prompt-tuning', num_virtual_tokens: 0 }), ['num_virtual_tokens']);
  assert.deepEqual(fields({ method: 'prefix-tuning', num_virtual_tokens: 5000 }), ['num_virtual_tokens']);
  assert.deepEqual(fields({ method: 'prompt-tuning', prompt_tuning_init: 'TEXT' }), ['prompt_tuning_init_text']);
  assert.deepEqual(fields({ method: 'prompt-tuning', prompt_tuning_init_text: 'x' }), ['prompt_tuning_init_text']);
  assert.deepEqual(fields({ method: 'prefix-tuning', prompt_tuning_init: 'RANDOM' }), ['prompt_tuning_init']);
  assert.deepEqual(fields({ method: 'prompt-tuning', use_dora: true, use_rslora: true, loraplus_lr_ratio: 16 }).sort(), ['loraplus_lr_ratio', 'use_dora', 'use_rslora']);
  assert.deepEqual(fields({ method: 'lora', num_virtual_tokens: 8 }), ['num_virtual_tokens']);
  assert.deepEqual(fields({ method: 'prefix-tuning', relora_steps: 10 }), ['relora_steps']);
  assert.deepEqual(fields({ method: 'p-tuning' as RunConfig['method'] }), ['method']);
});

test('train flags: --method prompt-tuning --prompt-init text --prompt-init-text maps to PEFT\'s fields, dropout 0 and 20 tokens by default', () => {
  const flags = { model: 'm', data: 'd', out: 'o' };
  const prompt = runConfigFromFlags({ ...flags, method: 'prompt-tuning', promptInit: 'text', promptInitText: 'Answer:' });
  assert.equal(prompt.method, 'prompt-tuning');
  assert.equal(prompt.num_virtual_tokens, 20);
  assert.equal(prompt.prompt_tuning_init, 'TEXT');
  assert.equal(prompt.prompt_tuning_init_text, 'Answer:');
  assert.equal(prompt.lora_dropout, 0);
  const prefix = runConfigFromFlags({ ...flags, method: 'prefix-tuning', numVirtualTokens: '12' });
  assert.equal(prefix.num_virtual_tokens, 12);
  assert.equal(prefix.prompt_tuning_init, undefined);
  assert.equal(runConfigFromFlags({ ...flags }).num_virtual_tokens, undefined);
  // A resume refuses a changed count (the checkpoint's state has the old shape).
  assert.notDeepEqual(fingerprintOf({ ...base, method: 'prefix-tuning', num_virtual_tokens: 12 }), fingerprintOf({ ...base, method: 'prefix-tuning', num_virtual_tokens: 13 }));
});

// Qwen2.5-0.5B's shape: hidden 896, 24 layers, 14 heads, 2 KV heads of 64.
const qwen: EstimateModel = {
  vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2,
  head_dim: 64, tie_word_embeddings: true, attention_bias: true, qk_norm: false, torch_dtype: 'bfloat16',
};

test('estimate: prompt tuning trains N × hidden, prefix tuning N × layers·2·KV·head_dim, whatever the LoRA targets; the file is that tensor', () => {
  const target = { module: 'q_proj', layer: 0, baseName: 'model.layers.0.self_attn.q_proj', in: 896, out: 896 };
  const run = { ...base, save_dtype: 'float32' as const, num_virtual_tokens: 20 };
  const prompt = estimateRun(qwen, { ...run, method: 'prompt-tuning' }, [target]);
  assert.equal(prompt.method, 'prompt-tuning');
  assert.equal(prompt.trainableParams, 20 * 896);
  assert.ok(prompt.adapterBytes > 20 * 896 * 4 && prompt.adapterBytes < 20 * 896 * 4 + 200);
  const prefix = estimateRun(qwen, { ...run, method: 'prefix-tuning', num_virtual_tokens: 10 }, [target]);
  assert.equal(prefix.trainableParams, 10 * 24 * 2 * 2 * 64);
  assert.equal(prefix.memory.lora, prefix.trainableParams * 4);
  assert.equal(methodOfRun({ method: 'prefix-tuning' }), 'prefix-tuning');
});

test('Method selector: prompt and prefix tuning entries show num_virtual_tokens (prompt tuning also its init), hide the LoRA fields, and send a valid config', () => {
  assert.ok(PANEL_METHODS.some((m) => m.value === 'prompt-tuning') && PANEL_METHODS.some((m) => m.value === 'prefix-tuning'));
  assert.ok(fieldShown('num_virtual_tokens', 'prompt-tuning') && fieldShown('num_virtual_tokens', 'prefix-tuning'));
  assert.ok(fieldShown('prompt_tuning_init', 'prompt-tuning') && !fieldShown('prompt_tuning_init', 'prefix-tuning'));
  assert.ok(!fieldShown('num_virtual_tokens', 'lora') && !fieldShown('r', 'prompt-tuning') && !fieldShown('lora_alpha', 'prefix-tuning'));
  const form = formForMethod(formFromConfig({ ...base }), 'prompt-tuning');
  assert.equal(form.num_virtual_tokens, '20');
  assert.equal(form.prompt_tuning_init, 'RANDOM');
  const { config, problems } = validateForm({ ...form, model: 'm', data: 'd.jsonl', out: 'o' });
  assert.deepEqual(problems, []);
  assert.equal(config.method, 'prompt-tuning');
  assert.equal(config.num_virtual_tokens, 20);
  assert.equal(config.lora_dropout, 0);
  // Back to LoRA: the virtual-token keys are not sent; a saved prefix-tuning config reads back as its method.
  const lora = applyMethod({ ...config }, 'lora');
  assert.equal(lora.method, 'lora');
  assert.equal(lora.num_virtual_tokens, undefined);
  assert.equal(methodOfConfig({ method: 'prefix-tuning', num_virtual_tokens: 4 }), 'prefix-tuning');
});

test('positions: max_seq_len + num_virtual_tokens must fit max_position_embeddings (the virtual tokens take the first positions)', () => {
  const model = { dir: '/m', config: { max_position_embeddings: 128 } };
  checkVirtualPositions({ method: 'prompt-tuning', num_virtual_tokens: 28, max_seq_len: 100 }, model);
  checkVirtualPositions({ method: 'lora', max_seq_len: 128 }, model);
  for (const method of ['prompt-tuning', 'prefix-tuning'] as const) {
    assert.throws(() => checkVirtualPositions({ method, num_virtual_tokens: 29, max_seq_len: 100 }, model),
      (e: unknown) => e instanceof UserError && /max_seq_len 100 plus 29 virtual tokens is past the 128 positions/.test(e.message) && /≤ 128/.test(e.fix ?? ''));
  }
});
