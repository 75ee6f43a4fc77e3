// Tests native/model/dora.ts and DoRA in the Llama graph: float64 gradient checks of the DoRA pieces (with the
// detached norm held fixed in the numeric derivative, as detaching means), the forward against the float64 reference
// written from PEFT's formulas (llama-reference.ts), the PEFT file format, reading a PEFT-written DoRA adapter, and
// merge equal to the unmerged forward.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { gradcheck, values } from '../engine/gradcheck';
import { doraMagnitudeName, doraOutput, doraWeightNorm, mergeDora, rowNorms } from '../../../../native/model/dora';
import { buildLlamaGraph, loraAName, loraBName, type LoraSite } from '../../../../native/model/llama';
import { OnnxGraphSink } from '../../../../native/engine/onnx-export';
import { uniformReference } from '../../../../native/engine/random';
import { randomWeights, referenceLogits, referenceLoss, seededRandom, type RefLora } from './llama-reference';
import { TINY_CONFIGS } from './tiny-configs';
import type { ModelConfig } from '../../../../native/model/hf-config';
import { resolveTargets } from '../../../../native/model/lora';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, peftMagnitudeName, peftTensorName, readPeftAdapter, writePeftAdapter } from '../../../../native/model/peft-io';
import { openSafetensors, readTensorF32, writeSafetensors } from '../../../../native/model/safetensors';
import { UserError } from '../../../../native/util/errors';
import { makeTinyModel } from '../../../fixtures/tiny-model/index';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { mergeAdapter } from '../../../../native/model/merge';
import { KvDecoder, loadAdapterForDecoding, type DecoderSpec } from '../../../../native/model/generate';
import { storeWeightSources } from '../../../../native/model/weight-sources';

const P = (shape: number[], lo = -1, hi = 1, seed = 1): [number[], number[]] => [shape, values(shape.reduce((a, b) => a * b, 1), lo, hi, seed)];
const root = mkdtempSync(join(tmpdir(), 'dora-'));

// ---- gradient checks ----------------------------------------------------------------------------------------------
const N = 3, IN = 4, OUT = 5, R = 2, S = 1.5;
const W = values(OUT * IN, -1, 1, 9), BIAS = values(OUT, -0.5, 0.5, 10), MASK = values(N * IN, 0, 1, 11).map((u) => (u < 0.3 ? 0 : 1 / 0.7));

for (const dropout of [false, true]) {
  test(`DoRA linear${dropout ? ' with dropout' : ''} (float64): x, A, B and m gradients match central differences with the norm held (≤ 1e-6)`, async () => {
    const { maxError, maxGrad } = await gradcheck({
      params: { x: P([N, IN]), A: P([R, IN], -1, 1, 2), B: P([OUT, R], -1, 1, 3), m: P([OUT], 0.5, 2, 4) },
      build: (g, p) => {
        const w = g.constant(W, [OUT, IN]);
        const xW = g.op('Gemm', [p.x, w], { transB: 1 });
        const base = g.op('Add', [xW, g.constant(BIAS, [OUT])]);
        const xd = dropout ? g.op('Mul', [p.x, g.constant(MASK, [N, IN])]) : p.x;
        const lora = g.op('Gemm', [g.op('Gemm', [xd, p.A], { transB: 1 }), p.B], { transB: 1, alpha: S });
        const baseResult = dropout ? g.op('Gemm', [xd, w], { transB: 1 }) : xW;
        return doraOutput(g, base, baseResult, lora, p.m, doraWeightNorm(g, w, p.A, p.B, S));
      },
    });
    assert.ok(maxGrad > 0);
    assert.ok(maxError <= 1e-6, `max relative error ${maxError}`);
  });
}

test('stopGradient: y = b ⊙ detach(b) has gradient detach(b), not 2b; also inside a recomputed segment', async () => {
  for (const segment of [false, true]) {
    const { maxError, maxGrad } = await gradcheck({
      params: { b: P([2, 3]) },
      build: (g, p) => {
        const body = (b: string) => g.op('Mul', [b, g.stopGradient(g.op('Mul', [b, g.constant([2], [])]))]);
        return segment ? g.checkpoint('segment', [p.b], body) : body(p.b);
      },
    });
    assert.ok(maxGrad > 0);
    assert.ok(maxError <= 1e-6, `segment ${segment}: max relative error ${maxError}`);
  }
});

// ---- forward against the float64 reference -------------------------------------------------------------------------
const ids = [[1, 5, 9, 2, 7, 3], [4, 8, 6, 0, 0, 0]];
const mask = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]];
const labels = [[5, 9, 2, 7, 3, -100], [8, 6, -100, -100, -100, -100]];

function doraFor(config: ModelConfig, seed: number): { sites: LoraSite[]; ref: RefLora & { magnitudes: Map<string, Float64Array> } } {
  const r = 2, rnd = seededRandom(seed);
  const E = config.hidden_size, qOut = config.num_attention_heads * config.head_dim;
  const sites: LoraSite[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    sites.push({ baseName: `model.layers.${l}.self_attn.q_proj`, in: E, out: qOut });
    sites.push({ baseName: `model.layers.${l}.self_attn.o_proj`, in: qOut, out: E });
    sites.push({ baseName: `model.layers.${l}.mlp.down_proj`, in: config.intermediate_size, out: E });
  }
  const weights = new Map(sites.map((s) => [s.baseName, {
    A: Float64Array.from({ length: r * s.in }, () => rnd() * 0.5), B: Float64Array.from({ length: s.out * r }, () => rnd() * 0.5),
  }]));
  const magnitudes = new Map(sites.map((s) => [s.baseName, Float64Array.from({ length: s.out }, () => 0.5 + Math.abs(rnd()))]));
  return { sites, ref: { weights, r, scaling: 1.5, magnitudes } };
}

for (const arch of ['llama', 'qwen2', 'llama-bias'] as const) {
  test(`DoRA llama graph (${arch}, float64): logits and loss equal the reference (PEFT's formulas) to 1e-9, with and without dropout`, async () => {
    const config = TINY_CONFIGS[arch];
    const w = randomWeights(config, 31);
    const { sites, ref } = doraFor(config, 32);
    const seed = 777, p = 0.25;
    const run = async (mode: 'logits' | 'loss', dropout: number) => {
      const sink = new OnnxGraphSink('float64', (name) => ({ kind: 'data', data: w.get(name)! }));
      const params = buildLlamaGraph(sink, config, { batch: 2, length: 6, lora: { r: ref.r, scaling: ref.scaling, sites, dropout, dora: true }, mode });
      assert.deepEqual(params.filter((n) => n.endsWith('lora_magnitude_vector')), sites.map((s) => doraMagnitudeName(s.baseName)));
      const session = await ort.InferenceSession.create(sink.toBytes(), { graphOptimizationLevel: 'basic' });
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.flat().map(BigInt)), [2, 6]),
        attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.flat().map(BigInt)), [2, 6]),
      };
      if (mode === 'loss') feeds.labels = new ort.Tensor('int64', BigInt64Array.from(labels.flat().map(BigInt)), [2, 6]);
      if (dropout > 0) feeds.dropout_seed = new ort.Tensor('int64', BigInt64Array.of(BigInt(seed)), []);
      for (const s of sites) {
        feeds[loraAName(s.baseName)] = new ort.Tensor('float64', ref.weights.get(s.baseName)!.A, [ref.r, s.in]);
        feeds[loraBName(s.baseName)] = new ort.Tensor('float64', ref.weights.get(s.baseName)!.B, [s.out, ref.r]);
        feeds[doraMagnitudeName(s.baseName)] = new ort.Tensor('float64', ref.magnitudes.get(s.baseName)!, [s.out]);
      }
      return session.run(feeds);
    };
    const logits = (await run('logits', 0)).logits.data as Float64Array;
    const expected = referenceLogits(config, w, ids, mask, ref);
    let worst = 0;
    for (let b = 0; b < 2; b++) for (let t = 0; t < 6; t++) {
      if (mask[b][t] === 0) continue;
      for (let v = 0; v < config.vocab_size; v++) worst = Math.max(worst, Math.abs(logits[(b * 6 + t) * config.vocab_size + v] - expected[(b * 6 + t) * config.vocab_size + v]));
    }
    assert.ok(worst < 1e-9, `max |Δlogit| ${worst}`);
    // Dropout: PEFT takes the DoRA base term on the dropped-out input (DoraLinearVariant.forward, base_result = None).
    const masks = new Map(sites.map((s, stream) => [s.baseName, uniformReference(seed, 12 * s.in, stream).map((u) => (u < p ? 0 : 1 / (1 - p)))]));
    let row = 0;
    const dropoutRef = (baseName: string, x: Float64Array, rows: number, cols: number) => {
      const m = masks.get(baseName)!, offset = (row % 2) * rows * cols;
      return x.map((v, i) => v * m[offset + i]);
    };
    const per = [0, 1].map((b) => {
      row = b;
      return referenceLogits(config, w, [ids[b]], [mask[b]], { ...ref, dropout: dropoutRef });
    });
    const both = new Float64Array(per[0].length * 2);
    both.set(per[0]);
    both.set(per[1], per[0].length);
    const got = ((await run('loss', p)).loss.data as Float64Array)[0];
    const want = referenceLoss(both, labels, config.vocab_size);
    assert.ok(Math.abs(got - want) < 1e-9, `loss with dropout ${got} vs ${want}`);
    const plain = referenceLoss(expected, labels, config.vocab_size);
    assert.ok(Math.abs(want - plain) > 1e-6, 'the dropout case must differ from the plain one');
  });
}

test('DoRA at initialization (B = 0, m = ‖W‖_row) is exactly the base model', async () => {
  const config = TINY_CONFIGS.qwen3;
  const w = randomWeights(config, 41);
  const { sites, ref } = doraFor(config, 42);
  for (const s of sites) {
    ref.weights.get(s.baseName)!.B.fill(0);
    ref.magnitudes.set(s.baseName, Float64Array.from(rowNorms(w.get(`${s.baseName}.weight`)!, s.out, s.in)));
  }
  const dora = referenceLogits(config, w, ids, mask, ref);
  const base = referenceLogits(config, w, ids, mask);
  let worst = 0;
  for (let i = 0; i < base.length; i++) worst = Math.max(worst, Math.abs(dora[i] - base[i]));
  assert.ok(worst < 1e-5, `max |Δlogit| ${worst}`); // m is float32-rounded
});

// ---- PEFT format ----------------------------------------------------------------------------------------------------
const targets = resolveTargets(TINY_CONFIGS.llama, ['q_proj', 'v_proj']);
const rnd = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed * 31.7 + i * 1.37) * 0.5));
const doraWeights = () => new Map(targets.map((t, k) => [t.baseName, { A: rnd(4 * t.in, k + 1), B: rnd(t.out * 4, k + 20), m: rnd(t.out, k + 40).map((v) => 1 + Math.abs(v)) }]));

test('a DoRA adapter is saved as PEFT saves it: use_dora true, lora_magnitude_vector [out] beside lora_A/lora_B; it reads back', () => {
  const dir = join(root, 'format');
  const w = doraWeights();
  writePeftAdapter(dir, { config: { r: 4, lora_alpha: 8, lora_dropout: 0.05, use_rslora: false, use_dora: true }, baseModel: 'org/tiny', targets, weights: w, dtype: 'float32' });
  const json = JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG), 'utf8'));
  assert.equal(json.use_dora, true);
  assert.equal(json.peft_type, 'LORA');
  const st = openSafetensors(join(dir, ADAPTER_WEIGHTS));
  // PEFT's keys (LoraModel._get_adapter_state_dict): the magnitude's ".weight" is stripped, A/B keep theirs.
  const expected = targets.flatMap((t) => [
    [`base_model.model.${t.baseName}.lora_A.weight`, [4, t.in]],
    [`base_model.model.${t.baseName}.lora_B.weight`, [t.out, 4]],
    [`base_model.model.${t.baseName}.lora_magnitude_vector`, [t.out]],
  ]);
  assert.deepEqual([...st.entries.values()].map((e) => [e.name, e.shape]).sort(), expected.sort());
  assert.ok([...st.entries.values()].every((e) => e.dtype === 'F32'));
  const back = readPeftAdapter(dir);
  for (const t of targets) assert.deepEqual(back.weights.get(t.baseName)!.m, w.get(t.baseName)!.m);
});

test('reads a DoRA adapter as PEFT writes it (full PEFT config); refuses a magnitude without use_dora and use_dora without magnitudes', () => {
  const dir = join(root, 'peft-written');
  mkdirSync(dir);
  const w = doraWeights();
  const tensors = targets.flatMap((t) => [
    { name: peftTensorName(t.baseName, 'A'), dtype: 'F32' as const, shape: [4, t.in], data: w.get(t.baseName)!.A },
    { name: peftTensorName(t.baseName, 'B'), dtype: 'F32' as const, shape: [t.out, 4], data: w.get(t.baseName)!.B },
    { name: peftMagnitudeName(t.baseName), dtype: 'F32' as const, shape: [t.out], data: w.get(t.baseName)!.m },
  ]);
  writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors, { format: 'pt' });
  // adapter_config.json as PEFT 0.17 writes it for LoraConfig(use_dora=True, ...).
  const peftConfig = {
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: 'org/tiny', bias: 'none', corda_config: null, eva_config: null,
    exclude_modules: null, fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, layer_replication: null,
    layers_pattern: null, layers_to_transform: null, loftq_config: {}, lora_alpha: 8, lora_bias: false, lora_dropout: 0.05,
    megatron_config: null, megatron_core: 'megatron.core', modules_to_save: null, peft_type: 'LORA', qalora_group_size: 16, r: 4,
    rank_pattern: {}, revision: null, target_modules: ['v_proj', 'q_proj'], target_parameters: null, task_type: 'CAUSAL_LM',
    trainable_token_indices: null, use_dora: true, use_qalora: false, use_rslora: false,
  };
  writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify(peftConfig));
  const read = readPeftAdapter(dir);
  assert.equal(read.scaling, 2);
  for (const t of targets) assert.deepEqual(read.weights.get(t.baseName)!.m, w.get(t.baseName)!.m);

  writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify({ ...peftConfig, use_dora: false }));
  assert.throws(() => readPeftAdapter(dir), (e: unknown) => e instanceof UserError && /DoRA magnitude.*use_dora/.test(e.message));
  writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify(peftConfig));
  writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors.filter((t) => !t.name.endsWith('lora_magnitude_vector')), { format: 'pt' });
  assert.throws(() => readPeftAdapter(dir), (e: unknown) => e instanceof UserError && /no lora_magnitude_vector/.test(e.message));
});

// ---- merge ---------------------------------------------------------------------------------------------------------
test('mergeDora is (m / ‖W + s·B·A‖_row) ⊙ (W + s·B·A) (float64 reference)', () => {
  const r = 2, inF = 5, outF = 3, s = 0.75;
  const Wm = rnd(outF * inF, 1), A = rnd(r * inF, 2), B = rnd(outF * r, 3), m = rnd(outF, 4);
  const merged = Float32Array.from(Wm);
  mergeDora(merged, A, B, m, r, inF, outF, s);
  for (let o = 0; o < outF; o++) {
    const row = Array.from({ length: inF }, (_, i) => Wm[o * inF + i] + s * Array.from({ length: r }, (_, k) => B[o * r + k] * A[k * inF + i]).reduce((a, b) => a + b, 0));
    const norm = Math.sqrt(row.reduce((a, v) => a + v * v, 0));
    for (let i = 0; i < inF; i++) assert.ok(Math.abs(merged[o * inF + i] - (m[o] / norm) * row[i]) < 1e-6);
  }
});

test('merging a DoRA adapter gives a model whose logits equal the unmerged DoRA forward (generate\'s graph)', async () => {
  const opts = { architecture: 'Qwen2ForCausalLM' as const, layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, vocab: 600, tie: true, dtype: 'float32' as const, seed: 4, std: 0.3 };
  const modelDir = makeTinyModel(join(root, 'base'), opts).dir;
  const model = loadModelFolder(modelDir);
  const resolved = resolveTargets(model.config, 'all-linear');
  const w = new Map(resolved.map((t, k) => [t.baseName, { A: rnd(4 * t.in, k + 1).map((v) => v * 0.3), B: rnd(t.out * 4, k + 60).map((v) => v * 0.3), m: rnd(t.out, k + 90).map((v) => 1 + Math.abs(v)) }]));
  const adapterDir = join(root, 'merge-adapter');
  writePeftAdapter(adapterDir, { config: { r: 4, lora_alpha: 8, lora_dropout: 0, use_rslora: false, use_dora: true }, baseModel: modelDir, targets: resolved, weights: w, dtype: 'float32' });
  const outDir = join(root, 'merged');
  await mergeAdapter({ modelDir, adapterDir, outDir });
  const merged = loadModelFolder(outDir);
  const prompt = [3, 17, 250, 9, 41, 5, 77];
  const logits = async (folder: typeof model, adapter?: string) => {
    // The adapter as generate and Compare load it (PEFT files → the decoder's LoRA, DoRA or folded AdaLoRA).
    const spec: DecoderSpec = {
      config: folder.config, ...storeWeightSources(folder.weights, folder.dir), dtype: 'float32',
      lora: adapter ? loadAdapterForDecoding(adapter, folder.weights) : undefined,
    };
    const decoder = await KvDecoder.create(spec, prompt.length, prompt.length + 2);
    try {
      const first = Float32Array.from(await decoder.prefill(prompt));
      const second = Float32Array.from(await decoder.next(11));
      return [...first, ...second];
    } finally {
      await decoder.dispose();
    }
  };
  const unmerged = await logits(model, adapterDir);
  const mergedLogits = await logits(merged);
  const plain = await logits(model);
  let worst = 0, moved = 0;
  for (let i = 0; i < unmerged.length; i++) {
    worst = Math.max(worst, Math.abs(unmerged[i] - mergedLogits[i]));
    moved = Math.max(moved, Math.abs(unmerged[i] - plain[i]));
  }
  assert.ok(moved > 0.1, `the adapter must change the logits (max change ${moved})`);
  assert.ok(worst < 1e-4, `max |Δlogit| merged vs unmerged ${worst}`);
  // The merged weights are the base's names and dtypes (nothing added).
  assert.deepEqual(merged.weights.names(), model.weights.names());
  const q = 'model.layers.0.self_attn.q_proj.weight';
  assert.notDeepEqual(readTensorF32(merged.weights.entry(q)!.file, q), readTensorF32(model.weights.entry(q)!.file, q));
});
