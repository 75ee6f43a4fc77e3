// The size and memory estimate of a LISA run (pure; native/train/lisa-trainer.ts is what it measures): trainable
// parameters are the embeddings, the head unless tied, and γ decoder layers; the output is the whole model in its
// stored dtype. Memory, by what holds it (RunEstimate's fields, as a LoRA run's are named):
// - weights: the frozen base in its stored dtype (memory-mapped external data, as for LoRA), released layers included:
//   a layer that trained and was released is rounded to the stored dtype and read from a run-local file like the
//   base's shards (lisa-released.ts), so it costs what it did before it trained (no baseTerm). Measured on a bf16
//   Qwen2 of 6 layers, hidden 768, vocabulary 4,096 (γ = 1, K = 1, 6 steps, CPU): peak RSS 743 MiB (758 estimated),
//   against 962 MiB when released layers were float32 twice (a host copy and an in-program initializer; 998 estimated);
// - lora: float32 copies of the trained tensors (embeddings, head, γ layers);
// - optimizer: at the AdamW step, the moments, the summed gradient and the step's new parameters and moments are alive
//   beside the old ones (7 float32 copies), plus the embedding gradient's scatter buffer [vocab, hidden]. Measured on a
//   bf16 Qwen2 of 4 layers, hidden 256 and the full 151,936-token vocabulary (γ = 2, CPU): peak RSS 2,347 MiB against
//   2,250 MiB estimated (LoRA on it: 696 measured, 733 estimated); the embedding table dominates, as in the paper. Its
//   2 released layers are small (intermediate 1,024, K = 3, 6 steps: 2,365 MiB measured both with them float32 twice
//   and in bf16; 2,264 MiB estimated now, 2,279 before).
import { activationBytes, DTYPE_BYTES, layerParameterCount, lossBytes, modelParameterCount, RUNTIME_BYTES, residentWeightBytes, weightCopyBytes, type EstimateModel, type EstimateOptions, type EstimateRunOptions, type RunEstimate } from './estimate';
import { lisaSettings } from './lisa-config';
import type { RunConfig } from '../protocol';

const F32 = 4;

/** Trainable parameters of a LISA sample: embeddings, an untied head, γ layers. */
export function lisaTrainableParams(model: EstimateModel, layers: number): number {
  const table = model.vocab_size * model.hidden_size;
  return table * (model.tie_word_embeddings ? 1 : 2) + Math.min(layers, model.num_hidden_layers) * layerParameterCount(model);
}

export function estimateLisa(model: EstimateModel, run: EstimateRunOptions & Partial<Pick<RunConfig, 'lisa_layers' | 'lisa_period'>>, options: EstimateOptions = {}): RunEstimate {
  const totalParams = options.totalParams ?? modelParameterCount(model);
  const { layers } = lisaSettings(run);
  const trainableParams = lisaTrainableParams(model, layers);
  const dtype = options.weightDtype ?? model.torch_dtype;
  const weights = residentWeightBytes(model, totalParams, dtype, false, options.provider);
  const weightCopies = weightCopyBytes(model, dtype, run.gradient_checkpointing ?? true);
  const memory = {
    weights, weightCopies, lora: trainableParams * F32,
    optimizer: 7 * trainableParams * F32 + model.vocab_size * model.hidden_size * F32,
    activations: activationBytes(model, run, []), loss: lossBytes(model, run, options.lossChunkTokens), runtime: RUNTIME_BYTES,
    baseTerm: 0, allocator: 0, penalty: 0,
  };
  return {
    trainableParams, totalParams,
    trainablePercent: totalParams > 0 ? (trainableParams / totalParams) * 100 : 0,
    method: 'lisa',
    // The output folder: every tensor in its stored dtype (headers aside).
    adapterBytes: totalParams * DTYPE_BYTES[dtype],
    adapterRank: 0,
    memory: { ...memory, total: Object.values(memory).reduce((a, b) => a + b, 0) },
  };
}
