// The optimizer as a graph of its own (emitAdamw): parameters, moments and the summed gradients of a step go in,
// the updated parameters and moments and the gradient norm come out, on the training device. One program per run,
// whatever the (batch, length) buckets of the micro-batches; it is small, so it compiles in milliseconds.
import * as ort from 'onnxruntime-node';
import { OnnxGraphSink } from '../onnx-export';
import { createSession, type GraphBytes, type ResolvedProvider } from '../session';
import type { AuditedNode } from '../cuda-kernels';
import { emitAdamw } from './adamw';

export interface AdamwTensor {
  name: string;
  shape: number[];
  /** Learning-rate multiplier (LoRA+ trains B at ratio × lr). */
  lrScale: number;
}

export interface AdamwProgramSpec {
  tensors: AdamwTensor[];
  weightDecay: number;
  /** Clip the global gradient norm to this; null: no clipping. */
  maxGradNorm: number | null;
  device: ResolvedProvider;
}

/** Float32 tensors by name, updated in place by `step`. */
export type TensorMap = Map<string, Float32Array>;

export interface AdamwProgram {
  /** One AdamW step at 1-based step `t`; `params`, `m`, `v` are replaced by their updated values. Returns the norm before clipping. */
  step(params: TensorMap, m: TensorMap, v: TensorMap, grads: TensorMap, lr: number, t: number): Promise<number>;
  dispose(): Promise<void>;
}

export function buildAdamwGraph(spec: Omit<AdamwProgramSpec, 'device'>): GraphBytes {
  const g = new OnnxGraphSink('float32', () => {
    throw new Error('the optimizer graph has no frozen weights');
  });
  const slots = spec.tensors.map((t) => ({
    param: g.input(t.name, 'float', t.shape),
    grad: g.input(`${t.name}.grad`, 'float', t.shape),
    m: g.input(`${t.name}.exp_avg`, 'float', t.shape),
    v: g.input(`${t.name}.exp_avg_sq`, 'float', t.shape),
    lrScale: t.lrScale,
  }));
  const lr = g.input('lr', 'float', []), step = g.input('step', 'float', []);
  // β and ε are torch.optim.AdamW's defaults (emitAdamw's).
  const out = emitAdamw(g, slots, lr, step, { weightDecay: spec.weightDecay, maxGradNorm: spec.maxGradNorm });
  spec.tensors.forEach((t, i) => {
    g.output(`${t.name}.next`, out.params[i]);
    g.output(`${t.name}.exp_avg.next`, out.m[i]);
    g.output(`${t.name}.exp_avg_sq.next`, out.v[i]);
  });
  g.output('grad_norm', out.gradNorm);
  return { bytes: g.toBytes(), nodes: g.nodeList as AuditedNode[] };
}

export async function createAdamwProgram(spec: AdamwProgramSpec): Promise<AdamwProgram> {
  const session = await createSession(buildAdamwGraph(spec), { device: spec.device, cpuArena: false });
  const tensor = (data: Float32Array, shape: number[]) => new ort.Tensor('float32', data, shape);
  return {
    async step(params, m, v, grads, lr, t) {
      const feeds: Record<string, ort.Tensor> = { lr: tensor(Float32Array.of(lr), []), step: tensor(Float32Array.of(t), []) };
      for (const { name, shape } of spec.tensors) {
        feeds[name] = tensor(params.get(name)!, shape);
        feeds[`${name}.grad`] = tensor(grads.get(name)!, shape);
        feeds[`${name}.exp_avg`] = tensor(m.get(name)!, shape);
        feeds[`${name}.exp_avg_sq`] = tensor(v.get(name)!, shape);
      }
      const out = await session.run(feeds);
      for (const { name } of spec.tensors) {
        params.set(name, out[`${name}.next`].data as Float32Array);
        m.set(name, out[`${name}.exp_avg.next`].data as Float32Array);
        v.set(name, out[`${name}.exp_avg_sq.next`].data as Float32Array);
      }
      return Number((out.grad_norm.data as Float32Array)[0]);
    },
    dispose: () => session.release(),
  };
}
