// Float64 central-difference gradient checks of graphs built through TapeSink + autodiff, run by onnxruntime-node
// (CPU provider, optimization level basic: ORT would fuse x·σ(x) into a float-only kernel).
import * as ort from 'onnxruntime-node';
import { createSession } from './session';
import { OnnxGraphSink } from './onnx-export';
import { TapeSink } from './tape';
import { gradients } from './autodiff';

export interface GradCase {
  /** Trainable inputs: name → [shape, values]. */
  params: Record<string, [number[], number[]]>;
  /** Builds the op under test from the params; returns a float value of any shape. */
  build(g: TapeSink<string>, p: Record<string, string>): string;
}

/** Runs the case; returns the largest |analytic − numeric| over every element of every param. */
export async function gradcheck(c: GradCase, h = 1e-6): Promise<{ maxError: number; maxGrad: number }> {
  const sink = new OnnxGraphSink('float64', () => {
    throw new Error('no weights in gradchecks');
  });
  const g = new TapeSink(sink);
  const p: Record<string, string> = {};
  for (const [name, [shape]] of Object.entries(c.params)) p[name] = g.param(name, shape);
  const y = c.build(g, p);
  // loss = Σ y · R with a fixed pseudo-random R, so every output element matters with a different weight.
  const shape = g.shapeOf(y);
  const size = shape.reduce((a, b) => a * b, 1);
  const weights = Array.from({ length: size }, (_, i) => Math.sin(1.7 * i + 0.3) + 0.1 * i);
  const loss = g.op('ReduceSum', [g.op('Mul', [y, g.constant(weights, shape)])], { keepdims: 0 });
  g.output('loss', loss);
  const grads = gradients(g, loss, Object.values(p));
  for (const [name, value] of Object.entries(p)) g.output(`grad.${name}`, grads.get(value)!);
  const session = await createSession({ bytes: sink.toBytes() }, { dtype: 'float64' });
  const feeds = (overrides: Record<string, number[]> = {}) =>
    Object.fromEntries(Object.entries(c.params).map(([name, [dims, values]]) => [name, new ort.Tensor('float64', Float64Array.from(overrides[name] ?? values), dims)]));
  const base = await session.run(feeds());
  let maxError = 0;
  let maxGrad = 0;
  for (const [name, [, values]] of Object.entries(c.params)) {
    const analytic = base[`grad.${name}`].data as Float64Array;
    for (let i = 0; i < values.length; i += 1) {
      const plus = [...values], minus = [...values];
      plus[i] += h;
      minus[i] -= h;
      const lp = (await session.run(feeds({ [name]: plus }))).loss.data[0] as number;
      const lm = (await session.run(feeds({ [name]: minus }))).loss.data[0] as number;
      const numeric = (lp - lm) / (2 * h);
      maxError = Math.max(maxError, Math.abs(numeric - analytic[i]) / Math.max(1, Math.abs(numeric)));
      maxGrad = Math.max(maxGrad, Math.abs(analytic[i]));
    }
  }
  await session.release();
  return { maxError, maxGrad };
}

/** Deterministic values in [lo, hi). */
export const values = (n: number, lo = -1, hi = 1, seed = 1) => Array.from({ length: n }, (_, i) => lo + ((Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453) % 1 + 1) % 1 * (hi - lo));
