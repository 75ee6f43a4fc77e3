// K AdamW steps in one run() through an ONNX Loop equal K single-step runs exactly (float64, CPU provider).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { OnnxGraphSink } from '../../../../native/engine/onnx-export';
import { emitAdamw } from '../../../../native/engine/optim/adamw';
import { wrapKSteps } from '../../../../native/engine/k-steps';

const SHAPES: Record<string, number[]> = { A: [2, 3], B: [3] };
const names = Object.keys(SHAPES);
const size = (n: string) => SHAPES[n].reduce((a, b) => a * b, 1);

/** One step: the "gradient" is a fed per-step tensor plus a term of the params (so state really flows), then AdamW. */
function stepModel(): Uint8Array {
  const g = new OnnxGraphSink('float64', (name) => ({ kind: 'data', data: Float64Array.from({ length: 1 }, () => name.length * 0.1) }));
  const shared = g.weight('shared', [1]);
  const slots = names.map((n) => {
    const param = g.param(n, SHAPES[n]);
    const grad = g.op('Add', [g.op('Mul', [param, shared]), g.input(`data.${n}`, 'float', SHAPES[n])]);
    return { param, grad, m: g.input(`m.${n}`, 'float', SHAPES[n]), v: g.input(`v.${n}`, 'float', SHAPES[n]), lrScale: n === 'B' ? 4 : 1 };
  });
  const out = emitAdamw(g, slots, g.input('lr', 'float', []), g.input('step', 'float', []), { weightDecay: 0.1, maxGradNorm: 1 });
  names.forEach((n, k) => {
    g.output(`new.${n}`, out.params[k]);
    g.output(`new.m.${n}`, out.m[k]);
    g.output(`new.v.${n}`, out.v[k]);
  });
  g.output('grad_norm', out.gradNorm);
  return g.toBytes();
}

const STATE = names.flatMap((n): [string, string][] => [[n, `new.${n}`], [`m.${n}`, `new.m.${n}`], [`v.${n}`, `new.v.${n}`]]);
const t64 = (data: ArrayLike<number>, dims: number[]) => new ort.Tensor('float64', Float64Array.from(data), dims);

test('K=3 steps in one Loop run equal 3 single-step runs exactly (state, moments and per-step grad norms)', async () => {
  const K = 3;
  const single = await ort.InferenceSession.create(stepModel(), { executionProviders: ['cpu'] });
  const looped = await ort.InferenceSession.create(wrapKSteps(stepModel(), { k: K, state: STATE, perStep: [...names.map((n) => `data.${n}`), 'lr', 'step'] }), { executionProviders: ['cpu'] });
  const data = (n: string, t: number) => Array.from({ length: size(n) }, (_, i) => Math.sin(i * 1.7 + t * 0.9 + n.length) * 2);
  const lr = (t: number) => 0.05 / t;

  let state: Record<string, ort.Tensor> = {};
  for (const n of names) {
    state[n] = t64(Array.from({ length: size(n) }, (_, i) => Math.cos(i + n.length)), SHAPES[n]);
    state[`m.${n}`] = t64(new Array(size(n)).fill(0), SHAPES[n]);
    state[`v.${n}`] = t64(new Array(size(n)).fill(0), SHAPES[n]);
  }
  const initial = state;
  const norms: number[] = [];
  for (let t = 1; t <= K; t++) {
    const out = await single.run({ ...state, ...Object.fromEntries(names.map((n) => [`data.${n}`, t64(data(n, t), SHAPES[n])])), lr: t64([lr(t)], []), step: t64([t], []) });
    state = Object.fromEntries(STATE.map(([i, o]) => [i, out[o]]));
    norms.push(out.grad_norm.data[0] as number);
  }
  const steps = Array.from({ length: K }, (_, i) => i + 1);
  const out = await looped.run({
    ...initial,
    ...Object.fromEntries(names.map((n) => [`data.${n}`, t64(steps.flatMap((t) => data(n, t)), [K, ...SHAPES[n]])])),
    lr: t64(steps.map(lr), [K]), step: t64(steps, [K]),
  });
  for (const [i, o] of STATE) assert.deepEqual(Array.from(out[o].data as Float64Array), Array.from(state[i].data as Float64Array), `${o} after ${K} steps`);
  assert.deepEqual(Array.from(out.grad_norm.data as Float64Array), norms);
  assert.ok(norms[0] > 1, 'clipping is active, so the check covers it');
  // The state really moved (an identity Loop would fail above): A differs from its initial value.
  assert.notDeepEqual(Array.from(out['new.A'].data as Float64Array), Array.from(initial.A.data as Float64Array));
  await single.release();
  await looped.release();
});

test('wrapKSteps names a missing state or per-step input', () => {
  assert.throws(() => wrapKSteps(stepModel(), { k: 2, state: [['nope', 'new.A']], perStep: [] }), /no input "nope"/);
  assert.throws(() => wrapKSteps(stepModel(), { k: 2, state: [['A', 'nope']], perStep: [] }), /no output "nope"/);
});
