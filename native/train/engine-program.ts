// The engine-backed loss-and-gradient program for the trainer: native/model/llama.ts recorded on the engine's tape,
// differentiated for the LoRA inputs only (native/engine/autodiff.ts), written as ONNX with the frozen weights as
// external data into the model's safetensors, and run by onnxruntime-node. One program per (batch, length) bucket.
import * as ort from 'onnxruntime-node';
import { buildLlamaGraph, dropoutMaskName } from '../model/llama';
import { OnnxGraphSink, type ComputeDtype, type WeightSource } from '../engine/onnx-export';
import { storeWeightSources } from '../model/safetensors';
import { TapeSink } from '../engine/tape';
import { gradients } from '../engine/autodiff';
import type { MicroBatch } from './loop';
import type { LossGradProgram, ProgramFactory, ProgramSpec } from './trainer';

export const gradOutputName = (param: string) => `grad.${param}`;

interface Built {
  bytes: Uint8Array;
  params: string[];
}

/** The ONNX bytes of the bucket's graph: loss, and with `withGrads` d loss / d param for every LoRA tensor. */
export function buildTrainingGraph(spec: ProgramSpec, weights: (name: string) => WeightSource, withGrads: boolean): Built {
  const sink = new OnnxGraphSink(spec.dtype ?? 'float32', weights);
  const tape = new TapeSink(sink);
  const lora = withGrads ? spec.lora : { ...spec.lora, dropout: false };
  const params = buildLlamaGraph(tape, spec.config, { batch: spec.batch, length: spec.length, lora, mode: 'loss' });
  if (withGrads) {
    const values = params.map((name) => tape.params.get(name)!);
    const grads = gradients(tape, tape.outputs.get('loss')!, values);
    params.forEach((name, i) => sink.output(gradOutputName(name), grads.get(values[i])!));
  }
  return { bytes: sink.toBytes(), params };
}

function intTensor(rows: number[][]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
}

export const engineProgram: ProgramFactory = async (spec) => {
  const dtype: ComputeDtype = spec.dtype ?? 'float32';
  const sources = spec.weights ? { weights: spec.weights, externalDataDir: undefined } : storeWeightSources(spec.model.weights, spec.model.dir);
  const options: ort.InferenceSession.SessionOptions = {
    // Fusions exist only for float32; float64 graphs (gradient checks) run with basic optimizations.
    graphOptimizationLevel: dtype === 'float64' ? 'basic' : 'all',
    executionProviders: spec.device.provider === 'cuda' ? [{ name: 'cuda', deviceId: spec.device.deviceId }] : ['cpu'],
  };
  // No prepacking: MLAS would copy every Gemm weight per session, while unpacked float32 external data stays memory-mapped
  // and shared by all bucket sessions (measured: +0 MB per extra session instead of +1.1× the weights; same step time).
  const sessionConfig: Record<string, string> = { disable_prepacking: '1' };
  if (sources.externalDataDir) sessionConfig.model_external_initializers_file_folder_path = sources.externalDataDir;
  options.extra = { session: sessionConfig };
  const train = buildTrainingGraph(spec, sources.weights, true);
  const session = await ort.InferenceSession.create(train.bytes, options);
  let evalSession: Promise<ort.InferenceSession> | undefined;
  const floatType = dtype === 'float64' ? 'float64' : 'float32';
  const asFloat = (data: Float32Array) => (dtype === 'float64' ? Float64Array.from(data) : data);

  const feeds = (batch: MicroBatch, params: Map<string, Float32Array>): Record<string, ort.Tensor> => {
    const out: Record<string, ort.Tensor> = { input_ids: intTensor(batch.inputIds), attention_mask: intTensor(batch.attentionMask), labels: intTensor(batch.labels) };
    for (const site of spec.lora.sites) {
      for (const [suffix, shape] of [['.lora_A', [spec.lora.r, site.in]], ['.lora_B', [site.out, spec.lora.r]]] as const) {
        const name = site.baseName + suffix;
        out[name] = new ort.Tensor(floatType, asFloat(params.get(name)!), [...shape]);
      }
    }
    return out;
  };

  const program: LossGradProgram = {
    async run(batch, params, masks) {
      const f = feeds(batch, params);
      if (spec.lora.dropout) {
        const rows = spec.batch * spec.length;
        for (const site of spec.lora.sites) {
          const mask = masks?.get(site.baseName) ?? new Float32Array(rows * site.in).fill(1);
          f[dropoutMaskName(site.baseName)] = new ort.Tensor(floatType, asFloat(mask), [rows, site.in]);
        }
      }
      const out = await session.run(f);
      const grads = new Map<string, Float32Array>();
      for (const name of train.params) {
        const data = out[gradOutputName(name)].data as Float32Array | Float64Array;
        grads.set(name, data instanceof Float32Array ? data : Float32Array.from(data));
      }
      return { loss: Number((out.loss.data as Float32Array)[0]), grads };
    },
    async loss(batch, params) {
      // Evaluation needs no gradients and no dropout: a forward-only graph, built on first use.
      evalSession ??= ort.InferenceSession.create(buildTrainingGraph(spec, sources.weights, false).bytes, options);
      const out = await (await evalSession).run(feeds(batch, params));
      return Number((out.loss.data as Float32Array)[0]);
    },
    async dispose() {
      await session.release();
      if (evalSession) await (await evalSession).release();
    },
  };
  return program;
};
