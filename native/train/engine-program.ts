// The engine-backed micro-batch program for the trainer: native/model/llama.ts recorded on the engine's tape,
// differentiated for the LoRA inputs only (native/engine/autodiff.ts), written as ONNX with the frozen weights as
// external data into the model's safetensors, and run by onnxruntime-node. One program per (batch, length) bucket.
// Its training graph adds weight · d loss / d param to a running gradient sum (gradient accumulation in the graph);
// the optimizer is a graph of its own (native/engine/optim/adamw-program.ts). Dropout masks are drawn in the graph
// from a per-micro-batch seed, so only the batch, the LoRA tensors and a few scalars cross into a run.
import * as ort from 'onnxruntime-node';
import type { ModelConfig } from '../model/hf-config';
import type { ModelFolder } from '../model/model-folder';
import { buildLlamaGraph, type LoraSite } from '../model/llama';
import { doraMagnitudeName } from '../model/dora';
import { adaloraEName } from '../model/adalora-settings';
import { baseDeltaAName, baseDeltaBName } from '../model/base-delta';
import { PROMPT_EMBEDDINGS, virtualWidth, type VirtualTokens } from '../model/prompt-learning';
import { lossChunkTokens } from '../model/block-sizes';
import { storeWeightSources } from '../model/weight-sources';
import { OnnxGraphSink, type ComputeDtype, type WeightSource } from '../engine/onnx-export';
import { createSession, type GraphBytes, type ResolvedProvider, type SessionSpec } from '../engine/session';
import type { AuditedNode } from '../engine/cuda-kernels';
import { TapeSink } from '../engine/tape';
import { gradients } from '../engine/autodiff';
import type { MatmulPrecision } from '../engine/precision';
import type { MicroBatch } from './loop';
import type { StopPoint } from './stop-point';
import { trainingWeights } from './lisa';

export interface ProgramSpec {
  model: ModelFolder;
  config: ModelConfig;
  batch: number;
  length: number;
  /** `dropout`: LoRA dropout probability (0: none); `dora`: DoRA magnitudes (native/model/dora.ts); `adalora`: AdaLoRA's Λ and orthogonal regularization (native/model/adalora.ts); `baseDeltaRank`: the frozen base term's rank (native/model/base-delta.ts); `virtual`: prompt/prefix tuning's virtual tokens (native/model/prompt-learning.ts). */
  lora: { r: number; scaling: number; sites: LoraSite[]; dropout: number; dora?: boolean; adalora?: { orthRegWeight: number }; baseDeltaRank?: number; virtual?: VirtualTokens };
  /** Model weights trained in full, by HF name with their shapes (LISA, native/train/lisa.ts): graph inputs, not initializers. */
  trainWeights?: ReadonlyMap<string, number[]>;
  device: ResolvedProvider;
  /** float32 by default; float64 for gradient checks. */
  dtype?: ComputeDtype;
  /** Weight sources instead of the model folder's safetensors (in-memory weights in tests, the NF4 cache). */
  weights?: (hfName: string) => WeightSource;
  /** The folder file-backed `weights` are resolved in. */
  externalDataDir?: string;
  /** Recompute each decoder layer in the backward pass (default on). */
  checkpointing?: boolean;
  /** Tokens per loss chunk (default: 64 MiB of float32 logits per chunk). */
  lossChunkTokens?: number;
  /** Query rows per attention block (default: 64 MiB of scores per block). */
  attentionRows?: number;
  /** Vocabulary rows per head block in the loss (default: 32 MiB blocks where the head is cast, else none). */
  headRows?: number;
  /** The precision of the large products (default float32). */
  precision?: MatmulPrecision;
  /**
   * Where compiling may end early on a stop (native/train/stop-point.ts): between building the forward, the backward
   * and the ONNX bytes, and after each session is created. None: it runs through.
   */
  stopPoint?: StopPoint;
}

/** What a bucket's program computes for one micro-batch. */
export interface MicroBatchProgram {
  /** Adds weight · d loss / d param to `gradSum` (replacing its tensors) and returns the micro-batch's mean loss. */
  accumulate(batch: MicroBatch, params: Map<string, Float32Array>, gradSum: Map<string, Float32Array>, weight: number, seed: number): Promise<number>;
  /** The mean loss without dropout or gradients (evaluation). */
  loss(batch: MicroBatch, params: Map<string, Float32Array>): Promise<number>;
  dispose(): Promise<void>;
}

export type ProgramFactory = (spec: ProgramSpec) => Promise<MicroBatchProgram>;

export const gradSumName = (param: string) => `${param}.grad_sum`;
export const nextGradSumName = (param: string) => `${param}.grad_sum.next`;

interface Built extends GraphBytes {
  params: string[];
}

/**
 * The ONNX bytes of the bucket's graph: 'eval' outputs the loss; 'train' also takes a running gradient sum per
 * LoRA tensor, a loss weight and a dropout seed, and outputs sum + weight · d loss / d param.
 */
export function buildTrainingGraph(spec: ProgramSpec, weights: (name: string) => WeightSource, kind: 'train' | 'eval'): Built {
  const stages = trainingGraphStages(spec, weights, kind);
  for (;;) {
    const next = stages.next();
    if (next.done) return next.value;
  }
}

/** buildTrainingGraph with the spec's stop point between its stages (each a few hundred ms for a 24-layer model). */
async function buildTrainingGraphStopping(spec: ProgramSpec, weights: (name: string) => WeightSource, kind: 'train' | 'eval'): Promise<Built> {
  const stages = trainingGraphStages(spec, weights, kind);
  for (;;) {
    await spec.stopPoint?.();
    const next = stages.next();
    if (next.done) return next.value;
  }
}

/** The graph's construction in stages (forward, backward, bytes): a stop may come between them. */
function* trainingGraphStages(spec: ProgramSpec, weights: (name: string) => WeightSource, kind: 'train' | 'eval'): Generator<void, Built> {
  const sink = new OnnxGraphSink(spec.dtype ?? 'float32', weights);
  const tape = new TapeSink(sink);
  const lora = kind === 'train' ? spec.lora : { ...spec.lora, dropout: 0 };
  const graph = spec.trainWeights ? trainingWeights(tape, spec.trainWeights) : tape;
  const loraParams = buildLlamaGraph(graph, spec.config, {
    batch: spec.batch, length: spec.length, lora, mode: 'loss',
    checkpointLayers: spec.checkpointing ?? true, lossChunkTokens: spec.lossChunkTokens ?? lossChunkTokens(spec.config.vocab_size),
    attentionRows: spec.attentionRows, headRows: spec.headRows, precision: spec.precision,
  });
  const params = [...loraParams, ...(spec.trainWeights?.keys() ?? [])];
  if (kind === 'train') {
    yield;
    const values = params.map((name) => tape.params.get(name)!);
    const objective = tape.op('Mul', [tape.outputs.get('loss')!, tape.input('loss_weight', 'float', [])]);
    const grads = gradients(tape, objective, values);
    params.forEach((name, i) => {
      const sum = tape.input(gradSumName(name), 'float', tape.shapeOf(values[i]));
      sink.output(nextGradSumName(name), sink.op('Add', [sum, grads.get(values[i])!]));
    });
  }
  yield;
  return { bytes: sink.toBytes(), nodes: sink.nodeList as AuditedNode[], params };
}

/**
 * A session for a built graph; with a stop point after it: InferenceSession.create is one native call that nothing
 * interrupts, so a stop requested meanwhile ends the start as soon as it returns (and the session is released).
 */
async function sessionStopping(built: Built, spec: ProgramSpec, sessionSpec: SessionSpec, phase: string): Promise<ort.InferenceSession> {
  const create = () => createSession(built, sessionSpec);
  const session = await (spec.stopPoint?.nativeCall ? spec.stopPoint.nativeCall(phase, create) : create());
  try {
    await spec.stopPoint?.();
  } catch (error) {
    await session.release();
    throw error;
  }
  return session;
}

function intTensor(rows: number[][]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
}

export const engineProgram: ProgramFactory = async (spec) => {
  const dtype: ComputeDtype = spec.dtype ?? 'float32';
  const sources = spec.weights ? { weights: spec.weights, externalDataDir: spec.externalDataDir } : storeWeightSources(spec.model.weights, spec.model.dir);
  const sessionSpec = { device: spec.device, dtype, externalDataDir: sources.externalDataDir };
  const train = await buildTrainingGraphStopping(spec, sources.weights, 'train');
  const session = await sessionStopping(train, spec, sessionSpec, 'creating the onnxruntime session');
  let evalSession: Promise<ort.InferenceSession> | undefined;
  const floatType = dtype === 'float64' ? 'float64' : 'float32';
  const asFloat = (data: Float32Array) => (dtype === 'float64' ? Float64Array.from(data) : data);
  const asF32 = (data: unknown) => (data instanceof Float32Array ? data : Float32Array.from(data as Float64Array));
  const shapes = new Map(spec.lora.sites.flatMap((s) => [
    [`${s.baseName}.lora_A`, [spec.lora.r, s.in]], [`${s.baseName}.lora_B`, [s.out, spec.lora.r]], [doraMagnitudeName(s.baseName), [s.out]],
    [adaloraEName(s.baseName), [spec.lora.r, 1]],
  ]));
  for (const [name, shape] of spec.trainWeights ?? []) shapes.set(name, shape);
  const virtual = spec.lora.virtual;
  if (virtual) shapes.set(PROMPT_EMBEDDINGS, [virtual.tokens, virtualWidth(spec.config, virtual.kind)]);
  // The frozen base term's A_d [R, in] and B_d [out, R] (native/model/base-delta.ts) arrive in `params` too.
  const deltaRank = spec.lora.baseDeltaRank ?? 0;
  const deltaShapes = deltaRank > 0
    ? spec.lora.sites.flatMap((s): [string, number[]][] => [[baseDeltaAName(s.baseName), [deltaRank, s.in]], [baseDeltaBName(s.baseName), [s.out, deltaRank]]])
    : [];

  const feeds = (batch: MicroBatch, params: Map<string, Float32Array>): Record<string, ort.Tensor> => {
    const out: Record<string, ort.Tensor> = { input_ids: intTensor(batch.inputIds), attention_mask: intTensor(batch.attentionMask), labels: intTensor(batch.labels) };
    for (const name of train.params) out[name] = new ort.Tensor(floatType, asFloat(params.get(name)!), shapes.get(name)!);
    for (const [name, shape] of deltaShapes) {
      const values = params.get(name);
      if (!values) throw new Error(`no frozen base term ${name}`);
      out[name] = new ort.Tensor(floatType, asFloat(values), shape);
    }
    return out;
  };

  return {
    async accumulate(batch, params, gradSum, weight, seed) {
      const f = feeds(batch, params);
      f.loss_weight = new ort.Tensor(floatType, asFloat(Float32Array.of(weight)), []);
      if (spec.lora.dropout > 0) f.dropout_seed = new ort.Tensor('int64', BigInt64Array.of(BigInt(seed)), []);
      for (const name of train.params) f[gradSumName(name)] = new ort.Tensor(floatType, asFloat(gradSum.get(name)!), shapes.get(name)!);
      const out = await session.run(f);
      for (const name of train.params) gradSum.set(name, asF32(out[nextGradSumName(name)].data));
      return Number((out.loss.data as Float32Array)[0]);
    },
    async loss(batch, params) {
      // Evaluation needs no gradients and no dropout: a forward-only graph, built on first use, once what a stop would
      // save is saved (the trainer's state is the last step's during an evaluation), so its creation can be cut short.
      // A stop while it is made leaves evalSession unset: the promise is kept only once the session exists.
      const made = await (evalSession ?? (async () => {
        await spec.stopPoint?.saveUnsaved?.();
        return sessionStopping(await buildTrainingGraphStopping(spec, sources.weights, 'eval'), spec, sessionSpec, 'creating the onnxruntime session for evaluation');
      })());
      evalSession ??= Promise.resolve(made);
      const out = await made.run(feeds(batch, params));
      return Number((out.loss.data as Float32Array)[0]);
    },
    async dispose() {
      await session.release();
      if (evalSession) await (await evalSession).release();
    },
  };
};
