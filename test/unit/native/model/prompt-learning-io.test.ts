// Prompt/prefix tuning adapters: KV-cache generation (native/model/generate.ts with `virtual`) equal to the float64
// reference of PEFT's forward step by step; the PEFT files (native/model/prompt-learning-io.ts) written as PEFT
// writes them, read back, and PEFT-written folders (built by hand from PEFT's layout, with the keys later PEFT
// versions add and a bf16 tensor) loaded; mismatched folders refused, saying why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvDecoder, generateIds } from '../../../../native/model/generate';
import { PROMPT_EMBEDDINGS, virtualWidth } from '../../../../native/model/prompt-learning';
import { promptAdapterKind, readPromptAdapter, writePromptAdapter } from '../../../../native/model/prompt-learning-io';
import { readPeftAdapter } from '../../../../native/model/peft-io';
import { f32ToBf16, bf16ToF32, writeSafetensors } from '../../../../native/model/safetensors';
import { UserError } from '../../../../native/util/errors';
import { randomWeights, referenceLogits, seededRandom } from './llama-reference';
import { TINY_CONFIGS } from './tiny-configs';

const root = mkdtempSync(join(tmpdir(), 'prompt-io-'));
const argmax = (x: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
};

for (const kind of ['prompt', 'prefix'] as const) {
  for (const arch of ['qwen2', 'mistral'] as const) {
    test(`generate with ${kind} tuning (${arch}, float64): KV-cache logits and greedy ids equal PEFT's forward (reference) step by step`, async () => {
      const config = TINY_CONFIGS[arch];
      const w = randomWeights(config, 71);
      const rnd = seededRandom(72), tokens = 3;
      const embeddings = Float32Array.from({ length: tokens * virtualWidth(config, kind) }, () => rnd());
      const virtual = { kind, tokens, embeddings: Float64Array.from(embeddings) };
      const spec = { config, dtype: 'float64' as const, virtual: { kind, tokens, embeddings }, weights: (name: string) => ({ kind: 'data' as const, data: w.get(name)! }) };
      const prompt = [3, 1, 4, 1, 5];
      /** The reference's logits of the last token of `seq` (prompt tuning's output has the virtual positions first). */
      const lastLogits = (seq: number[]) => {
        const all = referenceLogits(config, w, [seq], [seq.map(() => 1)], undefined, virtual);
        const rows = seq.length + (kind === 'prompt' ? tokens : 0);
        return all.subarray((rows - 1) * config.vocab_size, rows * config.vocab_size);
      };
      const got: number[] = [];
      for await (const id of generateIds(spec, prompt, { maxNewTokens: 6, temperature: 0, topP: 1, seed: 0, stopIds: [] })) got.push(id);
      const seq = [...prompt];
      for (let n = 0; n < 6; n++) seq.push(argmax(lastLogits(seq)));
      assert.deepEqual(got, seq.slice(prompt.length));
      const decoder = await KvDecoder.create(spec, prompt.length, seq.length);
      try {
        let logits = await decoder.prefill(prompt);
        for (let n = 0; n < 6; n++) {
          const want = lastLogits(seq.slice(0, prompt.length + n));
          let worst = 0;
          for (let v = 0; v < config.vocab_size; v++) worst = Math.max(worst, Math.abs(logits[v] - want[v]));
          assert.ok(worst < 1e-9, `step ${n}: max |Δlogit| ${worst}`);
          logits = await decoder.next(seq[prompt.length + n]);
        }
      } finally {
        await decoder.dispose();
      }
    });
  }
}

test('writePromptAdapter: PEFT\'s PROMPT_TUNING config (token_dim = hidden_size, TEXT init with its tokenizer) and PREFIX_TUNING config (GQA: token_dim = KV·head_dim, num_attention_heads = KV); read back equal', () => {
  const model = TINY_CONFIGS.llama; // 4 heads, 2 KV heads, head_dim 4, 2 layers, hidden 16
  const prompt = join(root, 'prompt');
  mkdirSync(prompt);
  const embeddings = Float32Array.from({ length: 5 * 16 }, (_, i) => i / 7);
  writePromptAdapter(prompt, { kind: 'prompt', config: { prompt_tuning_init: 'TEXT', prompt_tuning_init_text: 'Classify:', save_dtype: 'float32' }, model, baseModel: 'some/model', embeddings, tokens: 5 });
  const pc = JSON.parse(readFileSync(join(prompt, 'adapter_config.json'), 'utf8'));
  assert.deepEqual(pc, {
    auto_mapping: null, base_model_name_or_path: 'some/model', inference_mode: true, num_attention_heads: 4, num_layers: 2, num_transformer_submodules: 1,
    num_virtual_tokens: 5, peft_type: 'PROMPT_TUNING', prompt_tuning_init: 'TEXT', prompt_tuning_init_text: 'Classify:', revision: null, task_type: 'CAUSAL_LM',
    token_dim: 16, tokenizer_name_or_path: 'some/model',
  });
  assert.equal(promptAdapterKind(prompt), 'prompt');
  assert.deepEqual(readPromptAdapter(prompt, model).embeddings, embeddings);

  const prefix = join(root, 'prefix');
  mkdirSync(prefix);
  const width = 2 * 2 * 2 * 4;
  const table = Float32Array.from({ length: 3 * width }, (_, i) => Math.sin(i));
  writePromptAdapter(prefix, { kind: 'prefix', config: { save_dtype: 'bfloat16' }, model, baseModel: 'some/model', embeddings: table, tokens: 3 });
  const fc = JSON.parse(readFileSync(join(prefix, 'adapter_config.json'), 'utf8'));
  assert.equal(fc.peft_type, 'PREFIX_TUNING');
  assert.equal(fc.token_dim, 8);
  assert.equal(fc.num_attention_heads, 2);
  assert.equal(fc.encoder_hidden_size, 8);
  assert.equal(fc.prefix_projection, false);
  // Keys in PEFT's order (save_pretrained sorts them).
  assert.deepEqual(Object.keys(fc), Object.keys(fc).sort());
  assert.deepEqual(Object.keys(pc), Object.keys(pc).sort());
  const read = readPromptAdapter(prefix, model);
  assert.equal(read.kind, 'prefix');
  assert.deepEqual(read.embeddings, bf16ToF32(f32ToBf16(table)));
  // Merge and compose read LoRA adapters: a virtual-token adapter is refused with what to do instead.
  assert.throws(() => readPeftAdapter(prefix), (e: unknown) => e instanceof UserError && /virtual tokens, not weights to merge/.test(e.message) && /generate --adapter/.test(e.fix ?? ''));
});

/** A folder as PEFT 0.17 saves it (keys of later versions included, the tensor in bf16). */
function peftFolder(name: string, config: Record<string, unknown>, shape: number[], values: Float32Array): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ auto_mapping: null, inference_mode: true, modules_to_save: null, peft_version: '0.17.1', revision: null, task_type: 'CAUSAL_LM', ...config }));
  writeSafetensors(join(dir, 'adapter_model.safetensors'), [{ name: PROMPT_EMBEDDINGS, dtype: 'BF16', shape, data: f32ToBf16(values) }], { format: 'pt' });
  return dir;
}

test('PEFT-written prompt and prefix tuning folders load (bf16, later keys); a folder for another model or an encoder-decoder is refused saying why', () => {
  const model = TINY_CONFIGS.mistral; // 1 KV head: prefix width 2 layers × 2 × 1 × 4 = 16
  const values = Float32Array.from({ length: 4 * 16 }, (_, i) => (i % 9) / 8);
  const prompt = peftFolder('peft-prompt', {
    peft_type: 'PROMPT_TUNING', num_virtual_tokens: 4, token_dim: 16, num_transformer_submodules: 1, num_attention_heads: 4, num_layers: 2,
    prompt_tuning_init: 'RANDOM', prompt_tuning_init_text: null, tokenizer_name_or_path: null, tokenizer_kwargs: null, base_model_name_or_path: 'x/y',
  }, [4, 16], values);
  assert.deepEqual(readPromptAdapter(prompt, model).embeddings, values);
  const prefix = peftFolder('peft-prefix', {
    peft_type: 'PREFIX_TUNING', num_virtual_tokens: 4, token_dim: 4, num_transformer_submodules: 1, num_attention_heads: 1, num_layers: 2,
    encoder_hidden_size: 4, prefix_projection: true, base_model_name_or_path: 'x/y',
  }, [4, 16], values);
  const read = readPromptAdapter(prefix, model);
  assert.equal(read.kind, 'prefix');
  assert.deepEqual(read.embeddings, values);
  // The prompt tuning file against a model of another width: the shapes and the fix.
  assert.throws(() => readPromptAdapter(prompt, { ...model, hidden_size: 32 }), (e: unknown) => e instanceof UserError && /\[4,16\], the model needs \[4, 32\]/.test(e.message));
  assert.throws(() => readPromptAdapter(prefix, { ...model, num_hidden_layers: 3 }), (e: unknown) => e instanceof UserError && /for 2 layers, the model has 3/.test(e.message));
  const seq2seq = peftFolder('peft-seq2seq', { peft_type: 'PROMPT_TUNING', num_virtual_tokens: 2, num_transformer_submodules: 2, num_layers: 2 }, [4, 16], values);
  assert.throws(() => readPromptAdapter(seq2seq, model), (e: unknown) => e instanceof UserError && /encoder-decoder/.test(e.message));
});
