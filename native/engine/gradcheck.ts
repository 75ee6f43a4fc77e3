// Float64 central-difference gradient checks of graphs built through TapeSink + autodiff, run by onnxruntime-node
// (CPU provider, optimization level basic: ORT would fuse x·σ(x) into a float-only kernel). Detached values
// (GraphSink.stopGradient) are held at their unperturbed values in the numeric derivative.
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

/**
 * A tape whose detached values (GraphSink.stopGradient) are graph inputs `detached.k`: the numeric derivative holds
 * them at their unperturbed values, which is what detaching means (the analytic gradient ignores their dependence).
 */
class HeldTape extends TapeSink<string> {
  held = 0;
  override stopGradient(x: string): string {
    return this.input(`detached.${this.held++}`, 'float', this.shapeOf(x));
  }
}

/** The case's graph: its loss Σ y·R, the param gradients (analytic) or the held detached values as inputs (numeric). */
function build(c: GradCase, kind: 'analytic' | 'numeric'): { bytes: Uint8Array; detached: number } {
  const sink = new OnnxGraphSink('float64', () => {
    throw new Error('no weights in gradchecks');
  });
  const g = kind === 'numeric' ? new HeldTape(sink) : new TapeSink(sink);
  const p: Record<string, string> = {};
  for (const [name, [shape]] of Object.entries(c.params)) p[name] = g.param(name, shape);
  const y = c.build(g, p);
  // loss = Σ y · R with a fixed pseudo-random R, so every output element matters with a different weight.
  const shape = g.shapeOf(y);
  const size = shape.reduce((a, b) => a * b, 1);
  const weights = Array.from({ length: size }, (_, i) => Math.sin(1.7 * i + 0.3) + 0.1 * i);
  const loss = g.op('ReduceSum', [g.op('Mul', [y, g.constant(weights, shape)])], { keepdims: 0 });
  g.output('loss', loss);
  if (g instanceof HeldTape) return { bytes: sink.toBytes(), detached: g.held };
  const grads = gradients(g, loss, Object.values(p));
  for (const [name, value] of Object.entries(p)) g.output(`grad.${name}`, grads.get(value)!);
  const detached = g.nodes.filter((n) => n.detached);
  detached.forEach((n, k) => g.output(`detached.${k}`, n.output));
  return { bytes: sink.toBytes(), detached: detached.length };
}

/** Runs the case; returns the largest |analytic − numeric| over every element of every param. */
export async function gradcheck(c: GradCase, h = 1e-6): Promise<{ maxError: number; maxGrad: number }> {
  const analyticGraph = build(c, 'analytic');
  const session = await createSession({ bytes: analyticGraph.bytes }, { dtype: 'float64' });
  const numericSession = analyticGraph.detached > 0 ? await createSession({ bytes: build(c, 'numeric').bytes }, { dtype: 'float64' }) : session;
  const feeds = (overrides: Record<string, number[]> = {}) =>
    Object.fromEntries(Object.entries(c.params).map(([name, [dims, values]]) => [name, new ort.Tensor('float64', Float64Array.from(overrides[name] ?? values), dims)]));
  const base = await session.run(feeds());
  const held: Record<string, ort.Tensor> = {};
  for (let k = 0; k < analyticGraph.detached; k++) held[`detached.${k}`] = base[`detached.${k}`];
  const lossAt = async (overrides: Record<string, number[]>) => (await numericSession.run({ ...feeds(overrides), ...held })).loss.data[0] as number;
  let maxError = 0;
  let maxGrad = 0;
  for (const [name, [, values]] of Object.entries(c.params)) {
    const analytic = base[`grad.${name}`].data as Float64Array;
    for (let i = 0; i < values.length; i += 1) {
      const plus = [...values], minus = [...values];
      plus[i] += h;
      minus[i] -= h;
      const numeric = ((await lossAt({ [name]: plus })) - (await lossAt({ [name]: minus }))) / (2 * h);
      maxError = Math.max(maxError, Math.abs(numeric - analytic[i]) / Math.max(1, Math.abs(numeric)));
      maxGrad = Math.max(maxGrad, Math.abs(analytic[i]));
    }
  }
  await session.release();
  if (numericSession !== session) await numericSession.release();
  return { maxError, maxGrad };
}

/** Deterministic values in [lo, hi). */
export const values = (n: number, lo = -1, hi = 1, seed = 1) => Array.from({ length: n }, (_, i) => lo + ((Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453) % 1 + 1) % 1 * (hi - lo));
