// Tests native/model/linalg.ts, native/model/svd-init.ts and native/model/base-delta.ts: QR as torch.linalg.qr, the
// top-k SVD against matrices built from known singular vectors (exact and randomized), PiSSA and OLoRA as PEFT's
// formulas, and the Llama graph with the frozen base term against the float64 reference: at step 0 the residual base
// plus the PiSSA adapter is the base model, and the converted rank-2r adapter on the original base is the trained model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { householderQr, truncatedSvd } from '../../../../native/model/linalg';
import { oloraInit, parseLoraInit, pissaInit } from '../../../../native/model/svd-init';
import { alphaForRank, baseDeltaAName, baseDeltaBName, concatLowRank } from '../../../../native/model/base-delta';
import { buildLlamaGraph, loraAName, loraBName, type LoraSite } from '../../../../native/model/llama';
import { OnnxGraphSink } from '../../../../native/engine/onnx-export';
import { randomWeights, referenceLogits, seededRandom, type RefLora, type RefWeights } from './llama-reference';
import { TINY_CONFIGS } from './tiny-configs';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

/** A [m, n] = Q₁ diag(s) Q₂ᵀ with random orthonormal Q₁ [m, k], Q₂ [n, k] (k = s.length). */
function withSpectrum(m: number, n: number, s: number[], seed: number): { W: Float64Array; U: Float64Array; V: Float64Array } {
  const rnd = seededRandom(seed), k = s.length;
  const U = householderQr(Float64Array.from({ length: m * k }, rnd), m, k).Q;
  const V = householderQr(Float64Array.from({ length: n * k }, rnd), n, k).Q;
  const W = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let l = 0; l < k; l++) sum += U[i * k + l] * s[l] * V[j * k + l];
    W[i * n + j] = sum;
  }
  return { W, U, V };
}

test('householderQr equals torch.linalg.qr (LAPACK signs) on [[1,2],[3,4]] and reconstructs a tall matrix', () => {
  const { Q, R } = householderQr([1, 2, 3, 4], 2, 2);
  // torch.linalg.qr(torch.tensor([[1.,2.],[3.,4.]], dtype=torch.float64))
  [-0.31622776601683794, -0.9486832980505138, -0.9486832980505138, 0.31622776601683794].forEach((v, i) => close(Q[i], v, 1e-15, `Q[${i}]`));
  [-3.1622776601683795, -4.427188724235731, 0, -0.6324555320336757].forEach((v, i) => close(R[i], v, 1e-14, `R[${i}]`));
  const rnd = seededRandom(5), m = 9, n = 6;
  const M = Float64Array.from({ length: m * n }, rnd);
  const qr = householderQr(M, m, n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let l = 0; l < n; l++) sum += qr.Q[i * n + l] * qr.R[l * n + j];
    close(sum, M[i * n + j], 1e-14, `QR[${i},${j}]`);
  }
});

test('truncatedSvd (exact) finds the top-k singular triplets of a matrix with a known spectrum to 1e-10', () => {
  const spectrum = Array.from({ length: 20 }, (_, i) => 10 * 0.85 ** i);
  for (const [m, n] of [[48, 30], [30, 48]]) {
    const { W, U, V } = withSpectrum(m, n, spectrum, 7);
    const k = 4, svd = truncatedSvd(W, m, n, k, { seed: 1 });
    assert.ok(svd.converged, `converged after ${svd.iterations}`);
    for (let j = 0; j < k; j++) {
      close(svd.S[j], spectrum[j], 1e-10, `σ${j}`);
      let du = 0, dv = 0;
      for (let i = 0; i < m; i++) du += svd.U[i * k + j] * U[i * 20 + j];
      for (let i = 0; i < n; i++) dv += svd.V[i * k + j] * V[i * 20 + j];
      close(Math.abs(du), 1, 1e-9, `|u${j}·u|`);
      close(du * dv, 1, 1e-9, `u${j}, v${j} signs agree`);
    }
  }
});

test('truncatedSvd with niter (torch.svd_lowrank, q = k) recovers a gapped spectrum after a few power iterations', () => {
  const spectrum = [9, 8, 7, 6, ...Array.from({ length: 12 }, (_, i) => 0.5 * 0.9 ** i)];
  const { W } = withSpectrum(40, 64, spectrum, 11);
  const k = 4;
  const rough = truncatedSvd(W, 40, 64, k, { seed: 3, niter: 0 });
  const fine = truncatedSvd(W, 40, 64, k, { seed: 3, niter: 4 });
  assert.equal(fine.iterations, 4);
  const error = (s: Float64Array) => Math.max(...spectrum.slice(0, k).map((v, j) => Math.abs(s[j] - v)));
  assert.ok(error(fine.S) < 1e-6, `niter 4: ${error(fine.S)}`);
  assert.ok(error(fine.S) < error(rough.S), 'power iterations improve the estimate');
});

test('parseLoraInit reads PEFT init_lora_weights values', () => {
  assert.deepEqual(parseLoraInit(undefined), { kind: 'default' });
  assert.deepEqual(parseLoraInit(true), { kind: 'default' });
  assert.deepEqual(parseLoraInit('pissa'), { kind: 'pissa' });
  assert.deepEqual(parseLoraInit('pissa_niter_16'), { kind: 'pissa', niter: 16 });
  assert.deepEqual(parseLoraInit('olora'), { kind: 'olora' });
  for (const bad of ['gaussian', 'pissa_niter_', false, 'PISSA']) assert.equal(parseLoraInit(bad), undefined);
});

test('pissaInit is PEFT pissa_init: A = diag(√(S/s))·Uᵀ_r, B = V_r·diag(√(S/s)), s·B·A the best rank-r approximation', () => {
  const spectrum = Array.from({ length: 12 }, (_, i) => 5 * 0.7 ** i);
  const out = 24, inF = 16, r = 3, scaling = 2;
  const { W, U, V } = withSpectrum(out, inF, spectrum, 13);
  const { A, B } = pissaInit(W, out, inF, r, scaling, { seed: 1 });
  for (let j = 0; j < r; j++) {
    // Row j of A is √(σ/s)·vⱼ and column j of B is √(σ/s)·uⱼ (the pair's common sign is free).
    const root = Math.sqrt(spectrum[j] / scaling);
    let dot = 0;
    for (let i = 0; i < inF; i++) dot += A[j * inF + i] * V[i * 12 + j];
    close(Math.abs(dot), root, 1e-6, `A row ${j}`);
    let normB = 0;
    for (let o = 0; o < out; o++) normB += B[o * r + j] ** 2;
    close(Math.sqrt(normB), root, 1e-6, `B column ${j}`);
  }
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) {
    let sBA = 0, best = 0;
    for (let j = 0; j < r; j++) {
      sBA += scaling * B[o * r + j] * A[j * inF + i];
      best += U[o * 12 + j] * spectrum[j] * V[i * 12 + j];
    }
    close(sBA, best, 1e-6, `s·B·A[${o},${i}]`);
  }
});

test('oloraInit is PEFT olora_init: B = Q[:, :r], A = R[:r] of torch.linalg.qr(W)', () => {
  const rnd = seededRandom(17), out = 10, inF = 7, r = 3;
  const W = Float64Array.from({ length: out * inF }, rnd);
  const full = householderQr(W, out, inF);
  const { A, B } = oloraInit(W, out, inF, r);
  for (let o = 0; o < out; o++) for (let j = 0; j < r; j++) close(B[o * r + j], full.Q[o * full.k + j], 1e-6, `B[${o},${j}]`);
  for (let j = 0; j < r; j++) for (let i = 0; i < inF; i++) close(A[j * inF + i], full.R[j * inF + i], 1e-6, `A[${j},${i}]`);
});

test('concatLowRank and alphaForRank: [A; A₀], [B, −B₀] sum the products at the same scaling (PEFT: r → 2r, alpha → 2α or √2·α)', () => {
  const first = { A: Float32Array.of(1, 2, 3, 4), B: Float32Array.of(5, 6), rank: 1 }; // A [1, 4], B [2, 1]
  const second = { A: Float32Array.of(7, 8, 9, 10, 11, 12, 13, 14), B: Float32Array.of(1, 2, 3, 4), rank: 2 }; // A [2, 4], B [2, 2]
  const joined = concatLowRank(first, second, 4, 2);
  assert.deepEqual([...joined.A], [1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13, 14]);
  assert.deepEqual([...joined.B], [5, 1, 2, 6, 3, 4]);
  assert.equal(alphaForRank(16, 8, 16, false), 32);
  assert.equal(alphaForRank(16, 8, 16, true), 16 * 2 ** 0.5);
  assert.equal(alphaForRank(16, 8, 32, false), 64);
});

// ---- the graph's frozen base term against the float64 reference ----------------------------------------------------
const ids = [[1, 5, 9, 2, 7, 3], [4, 8, 6, 0, 0, 0]];
const mask = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]];

async function graphLogits(config: typeof TINY_CONFIGS.qwen2, w: RefWeights, sites: LoraSite[], r: number, scaling: number,
  lora: Map<string, { A: Float64Array; B: Float64Array }>, delta?: { rank: number; weights: Map<string, { A: Float64Array; B: Float64Array }> }): Promise<Float64Array> {
  const sink = new OnnxGraphSink('float64', (name) => ({ kind: 'data', data: w.get(name)! }));
  buildLlamaGraph(sink, config, { batch: 2, length: 6, lora: { r, scaling, sites, dropout: 0, baseDeltaRank: delta?.rank ?? 0 }, mode: 'logits' });
  const session = await ort.InferenceSession.create(sink.toBytes(), { graphOptimizationLevel: 'basic' });
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.flat().map(BigInt)), [2, 6]),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.flat().map(BigInt)), [2, 6]),
  };
  for (const s of sites) {
    feeds[loraAName(s.baseName)] = new ort.Tensor('float64', lora.get(s.baseName)!.A, [r, s.in]);
    feeds[loraBName(s.baseName)] = new ort.Tensor('float64', lora.get(s.baseName)!.B, [s.out, r]);
    if (delta) {
      feeds[baseDeltaAName(s.baseName)] = new ort.Tensor('float64', delta.weights.get(s.baseName)!.A, [delta.rank, s.in]);
      feeds[baseDeltaBName(s.baseName)] = new ort.Tensor('float64', delta.weights.get(s.baseName)!.B, [s.out, delta.rank]);
    }
  }
  return (await session.run(feeds)).logits.data as Float64Array;
}

function worstValid(a: Float64Array, b: Float64Array, vocab: number): number {
  let worst = 0;
  for (let b0 = 0; b0 < 2; b0++) for (let t = 0; t < 6; t++) {
    if (mask[b0][t] === 0) continue;
    for (let v = 0; v < vocab; v++) worst = Math.max(worst, Math.abs(a[(b0 * 6 + t) * vocab + v] - b[(b0 * 6 + t) * vocab + v]));
  }
  return worst;
}

for (const arch of ['llama', 'qwen2'] as const) {
  test(`PiSSA in the llama graph (${arch}, float64): residual + PiSSA start = base model; trained = converted rank-2r adapter on the original base (1e-9)`, async () => {
    const config = TINY_CONFIGS[arch];
    const w = randomWeights(config, 41);
    const E = config.hidden_size, qOut = config.num_attention_heads * config.head_dim;
    const sites: LoraSite[] = [];
    for (let l = 0; l < config.num_hidden_layers; l++) {
      sites.push({ baseName: `model.layers.${l}.self_attn.q_proj`, in: E, out: qOut });
      sites.push({ baseName: `model.layers.${l}.mlp.down_proj`, in: config.intermediate_size, out: E });
    }
    const r = 2, scaling = 1.5;
    const start = new Map(sites.map((s) => {
      const { A, B } = pissaInit(w.get(`${s.baseName}.weight`)!, s.out, s.in, r, scaling, { seed: 1, niter: 2 });
      return [s.baseName, { A: Float64Array.from(A), B: Float64Array.from(B) }];
    }));
    const residual = { rank: r, weights: new Map([...start].map(([n, ab]) => [n, { A: ab.A, B: ab.B.map((x) => -x) }])) };
    const base = referenceLogits(config, w, ids, mask);
    const atStart = await graphLogits(config, w, sites, r, scaling, start, residual);
    const startGap = worstValid(atStart, base, config.vocab_size);
    assert.ok(startGap < 1e-9, `step 0 vs base model: ${startGap}`);

    // "Trained": A, B moved; the converted adapter [A; A₀], [B, −B₀] at the same scaling on the original weights.
    const rnd = seededRandom(43);
    const trained = new Map([...start].map(([n, ab]) => [n, { A: ab.A.map((x) => x + 0.3 * rnd()), B: ab.B.map((x) => x + 0.3 * rnd()) }]));
    const trainedLogits = await graphLogits(config, w, sites, r, scaling, trained, residual);
    const converted: RefLora = {
      r: 2 * r, scaling, weights: new Map(sites.map((s) => {
        const joined = concatLowRank(
          { A: Float32Array.from(trained.get(s.baseName)!.A), B: Float32Array.from(trained.get(s.baseName)!.B), rank: r },
          { A: Float32Array.from(residual.weights.get(s.baseName)!.A), B: Float32Array.from(residual.weights.get(s.baseName)!.B), rank: r }, s.in, s.out);
        return [s.baseName, { A: Float64Array.from(joined.A), B: Float64Array.from(joined.B) }];
      })),
    };
    // The float32 round trip of concatLowRank is the saved adapter's; compare against the graph fed the same values.
    const sameValues = new Map([...trained].map(([n, ab]) => [n, { A: Float64Array.from(Float32Array.from(ab.A)), B: Float64Array.from(Float32Array.from(ab.B)) }]));
    const residual32 = { rank: r, weights: new Map([...residual.weights].map(([n, ab]) => [n, { A: Float64Array.from(Float32Array.from(ab.A)), B: Float64Array.from(Float32Array.from(ab.B)) }])) };
    const graph32 = await graphLogits(config, w, sites, r, scaling, sameValues, residual32);
    const gap = worstValid(graph32, referenceLogits(config, w, ids, mask, converted), config.vocab_size);
    assert.ok(gap < 1e-9, `trained vs converted adapter on the original base: ${gap}`);
    assert.ok(worstValid(trainedLogits, base, config.vocab_size) > 1e-3, 'training moved the model');
  });
}
