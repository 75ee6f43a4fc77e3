// The NF4 cache (native/model/nf4-cache.ts): made once tensor by tensor, reused, rebuilt when damaged or stale; clear
// errors for models NF4 cannot hold; and a trainer on it computes the loss of the dequantized model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, rmSync, statSync, utimesSync, writeSync, writeFileSync, closeSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel } from '../../../fixtures/tiny-model/index';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { ensureNf4Cache, ensureNf4CacheStopping, nf4WeightNames, userCacheRoot } from '../../../../native/model/nf4-cache';
import { RunStopped } from '../../../../native/train/stop-point';
import { quantizeNf4 } from '../../../../native/engine/nf4';
import { dequantizeNf4 } from '../engine/nf4-reference';
import { openSafetensors, readTensorBytes, readTensorF32, writeSafetensors } from '../../../../native/model/safetensors';
import { createTrainer } from '../../../../native/train/trainer';
import { resolveTargets } from '../../../../native/model/lora';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../../../native/protocol';
import { writePeftAdapter } from '../../../../native/model/peft-io';
import { generate } from '../../../../native/model/generate';
import { generationQuantization } from '../../../../native/cli/generate';

const SHAPE = { architecture: 'LlamaForCausalLM' as const, layers: 2, hidden: 64, heads: 4, kvHeads: 2, intermediate: 128, vocab: 600, tie: false, seed: 3 };

test('the NF4 cache holds codes and absmax of every decoder linear weight and the rest as stored; it is reused, and rebuilt when damaged or stale', () => {
  const root = mkdtempSync(join(tmpdir(), 'nf4-cache-'));
  try {
    const modelDir = join(root, 'model');
    makeTinyModel(modelDir, { ...SHAPE, dtype: 'bfloat16' });
    const model = loadModelFolder(modelDir);
    const progress: number[] = [];
    const first = ensureNf4Cache(model, { root: join(root, 'cache'), onProgress: (done) => progress.push(done) });
    assert.equal(first.made, true);
    assert.ok(progress.length > 0 && progress.at(-1) === progress.length);
    const file = openSafetensors(join(first.dir, 'model.safetensors'));
    const linear = nf4WeightNames(model);
    assert.equal(linear.size, 14);
    for (const name of model.weights.names()) {
      const source = model.weights.entry(name)!;
      if (linear.has(name)) {
        const want = quantizeNf4(readTensorF32(source.file, name), source.entry.shape, name);
        assert.deepEqual(new Uint8Array(readTensorBytes(file, name)), want.codes, name);
        assert.deepEqual(readTensorF32(file, `${name}.absmax`), want.absmax, name);
      } else {
        assert.deepEqual(readTensorBytes(file, name), readTensorBytes(source.file, name), `${name} is copied as stored`);
      }
    }
    // Bf16 linear weights (2 bytes a value) became 0.5625 byte a value: the file is smaller than the model's.
    assert.ok(first.bytes < statSync(model.weights.files[0].path).size, `${first.bytes} bytes`);

    const again = ensureNf4Cache(model, { root: join(root, 'cache') });
    assert.equal(again.made, false);

    // One flipped byte in the data: detected by the checksum, rebuilt.
    const fd = openSync(join(first.dir, 'model.safetensors'), 'r+');
    writeSync(fd, Buffer.from([0x5a]), 0, 1, first.bytes - 3);
    closeSync(fd);
    const repaired = ensureNf4Cache(model, { root: join(root, 'cache') });
    assert.equal(repaired.made, true);
    assert.match(repaired.rebuiltBecause ?? '', /checksum/);

    // A changed model file (new mtime) is a different cache.
    utimesSync(model.weights.files[0].path, new Date(), new Date(Date.now() + 5000));
    const changed = ensureNf4Cache(loadModelFolder(modelDir), { root: join(root, 'cache') });
    assert.notEqual(changed.dir, first.dir);
    assert.equal(changed.made, true);
    assert.equal(readdirSync(join(root, 'cache', 'nf4')).length, 2);
  } finally {
    delete process.env.LORA_STUDIO_CACHE;
    rmSync(root, { recursive: true, force: true });
  }
});

test('the cache folder: $LORA_STUDIO_CACHE, else $XDG_CACHE_HOME/lora-studio, else ~/.cache/lora-studio', () => {
  assert.equal(userCacheRoot({ LORA_STUDIO_CACHE: '/c' }), '/c');
  assert.equal(userCacheRoot({ XDG_CACHE_HOME: '/x' }), join('/x', 'lora-studio'));
  assert.match(userCacheRoot({}), /\.cache[/\\]lora-studio$/);
});

test('a model whose linear rows are not whole 64-value blocks is refused, naming the tensor and the file', () => {
  const root = mkdtempSync(join(tmpdir(), 'nf4-bad-'));
  try {
    makeTinyModel(join(root, 'model'), { ...SHAPE, hidden: 32, intermediate: 96, dtype: 'float32' });
    assert.throws(() => ensureNf4Cache(loadModelFolder(join(root, 'model')), { root: join(root, 'cache') }),
      (e: Error) => /q_proj\.weight.*\[32, 32\].*blocks of 64/.test(e.message) && /--quantization none/.test(String((e as { fix?: string }).fix)));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('QLoRA trainer: its loss is the loss of the model with the dequantized weights, and it learns', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nf4-train-'));
  try {
    const modelDir = join(root, 'model');
    makeTinyModel(modelDir, { ...SHAPE, dtype: 'bfloat16', std: 0.5 });
    const model = loadModelFolder(modelDir);
    const cache = ensureNf4Cache(model, { root: join(root, 'cache') });
    // The reference: the same folder with every linear weight replaced by its dequantized values (float32).
    const refDir = join(root, 'dequantized');
    makeTinyModel(refDir, { ...SHAPE, dtype: 'bfloat16', std: 0.5 });
    const linear = nf4WeightNames(model);
    const source = model.weights.files[0];
    writeSafetensors(join(refDir, 'model.safetensors'), [...source.entries.values()].map((e) => (linear.has(e.name)
      ? { name: e.name, dtype: 'F32' as const, shape: e.shape, data: dequantizeNf4(quantizeNf4(readTensorF32(source, e.name), e.shape, e.name)) }
      : { name: e.name, dtype: e.dtype, shape: e.shape, data: readTensorBytes(source, e.name) })));
    const ref = loadModelFolder(refDir);

    const config: RunConfig = { ...DEFAULT_RUN_OPTIONS, model: modelDir, data: '', out: root, r: 4, lora_alpha: 8, lora_dropout: 0, learning_rate: 3e-2, weight_decay: 0, seed: 1, quantization: 'nf4' };
    const targets = resolveTargets(model.config, ['q_proj', 'v_proj', 'down_proj']);
    const device = { provider: 'cpu' as const, deviceId: 0 };
    const batch = { inputIds: [[10, 11, 12, 13, 14, 15, 16, 17]], labels: [[11, 12, 13, 14, 15, 16, 17, -100]], attentionMask: [[1, 1, 1, 1, 1, 1, 1, 1]] };
    const qlora = await createTrainer(model, config, { device, targets, weights: cache.weights, externalDataDir: cache.dir });
    const plain = await createTrainer(ref, { ...config, quantization: 'none' }, { device, targets });
    const [a, b] = [await qlora.evalLoss([batch]), await plain.evalLoss([batch])];
    assert.ok(Math.abs(a - b) < 1e-5, `NF4 loss ${a} vs dequantized reference ${b}`);
    for (let i = 0; i < 3; i++) {
      const [x, y] = [await qlora.step([batch], 3e-2), await plain.step([batch], 3e-2)];
      assert.ok(Math.abs(x.loss - y.loss) < 1e-4, `step ${i}: ${x.loss} vs ${y.loss}`);
    }
    for (let i = 0; i < 30; i++) await qlora.step([batch], 3e-2);
    assert.ok((await qlora.evalLoss([batch])) < 0.5 * a);

    // Generation with the QLoRA adapter (the run's training_config.json says nf4): the same tokens as the adapter on
    // the dequantized model.
    const runDir = join(root, 'run');
    writePeftAdapter(runDir, { config, baseModel: modelDir, targets, weights: qlora.loraWeights(), dtype: 'float32' });
    writeFileSync(join(runDir, 'training_config.json'), JSON.stringify(config));
    const notes: string[] = [];
    const quantization = generationQuantization({ adapter: runDir }, (n) => notes.push(n));
    assert.equal(quantization, 'nf4');
    assert.match(notes.join(), /NF4 base weights/);
    process.env.LORA_STUDIO_CACHE = join(root, 'cache');
    const tokens = async (m: typeof model, q: 'none' | 'nf4') => {
      let ids: number[] = [];
      for await (const _ of generate({ model: m, adapterDir: runDir, prompt: 'hello world', maxNewTokens: 8, temperature: 0, topP: 1, seed: 0, quantization: q, onStats: (s) => { ids = s.tokens; } })) { /* drain */ }
      return ids;
    };
    const [fromNf4, fromReference] = [await tokens(model, 'nf4'), await tokens(ref, 'none')];
    assert.equal(fromNf4.length, 8);
    assert.deepEqual(fromNf4, fromReference);
    await qlora.dispose();
    await plain.dispose();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a stop while the cache is made or checked leaves no half-made cache: the next start makes it, or uses the intact one', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nf4-stop-'));
  try {
    const modelDir = join(root, 'model');
    makeTinyModel(modelDir, { ...SHAPE, dtype: 'bfloat16' });
    const model = loadModelFolder(modelDir);
    const cacheRoot = join(root, 'cache');
    /** A stop point that stops at its `n`-th call. */
    const stopAt = (n: number) => {
      let calls = 0;
      return async () => {
        if (++calls >= n) throw new RunStopped();
      };
    };
    const built: number[] = [];
    await assert.rejects(ensureNf4CacheStopping(model, { root: cacheRoot, stopPoint: stopAt(6), onProgress: (done) => built.push(done) }), RunStopped);
    assert.ok(built.length > 0 && built.length < nf4WeightNames(model).size, `stopped between tensors (after ${built.length})`);
    const files = readdirSync(cacheRoot, { recursive: true }).map(String);
    assert.deepEqual(files.filter((name) => name.endsWith('.tmp') || name.endsWith('manifest.json')), [], 'no temp file, no manifest');
    const made = await ensureNf4CacheStopping(model, { root: cacheRoot, stopPoint: async () => {} });
    assert.equal(made.made, true);
    await assert.rejects(ensureNf4CacheStopping(model, { root: cacheRoot, stopPoint: stopAt(2) }), RunStopped, 'stopped while checking the checksum');
    assert.equal(ensureNf4Cache(model, { root: cacheRoot }).made, false, 'the intact cache is used as it is');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
