// generate() on real tiny model folders (test/fixtures/tiny-model): bf16 sharded weights read as ONNX external data
// straight from the safetensors files and cast in-graph, a PEFT adapter run unmerged, streamed text and stop ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel } from '../../../fixtures/tiny-model/index';
import { loadModelFolder, stopTokenIds } from '../../../../native/model/model-folder';
import { readTensorF32, writeSafetensors } from '../../../../native/model/safetensors';
import { KvDecoder, generate, generateIds } from '../../../../native/model/generate';
import { storeWeightSources } from '../../../../native/model/weight-sources';
import { referenceLogits, seededRandom, type RefWeights } from './llama-reference';
import { mkdirSync, writeFileSync } from 'node:fs';

const temp = () => mkdtempSync(join(tmpdir(), 'p1-gen-'));

test('generate: bf16 sharded weights via external data match the reference (float32 graph)', async () => {
  const dir = temp();
  try {
    makeTinyModel(dir, { architecture: 'Qwen2ForCausalLM', layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, vocab: 600, tie: true, dtype: 'bfloat16', seed: 3, sharded: 2, std: 0.2 });
    const folder = loadModelFolder(dir);
    const w: RefWeights = new Map();
    for (const name of folder.weights.names()) w.set(name, Float64Array.from(readTensorF32(folder.weights.entry(name)!.file, name)));
    const decoder = await KvDecoder.create({ config: folder.config, ...storeWeightSources(folder.weights, dir), dtype: 'float32' }, 4, 6);
    try {
      const prompt = [10, 20, 30, 40];
      const got = [await decoder.prefill(prompt), await decoder.next(50)];
      const seqs = [prompt, [...prompt, 50]];
      for (let s = 0; s < 2; s++) {
        const full = referenceLogits(folder.config, w, [seqs[s]], [seqs[s].map(() => 1)]);
        const last = full.subarray((seqs[s].length - 1) * folder.config.vocab_size);
        let worst = 0;
        for (let v = 0; v < folder.config.vocab_size; v++) worst = Math.max(worst, Math.abs(got[s][v] - last[v]));
        assert.ok(worst < 1e-4, `step ${s}: max |Δlogit| ${worst}`);
      }
    } finally {
      await decoder.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('generate: streams text equal to the decoded greedy ids; an adapter changes the output', async () => {
  const dir = temp();
  try {
    makeTinyModel(dir, { architecture: 'LlamaForCausalLM', layers: 1, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, vocab: 600, tie: false, dtype: 'float32', seed: 5, std: 0.3 });
    const folder = loadModelFolder(dir);
    const run = async (adapterDir?: string) => {
      let text = '';
      let stats: { tokens: number[]; promptTokens: number[] } | undefined;
      for await (const piece of generate({ model: folder, adapterDir, prompt: 'hello world', maxNewTokens: 12, temperature: 0, topP: 1, seed: 1, onStats: (s) => { stats = s; } })) text += piece;
      return { text, stats: stats! };
    };
    const base = await run();
    assert.equal(base.text, folder.tokenizer.decode(base.stats.tokens, true));
    const ids: number[] = [];
    const spec = { config: folder.config, ...storeWeightSources(folder.weights, dir), dtype: 'float32' as const };
    for await (const id of generateIds(spec, base.stats.promptTokens, { maxNewTokens: 12, temperature: 0, topP: 1, seed: 1, stopIds: stopTokenIds(folder) })) ids.push(id);
    assert.deepEqual(base.stats.tokens, ids);

    const adapter = join(dir, 'adapter');
    const rnd = seededRandom(4), r = 4;
    const tensors = [];
    for (const m of ['q_proj', 'v_proj']) {
      const out = m === 'q_proj' ? 32 : 16;
      tensors.push({ name: `base_model.model.model.layers.0.self_attn.${m}.lora_A.weight`, dtype: 'F32' as const, shape: [r, 32], data: Float32Array.from({ length: r * 32 }, () => rnd()) });
      tensors.push({ name: `base_model.model.model.layers.0.self_attn.${m}.lora_B.weight`, dtype: 'F32' as const, shape: [out, r], data: Float32Array.from({ length: out * r }, () => rnd()) });
    }
    mkdirSync(adapter);
    writeSafetensors(join(adapter, 'adapter_model.safetensors'), tensors, { format: 'pt' });
    writeFileSync(join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r, lora_alpha: 32, target_modules: ['q_proj', 'v_proj'] }));
    const tuned = await run(adapter);
    assert.notDeepEqual(tuned.stats.tokens, base.stats.tokens);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('generate: an adapter that does not fit the model is a UserError naming tensor and shapes', async () => {
  const dir = temp();
  try {
    makeTinyModel(dir, { architecture: 'MistralForCausalLM', layers: 1, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, vocab: 600, tie: false, dtype: 'float32', seed: 5 });
    const folder = loadModelFolder(dir);
    const adapter = join(dir, 'adapter');
    mkdirSync(adapter);
    writeSafetensors(join(adapter, 'adapter_model.safetensors'), [
      { name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', dtype: 'F32', shape: [2, 24], data: new Float32Array(48) },
      { name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', dtype: 'F32', shape: [32, 2], data: new Float32Array(64) },
    ], { format: 'pt' });
    writeFileSync(join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4 }));
    const consume = async () => { for await (const _ of generate({ model: folder, adapterDir: adapter, prompt: 'hi', maxNewTokens: 2, temperature: 0, topP: 1, seed: 0 })) void _; };
    await assert.rejects(consume, /shape mismatch: .*q_proj\.lora_A\.weight \[2,24\].*\[32, 24\].*\[32,32\]/);
    await assert.rejects(
      (async () => { for await (const _ of generate({ model: folder, adapterDir: join(dir, 'nope'), prompt: 'hi', maxNewTokens: 2, temperature: 0, topP: 1, seed: 0 })) void _; })(),
      /adapter_config\.json not found/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('generate: an unmerged adapter generates exactly what the merged model (W + s·B·A, computed here) generates', async () => {
  const dir = temp();
  try {
    const opts = { architecture: 'LlamaForCausalLM' as const, layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, vocab: 600, tie: false, dtype: 'float32' as const, seed: 8, std: 0.3 };
    makeTinyModel(join(dir, 'base'), opts);
    makeTinyModel(join(dir, 'merged'), opts);
    const base = loadModelFolder(join(dir, 'base'));
    const r = 4, alpha = 8, rnd = seededRandom(12);
    const adapted = new Map<string, { A: Float32Array; B: Float32Array; in: number; out: number }>();
    for (const l of [0, 1]) {
      adapted.set(`model.layers.${l}.self_attn.v_proj`, { A: Float32Array.from({ length: r * 32 }, () => rnd()), B: Float32Array.from({ length: 16 * r }, () => rnd()), in: 32, out: 16 });
      adapted.set(`model.layers.${l}.mlp.down_proj`, { A: Float32Array.from({ length: r * 48 }, () => rnd()), B: Float32Array.from({ length: 32 * r }, () => rnd()), in: 48, out: 32 });
    }
    const adapter = join(dir, 'adapter');
    mkdirSync(adapter);
    writeSafetensors(join(adapter, 'adapter_model.safetensors'), [...adapted].flatMap(([name, t]) => [
      { name: `base_model.model.${name}.lora_A.weight`, dtype: 'F32' as const, shape: [r, t.in], data: t.A },
      { name: `base_model.model.${name}.lora_B.weight`, dtype: 'F32' as const, shape: [t.out, r], data: t.B },
    ]), { format: 'pt' });
    writeFileSync(join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r, lora_alpha: alpha }));
    // Merge by hand (independent of native/model/merge.ts), in float64, then store as float32.
    const tensors = base.weights.names().map((name) => {
      const entry = base.weights.entry(name)!;
      const data = readTensorF32(entry.file, name);
      const t = adapted.get(name.replace(/\.weight$/, ''));
      if (t) {
        for (let o = 0; o < t.out; o++) for (let i = 0; i < t.in; i++) {
          let s = 0;
          for (let k = 0; k < r; k++) s += t.B[o * r + k] * t.A[k * t.in + i];
          data[o * t.in + i] = data[o * t.in + i] + (alpha / r) * s;
        }
      }
      return { name, dtype: 'F32' as const, shape: entry.entry.shape, data };
    });
    writeSafetensors(join(dir, 'merged', 'model.safetensors'), tensors, { format: 'pt' });
    const merged = loadModelFolder(join(dir, 'merged'));
    const ids = async (model: typeof base, adapterDir?: string) => {
      let tokens: number[] = [];
      for await (const _ of generate({ model, adapterDir, prompt: 'The quick brown fox', maxNewTokens: 16, temperature: 0, topP: 1, seed: 0, onStats: (s) => { tokens = s.tokens; } })) void _;
      return tokens;
    };
    const unmerged = await ids(base, adapter);
    assert.deepEqual(unmerged, await ids(merged));
    assert.notDeepEqual(unmerged, await ids(base), 'the adapter must change the output for this test to mean anything');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
