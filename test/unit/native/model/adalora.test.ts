// Tests native/model/adalora.ts, adalora-io.ts and AdaLoRA in the Llama graph: float64 gradient checks of the SVD-form
// delta and the orthogonal regularization, the forward and loss against a float64 reference written from PEFT's
// formulas (SVDLinear.forward, AdaLoraModel.forward), PEFT's ADALORA file format (keys, shapes, config, rank_pattern
// resizing), an adapter built to PEFT's format read by generate's decoder and merged (merge = unmerged forward).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { gradcheck, values } from '../engine/gradcheck';
import { orthRegularization, svdDelta } from '../../../../native/model/adalora';
import { adaloraEName, adaloraScaling, type AdaLoraSettings } from '../../../../native/model/adalora-settings';
import { buildLlamaGraph, loraAName, loraBName, type LoraSite } from '../../../../native/model/llama';
import { OnnxGraphSink } from '../../../../native/engine/onnx-export';
import { randomWeights, referenceLogits, referenceLoss, seededRandom } from './llama-reference';
import { TINY_CONFIGS } from './tiny-configs';
import { resolveTargets } from '../../../../native/model/lora';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, readPeftAdapter, writePeftAdapter } from '../../../../native/model/peft-io';
import { peftAdaLoraName } from '../../../../native/model/adalora-io';
import { openSafetensors, readTensorF32, writeSafetensors } from '../../../../native/model/safetensors';
import { makeTinyModel } from '../../../fixtures/tiny-model/index';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { mergeAdapter } from '../../../../native/model/merge';
import { KvDecoder, loadAdapterForDecoding, type DecoderSpec } from '../../../../native/model/generate';
import { storeWeightSources } from '../../../../native/model/weight-sources';

const P = (shape: number[], lo = -1, hi = 1, seed = 1): [number[], number[]] => [shape, values(shape.reduce((a, b) => a * b, 1), lo, hi, seed)];
const root = mkdtempSync(join(tmpdir(), 'adalora-'));

// ---- gradient checks ----------------------------------------------------------------------------------------------
const N = 3, IN = 4, OUT = 5, R = 3;
const MASK = values(N * IN, 0, 1, 11).map((u) => (u < 0.3 ? 0 : 1 / 0.7));

for (const dropout of [false, true]) {
  test(`AdaLoRA SVD delta${dropout ? ' with dropout' : ''} (float64): x, A, E and B gradients match central differences (≤ 1e-6)`, async () => {
    const { maxError, maxGrad } = await gradcheck({
      params: { x: P([N, IN]), A: P([R, IN], -1, 1, 2), E: P([R, 1], -1, 1, 5), B: P([OUT, R], -1, 1, 3) },
      build: (g, p) => {
        const xd = dropout ? g.op('Mul', [p.x, g.constant(MASK, [N, IN])]) : p.x;
        return svdDelta(g, xd, p.A, p.E, p.B, adaloraScaling(16, R));
      },
    });
    assert.ok(maxGrad > 0);
    assert.ok(maxError <= 1e-6, `max relative error ${maxError}`);
  });
}

test('AdaLoRA orthogonal regularization (float64, two modules): A and B gradients match central differences (≤ 1e-6)', async () => {
  const { maxError, maxGrad } = await gradcheck({
    params: { A1: P([R, IN], -1, 1, 2), B1: P([OUT, R], -1, 1, 3), A2: P([R, OUT], -1, 1, 6), B2: P([IN, R], -1, 1, 7) },
    build: (g, p) => orthRegularization(g, [{ A: p.A1, B: p.B1 }, { A: p.A2, B: p.B2 }], R, 0.5),
  });
  assert.ok(maxGrad > 0);
  assert.ok(maxError <= 1e-6, `max relative error ${maxError}`);
});

// ---- forward and loss against the float64 reference ----------------------------------------------------------------
const ids = [[1, 5, 9, 2, 7, 3], [4, 8, 6, 0, 0, 0]];
const mask = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]];
const labels = [[5, 9, 2, 7, 3, -100], [8, 6, -100, -100, -100, -100]];

/** ‖M − I‖_F of M = X Xᵀ (rows) or Xᵀ X (cols), X [rows, cols], in float64. */
function froFromEye(X: Float64Array, rows: number, cols: number, gram: 'rows' | 'cols'): number {
  const n = gram === 'rows' ? rows : cols;
  let sum = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let dot = 0;
    if (gram === 'rows') for (let k = 0; k < cols; k++) dot += X[i * cols + k] * X[j * cols + k];
    else for (let k = 0; k < rows; k++) dot += X[k * cols + i] * X[k * cols + j];
    const d = dot - (i === j ? 1 : 0);
    sum += d * d;
  }
  return Math.sqrt(sum);
}

for (const arch of ['llama', 'qwen2'] as const) {
  test(`AdaLoRA llama graph (${arch}, float64): logits = PEFT's x(A⊙E)ᵀBᵀ·α/(r+1e-5) reference and loss = CE + w·mean‖·−I‖_F to 1e-9`, async () => {
    const config = TINY_CONFIGS[arch];
    const w = randomWeights(config, 51);
    const r = 3, alpha = 6, orth = 0.5, rnd = seededRandom(52);
    const E = config.hidden_size, qOut = config.num_attention_heads * config.head_dim;
    const sites: LoraSite[] = [];
    for (let l = 0; l < config.num_hidden_layers; l++) {
      sites.push({ baseName: `model.layers.${l}.self_attn.q_proj`, in: E, out: qOut });
      sites.push({ baseName: `model.layers.${l}.mlp.down_proj`, in: config.intermediate_size, out: E });
    }
    const raw = new Map(sites.map((s) => [s.baseName, {
      A: Float64Array.from({ length: r * s.in }, () => rnd() * 0.5), B: Float64Array.from({ length: s.out * r }, () => rnd() * 0.5),
      E: Float64Array.from({ length: r }, (_, k) => (k === 1 ? 0 : rnd())), // one triplet masked, as the allocator leaves it
    }]));
    // PEFT's SVDLinear: result += (x @ (A * E).T @ B.T) * scaling / (ranknum + 1e-5), scaling = lora_alpha, ranknum = r.
    const folded = new Map([...raw].map(([name, t]) => [name, { A: t.A.map((v, i) => v * t.E[Math.floor(i / (t.A.length / r))]), B: t.B }]));
    const ref = { weights: folded, r, scaling: alpha / (r + 1e-5) };
    const run = async (mode: 'logits' | 'loss') => {
      const sink = new OnnxGraphSink('float64', (name) => ({ kind: 'data', data: w.get(name)! }));
      const params = buildLlamaGraph(sink, config, { batch: 2, length: 6, lora: { r, scaling: adaloraScaling(alpha, r), sites, dropout: 0, adalora: { orthRegWeight: orth } }, mode });
      assert.deepEqual(params.filter((n) => n.endsWith('.lora_E')), sites.map((s) => adaloraEName(s.baseName)));
      const session = await ort.InferenceSession.create(sink.toBytes(), { graphOptimizationLevel: 'basic' });
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.flat().map(BigInt)), [2, 6]),
        attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.flat().map(BigInt)), [2, 6]),
      };
      if (mode === 'loss') feeds.labels = new ort.Tensor('int64', BigInt64Array.from(labels.flat().map(BigInt)), [2, 6]);
      for (const s of sites) {
        const t = raw.get(s.baseName)!;
        feeds[loraAName(s.baseName)] = new ort.Tensor('float64', t.A, [r, s.in]);
        feeds[loraBName(s.baseName)] = new ort.Tensor('float64', t.B, [s.out, r]);
        feeds[adaloraEName(s.baseName)] = new ort.Tensor('float64', t.E, [r, 1]);
      }
      return session.run(feeds);
    };
    const logits = (await run('logits')).logits.data as Float64Array;
    const expected = referenceLogits(config, w, ids, mask, ref);
    let worst = 0;
    for (let b = 0; b < 2; b++) for (let t = 0; t < 6; t++) {
      if (mask[b][t] === 0) continue;
      for (let v = 0; v < config.vocab_size; v++) worst = Math.max(worst, Math.abs(logits[(b * 6 + t) * config.vocab_size + v] - expected[(b * 6 + t) * config.vocab_size + v]));
    }
    assert.ok(worst < 1e-9, `max |Δlogit| ${worst}`);
    // AdaLoraModel.forward: loss += orth_reg_weight · (Σ over every lora_A, lora_B of torch.norm(cov − I, 'fro')) / count.
    let regu = 0;
    for (const s of sites) {
      const t = raw.get(s.baseName)!;
      regu += froFromEye(t.A, r, s.in, 'rows') + froFromEye(t.B, s.out, r, 'cols');
    }
    const want = referenceLoss(expected, labels, config.vocab_size) + orth * (regu / (2 * sites.length));
    const got = ((await run('loss')).loss.data as Float64Array)[0];
    assert.ok(Math.abs(got - want) < 1e-9, `loss ${got} vs ${want}`);
  });
}

// ---- PEFT format ----------------------------------------------------------------------------------------------------
const targets = resolveTargets(TINY_CONFIGS.llama, ['q_proj', 'v_proj']);
const rnd32 = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed * 31.7 + i * 1.37) * 0.5));
const INIT_R = 4;
const settings: AdaLoraSettings = { init_r: INIT_R, target_r: 2, tinit: 1, tfinal: 2, deltaT: 1, beta1: 0.85, beta2: 0.85, orth_reg_weight: 0.5, total_step: 10 };
const svdWeights = () => new Map(targets.map((t, k) => [t.baseName, { A: rnd32(INIT_R * t.in, k + 1), B: rnd32(t.out * INIT_R, k + 20), E: rnd32(INIT_R, k + 40) }]));
const adapterOptions = { r: 8, lora_alpha: 8, lora_dropout: 0.05, use_rslora: false };

test('an AdaLoRA adapter is saved as PEFT saves it: peft_type ADALORA, lora_A/lora_B/lora_E without ".weight", resized by rank_pattern', () => {
  const w = svdWeights();
  const pattern = Object.fromEntries(targets.map((t, k) => [`${t.baseName}.lora_E`, [true, k % 2 === 0, false, true]]));
  const dir = join(root, 'format');
  writePeftAdapter(dir, { config: adapterOptions, baseModel: 'org/tiny', targets, weights: w, dtype: 'float32', adalora: { settings, rankPattern: pattern } });
  const json = JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG), 'utf8'));
  assert.equal(json.peft_type, 'ADALORA');
  for (const key of ['init_r', 'target_r', 'tinit', 'tfinal', 'deltaT', 'beta1', 'beta2', 'orth_reg_weight', 'total_step'] as const) assert.equal(json[key], settings[key], key);
  assert.deepEqual(json.rank_pattern, pattern);
  assert.equal(json.lora_alpha, 8);
  assert.equal('use_dora' in json, false, 'left out at its default (older PEFT refuses unknown keys)');
  const st = openSafetensors(join(dir, ADAPTER_WEIGHTS));
  const expected = targets.flatMap((t, k) => {
    const kept = k % 2 === 0 ? 3 : 2;
    return [[`base_model.model.${t.baseName}.lora_A`, [kept, t.in]], [`base_model.model.${t.baseName}.lora_B`, [t.out, kept]], [`base_model.model.${t.baseName}.lora_E`, [kept, 1]]];
  });
  assert.deepEqual([...st.entries.values()].map((e) => [e.name, e.shape]).sort(), expected.sort());
  // The kept triplets are the pattern's (PEFT's resize_state_dict_by_rank_pattern): rows of A and E, columns of B.
  const t = targets[1], src = w.get(t.baseName)!;
  const E = readTensorF32(st, `base_model.model.${t.baseName}.lora_E`);
  assert.deepEqual([...E], [src.E[0], src.E[3]]);
  const B = readTensorF32(st, `base_model.model.${t.baseName}.lora_B`);
  assert.equal(B[1], src.B[3]);
  // Without a pattern (no allocation yet), PEFT saves the full init_r tensors and rank_pattern null.
  const full = join(root, 'format-full');
  writePeftAdapter(full, { config: adapterOptions, baseModel: 'org/tiny', targets, weights: w, dtype: 'float32', adalora: { settings, rankPattern: null } });
  assert.equal(JSON.parse(readFileSync(join(full, ADAPTER_CONFIG), 'utf8')).rank_pattern, null);
  assert.deepEqual(openSafetensors(join(full, ADAPTER_WEIGHTS)).entries.get(`base_model.model.${t.baseName}.lora_A`)!.shape, [INIT_R, t.in]);
  // Read back as LoRA: A ⊙ E zero-padded to the largest kept rank, scaling α / (init_r + 1e-5).
  const back = readPeftAdapter(dir);
  assert.equal(back.r, 3);
  assert.equal(back.scaling, 8 / (INIT_R + 1e-5));
  const readA = back.weights.get(t.baseName)!.A;
  assert.equal(readA[t.in + 5], Math.fround(src.A[3 * t.in + 5] * src.E[3]));
  assert.ok(readA.subarray(2 * t.in).every((v) => v === 0));
});

// ---- an adapter built to PEFT's format: generate and merge ---------------------------------------------------------
test('a PEFT-format AdaLoRA adapter (rank_pattern, a fully pruned module) runs in generate\'s decoder as PEFT\'s formula, and merging it equals the unmerged forward', async () => {
  const opts = { architecture: 'Qwen2ForCausalLM' as const, layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, vocab: 600, tie: true, dtype: 'float32' as const, seed: 4, std: 0.3 };
  const modelDir = makeTinyModel(join(root, 'base'), opts).dir;
  const model = loadModelFolder(modelDir);
  const resolved = resolveTargets(model.config, ['q_proj', 'v_proj', 'down_proj']);
  const initR = 6, alpha = 12;
  // PEFT's save after allocation: kept counts vary per module, one module lost every triplet (r = 0 tensors).
  const kept = resolved.map((_, k) => (k === 2 ? 0 : 1 + (k % initR)));
  const rankPattern: Record<string, boolean[]> = {};
  const tensors = resolved.flatMap((t, k) => {
    const n = kept[k];
    rankPattern[`${t.baseName}.lora_E`] = Array.from({ length: initR }, (_, i) => i < n);
    return [
      { name: `${peftAdaLoraName(t.baseName, 'A')}`, dtype: 'F32' as const, shape: [n, t.in], data: rnd32(n * t.in, k + 1).map((v) => v * 0.5) },
      { name: `${peftAdaLoraName(t.baseName, 'B')}`, dtype: 'F32' as const, shape: [t.out, n], data: rnd32(t.out * n, k + 30).map((v) => v * 0.5) },
      { name: `${peftAdaLoraName(t.baseName, 'E')}`, dtype: 'F32' as const, shape: [n, 1], data: rnd32(n, k + 60) },
    ];
  });
  const adapterDir = join(root, 'peft-adalora');
  mkdirSync(adapterDir);
  writeSafetensors(join(adapterDir, ADAPTER_WEIGHTS), tensors, { format: 'pt' });
  // adapter_config.json as PEFT writes it for AdaLoraConfig(init_r=6, target_r=2, total_step=100, lora_alpha=12, ...).
  writeFileSync(join(adapterDir, ADAPTER_CONFIG), JSON.stringify({
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: modelDir, beta1: 0.85, beta2: 0.85, bias: 'none', deltaT: 1,
    fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, init_r: initR, layers_pattern: null, layers_to_transform: null,
    lora_alpha: alpha, lora_dropout: 0.1, modules_to_save: null, orth_reg_weight: 0.5, peft_type: 'ADALORA', r: 8, rank_pattern: rankPattern,
    revision: null, target_modules: ['q_proj', 'v_proj', 'down_proj'], target_r: 2, task_type: 'CAUSAL_LM', tfinal: 10, tinit: 20, total_step: 100,
    use_dora: false, use_rslora: false,
  }));
  const prompt = [3, 17, 250, 9, 41, 5, 77];
  const logits = async (folder: typeof model, adapter?: string) => {
    // The adapter as generate and Compare load it (PEFT files → the decoder's LoRA, DoRA or folded AdaLoRA).
    const spec: DecoderSpec = {
      config: folder.config, ...storeWeightSources(folder.weights, folder.dir), dtype: 'float32',
      lora: adapter ? loadAdapterForDecoding(adapter, folder.weights) : undefined,
    };
    const decoder = await KvDecoder.create(spec, prompt.length, prompt.length);
    try {
      return Float32Array.from(await decoder.prefill(prompt));
    } finally {
      await decoder.dispose();
    }
  };
  // PEFT's SVDLinear formula in float64, straight from the file's A, E, B and init_r.
  const w = new Map<string, Float64Array>();
  for (const name of model.weights.names()) w.set(name, Float64Array.from(readTensorF32(model.weights.entry(name)!.file, name)));
  const st = openSafetensors(join(adapterDir, ADAPTER_WEIGHTS));
  const refWeights = new Map(resolved.filter((_, k) => kept[k] > 0).map((t) => {
    const A = readTensorF32(st, peftAdaLoraName(t.baseName, 'A')), E = readTensorF32(st, peftAdaLoraName(t.baseName, 'E'));
    const B = readTensorF32(st, peftAdaLoraName(t.baseName, 'B')), n = E.length;
    // Padded to initR with zero triplets so one reference rank serves all modules.
    const Ap = new Float64Array(initR * t.in), Bp = new Float64Array(t.out * initR);
    for (let k = 0; k < n; k++) for (let i = 0; i < t.in; i++) Ap[k * t.in + i] = A[k * t.in + i] * E[k];
    for (let o = 0; o < t.out; o++) for (let k = 0; k < n; k++) Bp[o * initR + k] = B[o * n + k];
    return [t.baseName, { A: Ap, B: Bp }];
  }));
  const refAll = referenceLogits({ ...model.config }, w, [prompt], [prompt.map(() => 1)], { weights: refWeights, r: initR, scaling: alpha / (initR + 1e-5) });
  const last = refAll.subarray((prompt.length - 1) * model.config.vocab_size);
  const unmerged = await logits(model, adapterDir);
  let worstRef = 0;
  for (let i = 0; i < unmerged.length; i++) worstRef = Math.max(worstRef, Math.abs(unmerged[i] - last[i]));
  assert.ok(worstRef < 1e-3, `max |Δlogit| decoder vs PEFT formula ${worstRef}`);

  const outDir = join(root, 'merged');
  await mergeAdapter({ modelDir, adapterDir, outDir });
  const mergedLogits = await logits(loadModelFolder(outDir));
  const plain = await logits(model);
  let worst = 0, moved = 0;
  for (let i = 0; i < unmerged.length; i++) {
    worst = Math.max(worst, Math.abs(unmerged[i] - mergedLogits[i]));
    moved = Math.max(moved, Math.abs(unmerged[i] - plain[i]));
  }
  assert.ok(moved > 0.05, `the adapter must change the logits (max change ${moved})`);
  assert.ok(worst < 1e-4, `max |Δlogit| merged vs unmerged ${worst}`);
});
