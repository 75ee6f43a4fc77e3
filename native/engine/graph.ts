// The graph interface every builder writes through (the Llama-family model, the loss, AdamW, the backward pass): ONNX
// op names over an opaque value handle `V`. Sinks decide what a value is: the ONNX writer (onnx-export.ts) makes tensor
// names, the tape (tape.ts) records nodes and shapes for autodiff on top of another sink.
/**
 * A frozen weight as stored: `low` is its ONNX element type when it is bf16 (16) or f16 (10). An NF4 weight (QLoRA,
 * native/engine/nf4.ts) is its codes (`value`, uint8 [n/2]) and `nf4.absmax` (float32 [n/64]).
 */
export interface StoredWeight<V> {
  value: V;
  compute: boolean;
  low?: number;
  nf4?: { absmax: V };
}

/** ONNX attribute values used here. */
export type Attr = number | number[] | string;

/**
 * Where the graph goes. `V` is the builder's value handle. Shapes are static: a graph is built per (batch, length)
 * bucket, so RoPE tables and the causal mask are constants.
 */
export interface GraphSink<V> {
  /** A graph input: int64 ids/labels/mask, or compute-dtype ('float') data such as dropout masks. */
  input(name: string, dtype: 'int64' | 'float', shape: number[]): V;
  /**
   * A frozen model weight by its HF name (`shape`: as stored), already in the compute dtype. `rows` [start, end): only
   * those rows of it, for a large weight used in blocks (the head), so that one block's compute-dtype copy exists at a time.
   */
  weight(hfName: string, shape: number[], rows?: [number, number]): V;
  /**
   * The same weight in the dtype it is stored in (bf16/f16 files stay bf16/f16), for ops that need no arithmetic
   * before a cast (the embedding's Gather: rows are gathered first, then only they are cast). `compute` says whether
   * the stored dtype already is the compute dtype.
   */
  storedWeight(hfName: string, shape: number[]): StoredWeight<V>;
  /** A trainable LoRA tensor, fed each run (name e.g. 'model.layers.0.self_attn.q_proj.lora_A'). */
  param(name: string, shape: number[]): V;
  /** A compute-dtype constant. */
  constant(values: ArrayLike<number>, shape: number[]): V;
  /** An int64 constant (shapes, axes, ids). */
  constInt(values: number[], shape?: number[]): V;
  op(type: string, inputs: V[], attrs?: Record<string, Attr>): V;
  /**
   * `x` as a value no gradient flows back through (torch's `.detach()`): the same numbers, a constant to autodiff.
   * DoRA's weight norm is one (Liu et al. 2024, §4.3). The ONNX writer emits an Identity; the tape marks it.
   */
  stopGradient(x: V): V;
  /** Cast (int64 / bool / a stored bf16 or f16 weight) to the compute dtype; a value already in it is returned as is. */
  toFloat(x: V): V;
  output(name: string, value: V): void;
  /**
   * A recomputed segment (activation checkpointing, Chen et al. 2016): `body` builds a value from `inputs`, and a
   * training graph keeps only the inputs from the forward pass and builds the segment again in the backward pass
   * (native/engine/tape.ts). Sinks that do not differentiate just call `body`. Every large value the body uses must
   * come in through `inputs` or be made inside it, or it stays alive until the backward pass.
   */
  checkpoint(label: string, inputs: V[], body: (...inputs: V[]) => V): V;
}
