// native/engine/random.ts: in-graph draws equal the BigInt reference bit for bit (float32 and float64 graphs, several
// seeds, streams and shapes), depend on (seed, stream) only, pass basic statistics over 2^20 draws, make exact
// inverted-dropout masks, use only ops with CUDA kernels, and go through the tape with static shapes and no gradient.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { OnnxGraphSink, type ComputeDtype } from '../../../../native/engine/onnx-export';
import { createSession } from '../../../../native/engine/session';
import { TapeSink } from '../../../../native/engine/tape';
import { gradients } from '../../../../native/engine/autodiff';
import { auditForCuda, type AuditedNode } from '../../../../native/engine/cuda-kernels';
import { dropoutMask, emitUniform, uniformReference } from '../../../../native/engine/random';

type Outputs = Record<string, Float32Array | Float64Array>;
const noWeights = (): never => {
  throw new Error('no weights');
};
const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** A graph with an int64 scalar input 'seed' and the outputs `build` makes; returns seed → output data (and dims). */
async function compile(dtype: ComputeDtype, build: (g: OnnxGraphSink, seed: string) => Record<string, string>) {
  const g = new OnnxGraphSink(dtype, noWeights);
  const seed = g.input('seed', 'int64', []);
  for (const [name, value] of Object.entries(build(g, seed))) g.output(name, value);
  const session = await createSession({ bytes: g.toBytes() }, { dtype });
  const run = async (s: number | bigint) => {
    const result = await session.run({ seed: new ort.Tensor('int64', BigInt64Array.from([BigInt(s)]), []) });
    const data: Outputs = {}, dims: Record<string, readonly number[]> = {};
    for (const [name, t] of Object.entries(result)) [data[name], dims[name]] = [t.data as Float32Array | Float64Array, t.dims];
    return { data, dims };
  };
  return { run, release: () => session.release() };
}

function mean(x: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i];
  return sum / x.length;
}

/** Pearson correlation of the first n elements of x and y. */
function corr(x: ArrayLike<number>, y: ArrayLike<number>, n = x.length): number {
  let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i];
    sy += y[i];
    sxx += x[i] * x[i];
    syy += y[i] * y[i];
    sxy += x[i] * y[i];
  }
  return (sxy / n - (sx / n) * (sy / n)) / Math.sqrt((sxx / n - (sx / n) ** 2) * (syy / n - (sy / n) ** 2));
}

const CASES: { shape: number[]; stream: number }[] = [
  { shape: [7], stream: 0 }, { shape: [4, 5], stream: 3 }, { shape: [3, 4, 37], stream: 17 }, { shape: [], stream: 1 },
  { shape: [64, 896], stream: 1000 }, { shape: [2, 1, 3], stream: 2 ** 30 - 1 },
];
const SEEDS = [0n, 1n, 123456789n, 2n ** 40n + 5n, 2n ** 63n - 1n];

for (const dtype of ['float32', 'float64'] as const) {
  test(`${dtype}: the graph's draws equal uniformReference exactly for every seed, stream and shape`, async () => {
    const graph = await compile(dtype, (g, seed) => Object.fromEntries(CASES.map((c, k) => [`u${k}`, emitUniform(g, seed, c.shape, c.stream)])));
    for (const seed of SEEDS) {
      const { data, dims } = await graph.run(seed);
      CASES.forEach((c, k) => {
        assert.deepEqual(dims[`u${k}`], c.shape);
        const ref = uniformReference(seed, numel(c.shape), c.stream);
        const bad = ref.findIndex((r, i) => data[`u${k}`][i] !== r);
        assert.equal(bad, -1, `seed ${seed}, shape [${c.shape}], stream ${c.stream}: element ${bad} is ${data[`u${k}`][bad]}, reference ${ref[bad]}`);
        assert.ok(ref.every((r) => r >= 0 && r < 1 && Number.isInteger(r * 2 ** 24)));
      });
    }
    await graph.release();
  });
}

test('the same seed gives the same draws, also from a graph built again (a resumed run); another seed or stream does not', async () => {
  const build = (g: OnnxGraphSink, seed: string) => ({ a: emitUniform(g, seed, [64, 896], 5), b: emitUniform(g, seed, [64, 896], 6) });
  const [first, rebuilt] = [await compile('float32', build), await compile('float32', build)];
  const x = (await first.run(42)).data;
  assert.deepEqual((await first.run(42)).data, x);
  assert.deepEqual((await rebuilt.run(42)).data, x);
  const y = (await first.run(43)).data;
  const equal = (p: ArrayLike<number>, q: ArrayLike<number>) => Array.from(p).filter((v, i) => v === q[i]).length;
  assert.ok(equal(x.a, y.a) < 5, `seeds 42 and 43 share ${equal(x.a, y.a)} of ${x.a.length} draws`);
  assert.ok(equal(x.a, x.b) < 5, `streams 5 and 6 share ${equal(x.a, x.b)} of ${x.a.length} draws`);
  await Promise.all([first.release(), rebuilt.release()]);
});

test('2^20 draws: mean, fractions below p, chi-square, and no correlation along the index, across streams or seeds', async () => {
  const [rows, cols] = [1024, 1024];
  const graph = await compile('float32', (g, seed) => ({ a: emitUniform(g, seed, [rows, cols], 5), b: emitUniform(g, seed, [rows, cols], 6) }));
  const { a, b } = (await graph.run(2024)).data;
  const next = (await graph.run(2025)).data.a;
  await graph.release();
  const n = a.length;
  assert.ok(Math.abs(mean(a) - 0.5) < 0.002, `mean ${mean(a)}`);
  for (const p of [0.05, 0.1, 0.5]) {
    const below = a.filter((v) => v < p).length / n;
    assert.ok(Math.abs(below - p) < 0.002, `fraction below ${p}: ${below}`);
  }
  const bins = new Array<number>(256).fill(0);
  for (const v of a) bins[Math.floor(v * 256)]++;
  const chi2 = bins.reduce((s, c) => s + (c - n / 256) ** 2 / (n / 256), 0);
  assert.ok(chi2 < 400, `chi-square over 256 bins ${chi2} (255 degrees of freedom: mean 255, sd 22.6)`);
  const rho = {
    'lag 1': corr(a, a.subarray(1), n - 1), 'lag one row': corr(a, a.subarray(cols), n - cols),
    'streams 5 and 6': corr(a, b), 'seeds 2024 and 2025': corr(a, next),
  };
  for (const [what, r] of Object.entries(rho)) assert.ok(Math.abs(r) < 0.005, `correlation ${what}: ${r}`);
});

test('dropout masks are exactly 0 (u < p) or 1/(1 − p) in the compute dtype, with mean ≈ 1', async () => {
  const ps = [0, 0.1, 0.5];
  const shape = [1024, 1024];
  const graph = await compile('float32', (g, seed) => Object.fromEntries(ps.map((p, k) => [`m${k}`, dropoutMask(g, seed, shape, 9, p)])));
  const { data } = await graph.run(7);
  await graph.release();
  const u = uniformReference(7, numel(shape), 9);
  ps.forEach((p, k) => {
    const mask = data[`m${k}`], keep = Math.fround(1 / (1 - p));
    const bad = mask.findIndex((m, i) => m !== (u[i] < Math.fround(p) ? 0 : keep));
    assert.equal(bad, -1, `p = ${p}: element ${bad} is ${mask[bad]}`);
    assert.ok(Math.abs(mean(mask) - 1) < 0.005, `p = ${p}: mask mean ${mean(mask)}`);
    assert.ok(Math.abs(mask.filter((m) => m === 0).length / mask.length - p) < 0.002);
  });
  const g = new OnnxGraphSink('float32', noWeights);
  assert.throws(() => dropoutMask(g, g.input('seed', 'int64', []), [2], 0, 1), /\[0, 1\)/);
});

test('every node emitUniform and dropoutMask emit has a CUDA kernel at opset 17 (int64 arithmetic, Range, float compare)', () => {
  const g = new OnnxGraphSink('float32', noWeights);
  const seed = g.input('seed', 'int64', []);
  for (const shape of [[1024, 4864], [3, 4, 5], []]) g.output(`m${shape.length}`, dropoutMask(g, seed, shape, shape.length, 0.1));
  assert.deepEqual(auditForCuda(g.nodeList as AuditedNode[]), []);
  assert.deepEqual([...new Set(g.nodeList.map((n) => n.op))].sort(), ['Add', 'Cast', 'Div', 'Less', 'Mul', 'Range', 'Reshape', 'Sub', 'Where']);
});

test('through a TapeSink: static shapes, 17 elementwise ops per draw, and the mask carries no gradient', async () => {
  const inner = new OnnxGraphSink('float64', noWeights);
  const tape = new TapeSink(inner);
  const seed = tape.input('seed', 'int64', []);
  const before = tape.nodes.length;
  const u = emitUniform(tape, seed, [6, 7], 4);
  assert.deepEqual(tape.metaOf(u), { shape: [6, 7], kind: 'float' });
  const full = tape.nodes.slice(before).filter((node) => numel(tape.shapeOf(node.output)) === 42 && tape.shapeOf(node.output).length === 2);
  assert.equal(full.length, 17, full.map((node) => node.op).join(' '));
  assert.deepEqual(tape.shapeOf(emitUniform(tape, seed, [2, 3, 4], 4)), [2, 3, 4]);

  const w = tape.param('W', [6, 7]);
  const mask = dropoutMask(tape, seed, [6, 7], 4, 0.25);
  const loss = tape.op('ReduceSum', [tape.op('Mul', [w, mask])], { keepdims: 0 });
  tape.output('u', u);
  tape.output('mask', mask);
  tape.output('dW', gradients(tape, loss, [w]).get(w)!);
  const session = await createSession({ bytes: inner.toBytes() }, { dtype: 'float64' });
  const result = await session.run({
    seed: new ort.Tensor('int64', BigInt64Array.from([31n]), []), W: new ort.Tensor('float64', new Float64Array(42).fill(3), [6, 7]),
  });
  await session.release();
  const ref = uniformReference(31, 42, 4);
  assert.deepEqual(Array.from(result.u.data as Float64Array), Array.from(ref));
  assert.deepEqual(Array.from(result.mask.data as Float64Array), Array.from(ref, (r) => (r < 0.25 ? 0 : 1 / 0.75)));
  assert.deepEqual(result.dW.data, result.mask.data);
});
