import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { encode, mergeAdapter } from '../../../../native/model/merge';
import { writePeftAdapter } from '../../../../native/model/peft-io';
import { resolveTargets } from '../../../../native/model/lora';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { openWeights, readTensorBytes, readTensorF32 } from '../../../../native/model/safetensors';
import { generate } from '../../../../native/model/generate';

const root = mkdtempSync(join(tmpdir(), 'merge-'));
const random = (n: number, seed: number, scale: number) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed * 97.1 + i * 12.9898) * scale));

function adapterFor(modelDir: string, dir: string, targets: string[] | 'all-linear', r = 4, alpha = 8) {
  const folder = loadModelFolder(modelDir);
  const resolved = resolveTargets(folder.config, targets);
  const weights = new Map(resolved.map((t, k) => [t.baseName, { A: random(r * t.in, k + 1, 0.2), B: random(t.out * r, k + 50, 0.2) }]));
  writePeftAdapter(dir, { config: { r, lora_alpha: alpha, lora_dropout: 0, use_rslora: false }, baseModel: modelDir, targets: resolved, weights, dtype: 'float32' });
  return { folder, resolved, weights, scaling: alpha / r };
}

test('merged weights equal W + scaling·B·A (float64 reference); other tensors are byte-identical; names, shards and dtype kept', async () => {
  const model = makeTinyModel(join(root, 'bf16'), { ...TINY_PRESETS.LlamaForCausalLM, dtype: 'bfloat16', seed: 5, sharded: 2 }).dir;
  const { resolved, weights, scaling } = adapterFor(model, join(root, 'adapter-bf16'), ['q_proj', 'down_proj']);
  const out = join(root, 'merged-bf16');
  const progress: number[] = [];
  await mergeAdapter({ modelDir: model, adapterDir: join(root, 'adapter-bf16'), outDir: out, onProgress: (p) => progress.push(p.done) });
  const base = openWeights(model), merged = openWeights(out);
  assert.deepEqual(merged.names(), base.names());
  assert.deepEqual(readdirSync(out).sort(), readdirSync(model).sort());
  assert.equal(progress[progress.length - 1], base.names().length);
  const adapted = new Set(resolved.map((t) => `${t.baseName}.weight`));
  for (const name of base.names()) {
    const b = base.entry(name)!, m = merged.entry(name)!;
    assert.equal(m.entry.dtype, b.entry.dtype);
    if (!adapted.has(name)) {
      assert.deepEqual(readTensorBytes(m.file, name), readTensorBytes(b.file, name), `${name} changed`);
      continue;
    }
    const t = resolved.find((x) => `${x.baseName}.weight` === name)!;
    const { A, B } = weights.get(t.baseName)!;
    const W = readTensorF32(b.file, name), M = readTensorF32(m.file, name);
    for (let o = 0; o < t.out; o += 7) {
      for (let i = 0; i < t.in; i += 5) {
        let delta = 0;
        for (let k = 0; k < 4; k += 1) delta += B[o * 4 + k] * A[k * t.in + i];
        const expected = W[o * t.in + i] + scaling * delta;
        assert.ok(Math.abs(M[o * t.in + i] - expected) <= Math.abs(expected) * 2 ** -7 + 1e-6, `${name}[${o},${i}]: ${M[o * t.in + i]} vs ${expected}`);
      }
    }
  }
});

test('generation with the unmerged adapter equals generation with the merged model (greedy); a tied model gains no lm_head', async () => {
  const model = makeTinyModel(join(root, 'f32'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 9 }).dir;
  adapterFor(model, join(root, 'adapter-f32'), 'all-linear');
  const out = join(root, 'merged-f32');
  await mergeAdapter({ modelDir: model, adapterDir: join(root, 'adapter-f32'), outDir: out });
  assert.ok(!openWeights(out).names().includes('lm_head.weight'));
  const run = async (dir: string, adapterDir?: string) => {
    let text = '';
    for await (const piece of generate({ model: loadModelFolder(dir), adapterDir, prompt: 'Add 2 and 3.', maxNewTokens: 12, temperature: 0, topP: 1, seed: 0 })) text += piece;
    return text;
  };
  const unmerged = await run(model, join(root, 'adapter-f32'));
  assert.equal(await run(out), unmerged);
  assert.notEqual(await run(model), unmerged, 'the adapter must change the output, or this test proves nothing');
});

test('mismatched adapters and non-empty output folders are refused before anything is written', async () => {
  const llama = makeTinyModel(join(root, 'llama'), { ...TINY_PRESETS.LlamaForCausalLM, dtype: 'float32', seed: 1 }).dir;
  const qwen3 = makeTinyModel(join(root, 'qwen3'), { ...TINY_PRESETS.Qwen3ForCausalLM, dtype: 'float32', seed: 1 }).dir;
  adapterFor(llama, join(root, 'adapter-llama'), ['q_proj']);
  await assert.rejects(mergeAdapter({ modelDir: qwen3, adapterDir: join(root, 'adapter-llama'), outDir: join(root, 'wrong') }), /q_proj: the model's weight is \[\d+, \d+\] but the adapter's B·A is/);
  assert.ok(!existsSync(join(root, 'wrong')));
  const full = join(root, 'full');
  makeTinyModel(full, { ...TINY_PRESETS.LlamaForCausalLM, dtype: 'float32', seed: 1 });
  writeFileSync(join(full, 'keep.txt'), 'mine');
  await assert.rejects(mergeAdapter({ modelDir: llama, adapterDir: join(root, 'adapter-llama'), outDir: full }), /not empty/);
  // A missing --model gets the same words as every other command's.
  await assert.rejects(mergeAdapter({ modelDir: join(root, 'no-such-model'), adapterDir: join(root, 'adapter-llama'), outDir: join(root, 'never') }), /model folder not found: .*no-such-model/);
  assert.ok(!existsSync(join(root, 'never')));
});

test('--dtype converts the merged float weights and config.json torch_dtype', async () => {
  const model = makeTinyModel(join(root, 'f32-for-dtype'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 2 }).dir;
  adapterFor(model, join(root, 'adapter-dtype'), ['v_proj']);
  const out = join(root, 'merged-bf16-out');
  await mergeAdapter({ modelDir: model, adapterDir: join(root, 'adapter-dtype'), outDir: out, dtype: 'bf16' });
  const merged = openWeights(out);
  assert.ok(merged.names().every((name) => merged.entry(name)!.entry.dtype === 'BF16'));
  assert.equal(merged.files[0].metadata.format, 'pt');
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
  const base = openWeights(model);
  const name = 'model.norm.weight';
  const a = readTensorF32(base.entry(name)!.file, name), b = readTensorF32(merged.entry(name)!.file, name);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= Math.abs(v) * 2 ** -8));
});

test('--dtype on a sharded model keeps the index valid: total_size is the merged tensors\' byte size', async () => {
  const model = makeTinyModel(join(root, 'bf16-sharded-for-dtype'), { ...TINY_PRESETS.LlamaForCausalLM, dtype: 'bfloat16', seed: 3, sharded: 2 }).dir;
  adapterFor(model, join(root, 'adapter-sharded-dtype'), ['q_proj']);
  const out = join(root, 'merged-f32-sharded');
  await mergeAdapter({ modelDir: model, adapterDir: join(root, 'adapter-sharded-dtype'), outDir: out, dtype: 'f32' });
  const merged = openWeights(out);
  assert.equal(merged.files.length, 2);
  const bytes = merged.names().reduce((sum, name) => sum + merged.entry(name)!.entry.length, 0);
  const index = JSON.parse(readFileSync(join(out, 'model.safetensors.index.json'), 'utf8'));
  assert.equal(index.metadata.total_size, bytes);
  assert.ok(merged.names().every((name) => merged.entry(name)!.entry.dtype === 'F32'));
});

test('encode writes each float dtype as itself (F64 was written as F16) and refuses integer dtypes', () => {
  const values = Float32Array.from([1.5, -0.25, 3]);
  const f64 = encode('F64', values);
  assert.deepEqual(Array.from(new Float64Array(f64.buffer, f64.byteOffset, 3)), [1.5, -0.25, 3]);
  assert.equal(encode('F32', values).byteLength, 12);
  assert.equal(encode('BF16', values).byteLength, 6);
  assert.equal(encode('F16', values).byteLength, 6);
  assert.throws(() => encode('I32', values), /I32 is not a float dtype/);
});
