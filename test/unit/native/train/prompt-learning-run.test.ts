// Prompt tuning and prefix tuning end to end on the tiny fixture: a run lowers the loss with only prompt_embeddings
// trained and leaves PEFT's PROMPT_TUNING / PREFIX_TUNING files, which generate reads back (the run folder as the
// adapter); a stopped run resumes to the uninterrupted losses exactly; a text init starts from the init text's
// token embeddings; a resume cannot change the number of virtual tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '../../../../native/protocol';
import { readMetrics, runPaths } from '../../../../native/train/run-dir';
import { writeJsonAtomic } from '../../../../native/util/atomic-write';
import { openSafetensors, readTensorF32 } from '../../../../native/model/safetensors';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { generate } from '../../../../native/model/generate';
import { PROMPT_EMBEDDINGS } from '../../../../native/model/prompt-learning';
import { initVirtualTokens } from '../../../../native/model/prompt-learning';
import { UserError } from '../../../../native/util/errors';
import { runFixture } from './run-fixture';

const { model, newRun, train } = runFixture('prompt-run-', { lora_dropout: 0, learning_rate: 5e-2, warmup_steps: 2 });

for (const [method, width] of [['prompt-tuning', 64], ['prefix-tuning', 2 * 2 * 2 * 16]] as const) {
  test(`${method}: a run lowers the loss, saves PEFT's files with prompt_embeddings [8, ${width}], and generate runs the run folder as its adapter`, async () => {
    const run = newRun(`${method}-learn`, { method, num_virtual_tokens: 8, max_steps: 40, lr_scheduler_type: 'constant' });
    assert.equal(await train(run), 'completed');
    const metrics = readMetrics(run);
    assert.equal(metrics.length, 40);
    const first = metrics[0].loss, last = metrics.slice(-5).reduce((s, m) => s + m.loss, 0) / 5;
    assert.ok(last < 0.8 * first, `loss ${first} → ${last}`);
    console.log(`# ${method} (tiny Qwen2, 8 virtual tokens, 40 steps): loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    const config = JSON.parse(readFileSync(join(run, 'adapter_config.json'), 'utf8'));
    assert.equal(config.peft_type, method === 'prompt-tuning' ? 'PROMPT_TUNING' : 'PREFIX_TUNING');
    assert.equal(config.num_virtual_tokens, 8);
    const file = openSafetensors(join(run, 'adapter_model.safetensors'));
    assert.deepEqual([...file.entries.keys()], [PROMPT_EMBEDDINGS]);
    assert.deepEqual(file.entries.get(PROMPT_EMBEDDINGS)!.shape, [8, width]);
    // The tokens moved from their N(0, 1) start (the run's seed).
    const start = initVirtualTokens(8, width, 1);
    const trained = readTensorF32(file, PROMPT_EMBEDDINGS);
    assert.ok(trained.some((v, i) => Math.abs(v - start[i]) > 1e-2), 'prompt_embeddings did not move');
    // Generation with the adapter differs from the base model's (the virtual tokens are applied), greedy and stable.
    const folder = loadModelFolder(model);
    const text = async (adapterDir?: string) => {
      let out = '';
      for await (const piece of generate({ model: folder, adapterDir, prompt: 'Add the two numbers.', maxNewTokens: 6, temperature: 0, topP: 1, seed: 0 })) out += piece;
      return out;
    };
    const tuned = await text(run);
    assert.equal(await text(run), tuned);
    assert.notEqual(tuned, await text());
  });
}

test('prompt-tuning: stopping saves a checkpoint; resuming reproduces the uninterrupted losses exactly; a resume cannot change num_virtual_tokens', async () => {
  const options: Partial<RunConfig> = { method: 'prompt-tuning', num_virtual_tokens: 4, max_steps: 8, save_every: 4, seed: 11 };
  const whole = newRun('pt-whole', options);
  await train(whole);
  const parted = newRun('pt-parted', options);
  assert.equal(await train(parted, 4), 'stopped');
  assert.equal(await train(parted), 'completed');
  assert.deepEqual(readMetrics(parted).map((m) => m.loss), readMetrics(whole).map((m) => m.loss));

  const changed = newRun('pt-changed', options);
  assert.equal(await train(changed, 4), 'stopped');
  const config = JSON.parse(readFileSync(runPaths(changed).config, 'utf8')) as RunConfig;
  writeJsonAtomic(runPaths(changed).config, { ...config, num_virtual_tokens: 6 });
  await assert.rejects(train(changed), (e: unknown) => e instanceof UserError && /cannot resume: num_virtual_tokens changed/.test(e.message));
});

test('prefix-tuning: a stopped run resumes to the uninterrupted losses exactly', async () => {
  const options: Partial<RunConfig> = { method: 'prefix-tuning', num_virtual_tokens: 3, max_steps: 6, save_every: 3, seed: 5 };
  const whole = newRun('px-whole', options);
  await train(whole);
  const parted = newRun('px-parted', options);
  assert.equal(await train(parted, 3), 'stopped');
  assert.equal(await train(parted), 'completed');
  assert.deepEqual(readMetrics(parted).map((m) => m.loss), readMetrics(whole).map((m) => m.loss));
});

test('prompt-tuning with a TEXT init starts from the init text\'s token embeddings, repeated to N (PEFT PromptEmbedding)', async () => {
  const run = newRun('pt-text', { method: 'prompt-tuning', num_virtual_tokens: 5, max_steps: 1, learning_rate: 1e-9, warmup_steps: 0, prompt_tuning_init: 'TEXT', prompt_tuning_init_text: 'Add the' });
  assert.equal(await train(run), 'completed');
  const folder = loadModelFolder(model);
  const ids = folder.tokenizer.encode('Add the', true);
  const table = readTensorF32(folder.weights.entry('model.embed_tokens.weight')!.file, 'model.embed_tokens.weight');
  const saved = readTensorF32(openSafetensors(join(run, 'adapter_model.safetensors')), PROMPT_EMBEDDINGS);
  for (let n = 0; n < 5; n++) {
    const id = ids[n % ids.length];
    for (let e = 0; e < 64; e++) assert.ok(Math.abs(saved[n * 64 + e] - table[id * 64 + e]) < 1e-6, `token ${n} (id ${id}) element ${e}`);
  }
  const config = JSON.parse(readFileSync(join(run, 'adapter_config.json'), 'utf8'));
  assert.equal(config.prompt_tuning_init, 'TEXT');
  assert.equal(config.prompt_tuning_init_text, 'Add the');
});
