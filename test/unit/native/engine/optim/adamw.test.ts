// In-graph AdamW (float64, CPU provider) against a hand-written float64 AdamW + clip_grad_norm_ reference, step for
// step over 10 steps with weight decay, clipping that triggers, and a LoRA+ style lr multiplier on one tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { OnnxGraphSink } from '../../../../../native/engine/onnx-export';
import { emitAdamw, type AdamwOptions } from '../../../../../native/engine/optim/adamw';
import { auditForCuda, type AuditedNode } from '../../../../../native/engine/cuda-kernels';

const SHAPES: Record<string, number[]> = { A: [2, 3], B: [3] };
const SCALES: Record<string, number> = { A: 1, B: 4 };

/** The reference: PyTorch's clip_grad_norm_ then AdamW, written out element by element. */
function referenceStep(p: Record<string, number[]>, grads: Record<string, number[]>, m: Record<string, number[]>, v: Record<string, number[]>, lr: number, t: number, o: AdamwOptions) {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  let sq = 0;
  for (const name of Object.keys(p)) for (const x of grads[name]) sq += x * x;
  const norm = Math.sqrt(sq);
  const coef = o.maxGradNorm ? Math.min(1, o.maxGradNorm / (norm + 1e-6)) : 1;
  for (const name of Object.keys(p)) {
    const slr = lr * SCALES[name];
    for (let i = 0; i < p[name].length; i++) {
      const gi = grads[name][i] * coef;
      p[name][i] *= 1 - slr * o.weightDecay;
      m[name][i] = b1 * m[name][i] + (1 - b1) * gi;
      v[name][i] = b2 * v[name][i] + (1 - b2) * gi * gi;
      const mHat = m[name][i] / (1 - b1 ** t), vHat = v[name][i] / (1 - b2 ** t);
      p[name][i] -= slr * mHat / (Math.sqrt(vHat) + eps);
    }
  }
  return norm;
}

/** A deterministic gradient that depends on the parameters and the step, like a real one. */
const gradOf = (p: number[], t: number, k: number) => p.map((x, i) => 2 * x + Math.sin(1.3 * i + t + k) * (1 + t / 3));

async function runBoth(o: AdamwOptions) {
  const sink = new OnnxGraphSink('float64', () => {
    throw new Error('no weights');
  });
  const names = Object.keys(SHAPES);
  const slots = names.map((name) => ({
    param: sink.param(name, SHAPES[name]),
    grad: sink.input(`grad.${name}`, 'float', SHAPES[name]),
    m: sink.input(`m.${name}`, 'float', SHAPES[name]),
    v: sink.input(`v.${name}`, 'float', SHAPES[name]),
    lrScale: SCALES[name],
  }));
  const out = emitAdamw(sink, slots, sink.input('lr', 'float', []), sink.input('step', 'float', []), o);
  names.forEach((name, k) => {
    sink.output(`new.${name}`, out.params[k]);
    sink.output(`new.m.${name}`, out.m[k]);
    sink.output(`new.v.${name}`, out.v[k]);
  });
  sink.output('grad_norm', out.gradNorm);
  const session = await ort.InferenceSession.create(sink.toBytes(), { executionProviders: ['cpu'] });

  const init = (name: string, k: number) => Array.from({ length: SHAPES[name].reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(i + k) * 0.7);
  const ours = Object.fromEntries(names.map((n, k) => [n, init(n, k)]));
  const oursM = Object.fromEntries(names.map((n) => [n, ours[n].map(() => 0)]));
  const oursV = Object.fromEntries(names.map((n) => [n, ours[n].map(() => 0)]));
  const ref = structuredClone(ours), refM = structuredClone(oursM), refV = structuredClone(oursV);
  const tensor = (data: number[], dims: number[]) => new ort.Tensor('float64', Float64Array.from(data), dims);
  let worst = 0, clipped = 0;
  for (let t = 1; t <= 10; t++) {
    const lr = 0.05 * (1 - t / 20);
    const grads = Object.fromEntries(names.map((n, k) => [n, gradOf(ours[n], t, k)]));
    const feeds: Record<string, ort.Tensor> = { lr: tensor([lr], []), step: tensor([t], []) };
    for (const n of names) {
      feeds[n] = tensor(ours[n], SHAPES[n]);
      feeds[`grad.${n}`] = tensor(grads[n], SHAPES[n]);
      feeds[`m.${n}`] = tensor(oursM[n], SHAPES[n]);
      feeds[`v.${n}`] = tensor(oursV[n], SHAPES[n]);
    }
    const result = await session.run(feeds);
    const refGrads = Object.fromEntries(names.map((n, k) => [n, gradOf(ref[n], t, k)]));
    const norm = referenceStep(ref, refGrads, refM, refV, lr, t, o);
    if (o.maxGradNorm && norm > o.maxGradNorm) clipped++;
    assert.ok(Math.abs((result.grad_norm.data[0] as number) - norm) <= 1e-12 * norm, `step ${t}: grad norm`);
    for (const n of names) {
      ours[n] = Array.from(result[`new.${n}`].data as Float64Array);
      oursM[n] = Array.from(result[`new.m.${n}`].data as Float64Array);
      oursV[n] = Array.from(result[`new.v.${n}`].data as Float64Array);
      ours[n].forEach((x, i) => (worst = Math.max(worst, Math.abs(x - ref[n][i]) / Math.max(1e-3, Math.abs(ref[n][i])))));
    }
  }
  await session.release();
  return { worst, clipped, final: ours };
}

test('AdamW in the graph matches the float64 reference step for step (decay, clipping, lr multiplier)', async () => {
  const { worst, clipped } = await runBoth({ weightDecay: 0.1, maxGradNorm: 1.0 });
  assert.ok(clipped >= 5, `clipping must trigger in most steps to be tested, triggered in ${clipped}`);
  assert.ok(worst <= 1e-10, `max relative difference ${worst}`);
});

test('AdamW without clipping or decay also matches, and clipping changes the result (so the check can fail)', async () => {
  const plain = await runBoth({ weightDecay: 0 });
  assert.ok(plain.worst <= 1e-10, `max relative difference ${plain.worst}`);
  const clippedRun = await runBoth({ weightDecay: 0, maxGradNorm: 0.5 });
  const diff = Math.max(...plain.final.A.map((x, i) => Math.abs(x - clippedRun.final.A[i])));
  assert.ok(diff > 1e-3, `clipping should move the parameters, differed by ${diff}`);
});

test('the float32 AdamW graph uses only ops with CUDA kernels at opset 17 (no CPU fallback on the GPU)', () => {
  const sink = new OnnxGraphSink('float32', () => {
    throw new Error('no weights');
  });
  const slot = (n: string) => ({ param: sink.param(n, [4]), grad: sink.input(`g.${n}`, 'float', [4]), m: sink.input(`m.${n}`, 'float', [4]), v: sink.input(`v.${n}`, 'float', [4]), lrScale: 2 });
  emitAdamw(sink, [slot('a'), slot('b')], sink.input('lr', 'float', []), sink.input('step', 'float', []), { weightDecay: 0.01, maxGradNorm: 1 });
  assert.ok(sink.nodeList.length > 20);
  assert.deepEqual(auditForCuda(sink.nodeList as AuditedNode[]), []);
});
