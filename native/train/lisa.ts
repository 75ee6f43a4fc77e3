// LISA (Pan et al. 2024, "LISA: Layerwise Importance Sampling for Memory-Efficient Large Language Model Fine-Tuning",
// Algorithm 1): the embeddings and the LM head always train; of the N decoder layers, γ sampled uniformly without
// replacement train in full for K steps, then γ others; everything else is frozen. What a sampled layer trains is all
// of its parameters (the paper unfreezes "layers"; the authors' LMFlow DynamicLayerActivationCallback sets
// requires_grad on every parameter of layers[i]): projections, biases and its RMSNorm weights. The final norm is
// outside the layers and stays frozen, as Algorithm 1 lists only E, H and the sampled layers (LMFlow leaves it
// trainable because it never freezes it; we follow the paper). Defaults γ = 2, K = 20: the paper's E+H+2L setting
// and LMFlow's FinetunerArguments (lisa_activated_layers = 2, lisa_interval_steps = 20).
//
// This file holds the pure parts: the seeded sampler (a function of seed and period, so a resume draws the same
// layers without any state), the names a sample trains, and a GraphSink wrapper that turns those frozen weights into
// trainable graph inputs (native/train/lisa-trainer.ts explains the engine side).
import type { GraphSink, StoredWeight } from '../engine/graph';
import type { ModelConfig } from '../model/hf-config';
import type { WeightStore } from '../model/safetensors';
import { mulberry32 } from '../util/random';
import type { LisaSettings } from './lisa-config';

/**
 * The layers trained in sampling period `period` (steps period·K … period·K + K − 1), sorted: γ of 0 … N − 1 drawn
 * uniformly without replacement (a partial Fisher–Yates shuffle on mulberry32 seeded by run seed and period).
 */
export function lisaSample(seed: number, period: number, numLayers: number, gamma: number): number[] {
  const random = mulberry32((Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(period + 1, 0x85ebca6b)) >>> 0);
  const order = Array.from({ length: numLayers }, (_, i) => i);
  const count = Math.min(gamma, numLayers);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (numLayers - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, count).sort((a, b) => a - b);
}

/** The sampling period of 0-based optimizer step `step`. */
export const lisaPeriodOf = (step: number, settings: LisaSettings) => Math.floor(step / settings.period);

export const EMBED_TOKENS = 'model.embed_tokens.weight';
export const LM_HEAD = 'lm_head.weight';

/** The always-trained tensors: the embedding table and, unless tied to it (Qwen2's small models), the head. */
export function alwaysTrained(config: Pick<ModelConfig, 'tie_word_embeddings'>): string[] {
  return config.tie_word_embeddings ? [EMBED_TOKENS] : [EMBED_TOKENS, LM_HEAD];
}

/** Every stored tensor of decoder layer `layer` (its projections, biases and norms), in the store's order. */
export function layerTensors(store: WeightStore, layer: number): string[] {
  const prefix = `model.layers.${layer}.`;
  return store.names().filter((name) => name.startsWith(prefix));
}

/** The tensors a sample trains, with their shapes. */
export function lisaTrainedShapes(store: WeightStore, config: Pick<ModelConfig, 'tie_word_embeddings'>, layers: number[]): Map<string, number[]> {
  const names = [...alwaysTrained(config), ...layers.flatMap((l) => layerTensors(store, l))];
  return new Map(names.map((name) => {
    const found = store.entry(name);
    if (!found) throw new Error(`LISA: the model has no tensor ${name}`);
    return [name, [...found.entry.shape]];
  }));
}

/**
 * A GraphSink in which the weights named in `trained` are trainable inputs (`param`) instead of frozen initializers:
 * the model code asks for weights as it always does, and the tape differentiates for them like for LoRA tensors.
 * A tied head asks for the embedding table again and gets the same input, so its gradient is the sum of both uses.
 */
export function trainingWeights<V>(inner: GraphSink<V>, trained: ReadonlyMap<string, number[]>): GraphSink<V> {
  const inputs = new Map<string, V>();
  const paramOf = (name: string) => {
    let value = inputs.get(name);
    if (value === undefined) {
      value = inner.param(name, trained.get(name)!);
      inputs.set(name, value);
    }
    return value;
  };
  return {
    input: (name, dtype, shape) => inner.input(name, dtype, shape),
    weight: (name, shape, rows) => {
      if (!trained.has(name)) return inner.weight(name, shape, rows);
      const whole = paramOf(name);
      return rows ? inner.op('Slice', [whole, inner.constInt([rows[0]]), inner.constInt([rows[1]]), inner.constInt([0])]) : whole;
    },
    storedWeight: (name, shape): StoredWeight<V> => (trained.has(name) ? { value: paramOf(name), compute: true } : inner.storedWeight(name, shape)),
    param: (name, shape) => inner.param(name, shape),
    constant: (values, shape) => inner.constant(values, shape),
    constInt: (values, shape) => inner.constInt(values, shape),
    op: (type, ins, attrs) => inner.op(type, ins, attrs),
    stopGradient: (x) => inner.stopGradient(x),
    toFloat: (x) => inner.toFloat(x),
    output: (name, value) => inner.output(name, value),
    checkpoint: (label, ins, body) => inner.checkpoint(label, ins, body),
  };
}
