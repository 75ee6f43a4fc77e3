// The engine's self-check for `lora-studio doctor`: builds a small LoRA layer (x·Wᵀ + s·x·Aᵀ·Bᵀ → softmax
// cross-entropy), differentiates it with the engine's autodiff, runs it on the CPU provider and compares the
// gradients with finite differences — so a broken install, binding or engine shows up as a clear failure.
import * as ort from 'onnxruntime-node';
import { createSession } from './session';
import { OnnxGraphSink } from './onnx-export';
import { TapeSink } from './tape';
import { gradients } from './autodiff';

export interface SelfCheck {
  ok: boolean;
  /** Largest relative error between analytic and numeric gradients. */
  maxError: number;
  /** Milliseconds to build, compile and run the check. */
  ms: number;
  message: string;
}

export async function engineSelfCheck(): Promise<SelfCheck> {
  const started = performance.now();
  const sink = new OnnxGraphSink('float64', (name) => ({ kind: 'data', data: Float64Array.from({ length: 12 }, (_, i) => Math.sin(i + name.length)) }));
  const g = new TapeSink(sink);
  const x = g.input('x', 'float', [2, 4]);
  const W = g.weight('w', [3, 4]);
  const A = g.param('A', [2, 4]);
  const B = g.param('B', [3, 2]);
  const y = g.op('Add', [g.op('Gemm', [x, W], { transB: 1 }), g.op('Gemm', [g.op('Gemm', [x, A], { transB: 1 }), B], { transB: 1, alpha: 2 })]);
  const picked = g.op('GatherElements', [g.op('LogSoftmax', [y], { axis: -1 }), g.constInt([0, 2], [2, 1])], { axis: 1 });
  const loss = g.op('Neg', [g.op('ReduceMean', [picked], { axes: [0, 1], keepdims: 0 })]);
  g.output('loss', loss);
  const grads = gradients(g, loss, [A, B]);
  g.output('dA', grads.get(A)!);
  g.output('dB', grads.get(B)!);
  const session = await createSession({ bytes: sink.toBytes() }, { dtype: 'float64' });
  const values = { x: [0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8], A: [0.1, 0.2, -0.3, 0.4, 0.5, 0.6, 0.7, -0.8], B: [0.3, -0.1, 0.2, 0.2, -0.4, 0.1] };
  const shapes: Record<string, number[]> = { x: [2, 4], A: [2, 4], B: [3, 2] };
  const feeds = (v: Record<string, number[]>) => Object.fromEntries(Object.entries(v).map(([k, data]) => [k, new ort.Tensor('float64', Float64Array.from(data), shapes[k])]));
  const base = await session.run(feeds(values));
  let maxError = 0;
  for (const [name, output] of [['A', 'dA'], ['B', 'dB']] as const) {
    const analytic = base[output].data as Float64Array;
    for (let i = 0; i < values[name].length; i += 1) {
      const plus = [...values[name]], minus = [...values[name]];
      plus[i] += 1e-6;
      minus[i] -= 1e-6;
      const lp = (await session.run(feeds({ ...values, [name]: plus }))).loss.data[0] as number;
      const lm = (await session.run(feeds({ ...values, [name]: minus }))).loss.data[0] as number;
      maxError = Math.max(maxError, Math.abs((lp - lm) / 2e-6 - analytic[i]) / Math.max(1, Math.abs(analytic[i])));
    }
  }
  await session.release();
  const ok = maxError < 1e-6;
  return {
    ok, maxError, ms: performance.now() - started,
    message: ok ? 'a LoRA layer trains: its gradients match finite differences' : `gradients disagree with finite differences (max relative error ${maxError.toExponential(2)}) — please report this`,
  };
}
