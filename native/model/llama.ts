// The Llama-family forward graph (Llama incl. Llama 3 rope scaling, Mistral, Qwen2 q/k/v bias, Qwen3 q/k norm) with
// LoRA attached while building, plus the masked mean cross-entropy loss. It writes through a small `GraphSink`, so the
// model code names ONNX ops (opset 17) and nothing else: the engine adapter decides how weights become initializers
// (external data into the safetensors, cast in-graph) and how LoRA tensors become trainable inputs.
import type { ModelConfig } from './hf-config';
import type { GraphSink } from '../engine/graph';
import { dropoutMask } from '../engine/random';
import { LOW_ELEM, product, type MatmulPrecision } from '../engine/precision';
import { attentionBlockRows, headBlockRows } from './block-sizes';
import { doraMagnitudeName, doraOutput, doraWeightNorm } from './dora';
import { baseDeltaTerm } from './base-delta';
import { orthRegularization, svdDelta } from './adalora';
import { adaloraEName } from './adalora-settings';
import { PROMPT_EMBEDDINGS, type VirtualTokens } from './prompt-learning';

/** One adapted linear module: LoRA A [r, in], B [out, r] on the HF module `baseName`. */
export interface LoraSite {
  baseName: string;
  in: number;
  out: number;
}

export interface LlamaGraphOptions {
  batch: number;
  length: number;
  /**
   * `dropout`: the LoRA dropout probability (0: none), drawn in the graph from the int64 scalar input `dropout_seed`.
   * `dora`: DoRA (native/model/dora.ts): each site also has a trainable magnitude '<base>.lora_magnitude_vector' [out].
   * `adalora`: AdaLoRA (native/model/adalora.ts): each site is P Λ Q — lora_B, '<base>.lora_E' [r, 1], lora_A — with
   * `scaling` the whole multiplier s / (ranknum + 1e-5), and the loss gains the orthogonal regularization.
   * `baseDeltaRank` R > 0: each site's frozen base is W + s·B_d·A_d, A_d [R, in] and B_d [out, R] graph inputs
   * (native/model/base-delta.ts: PiSSA's residual, ReLoRA's merged cycles).
   * `virtual`: prompt or prefix tuning (native/model/prompt-learning.ts): the trainable 'prompt_embeddings' prepended
   * as input embeddings (prompt; the graph's positions are then N + length) or as every layer's first keys/values
   * (prefix; not with `kv`, where the host seeds its cache with them instead).
   */
  lora: { r: number; scaling: number; sites: LoraSite[]; dropout: number; dora?: boolean; adalora?: { orthRegWeight: number }; baseDeltaRank?: number; virtual?: VirtualTokens };
  /** 'loss' adds labels and a scalar 'loss' output; 'logits' outputs logits [B, T, V] only (generation). */
  mode: 'loss' | 'logits';
  /** Each decoder layer a recomputed segment (GraphSink.checkpoint): the backward pass rebuilds it from its input. */
  checkpointLayers?: boolean;
  /**
   * Tokens per chunk of the head and the loss: logits exist for one chunk at a time, each chunk a recomputed segment
   * (lossChunkTokens below). Default: all tokens in one chunk.
   */
  lossChunkTokens?: number;
  /** Query rows per attention block; default: as many as keep one block's scores within 64 MiB. */
  attentionRows?: number;
  /**
   * Vocabulary rows per block of the head in the loss; default: blocks of 32 MiB of float32 for a head that must be
   * cast to the compute dtype, none otherwise (see headLogits below).
   */
  headRows?: number;
  /** The precision of the large products (native/engine/precision.ts); default float32. */
  precision?: MatmulPrecision;
  /**
   * KV-cache decoding: RoPE tables ('rope_cos'/'rope_sin' [T, D]) and the additive mask ('attn_bias' [B, 1, T, past+T])
   * become inputs, `past` cached positions arrive as 'past_key.L'/'past_value.L' [B, KV, past, D], and this call's keys
   * and values leave as 'present_key.L'/'present_value.L' [B, KV, T, D] (the host owns the cache).
   */
  kv?: { past: number };
}

/** Additive attention mask value for disallowed keys: finite, so a fully padded query row stays NaN-free. */
export const MASK_VALUE = -1e9;

export const loraAName = (baseName: string) => `${baseName}.lora_A`;
export const loraBName = (baseName: string) => `${baseName}.lora_B`;

/** inv_freq of the rotary embedding; Llama 3 scales low frequencies (HF `_compute_llama3_parameters`). */
export function ropeInvFreq(config: Pick<ModelConfig, 'head_dim' | 'rope_theta' | 'rope_scaling'>): Float64Array {
  const half = config.head_dim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / config.rope_theta ** ((2 * i) / config.head_dim);
  const s = config.rope_scaling;
  if (!s) return inv;
  const lowWavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const highWavelen = s.original_max_position_embeddings / s.high_freq_factor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

/** cos and sin tables [T, D] of positions from … from+T-1, laid out as HF's cat(freqs, freqs). */
function ropeTables(config: ModelConfig, T: number, from = 0): { cos: Float64Array; sin: Float64Array } {
  const D = config.head_dim, inv = ropeInvFreq(config);
  const cos = new Float64Array(T * D), sin = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < D; i++) {
      const angle = (from + t) * inv[i % (D / 2)];
      cos[t * D + i] = Math.cos(angle);
      sin[t * D + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** Builds the graph into `g`; returns the names of the trainable params in a stable order (A, B, then DoRA's m or AdaLoRA's E per site). */
export function buildLlamaGraph<V>(g: GraphSink<V>, config: ModelConfig, opts: LlamaGraphOptions): string[] {
  const { hidden_size: E, num_attention_heads: H, num_key_value_heads: KV, head_dim: D, intermediate_size: I, vocab_size: Vocab } = config;
  // Prompt tuning prepends P virtual tokens to the sequence (T counts them); prefix tuning prepends F keys/values to
  // every layer's attention, the tokens then sitting at positions F … F+T-1 (transformers' cache_position after a
  // cache of F, as PEFT's prefix forward has it).
  const virtual = opts.lora.virtual;
  if (virtual && opts.kv && virtual.kind === 'prefix') throw new Error('prefix tuning with a KV cache: seed the cache with its keys/values instead');
  const P = virtual?.kind === 'prompt' ? virtual.tokens : 0, F = virtual?.kind === 'prefix' ? virtual.tokens : 0;
  const B = opts.batch, Tin = opts.length, T = Tin + P, N = B * T;
  const eps = g.constant([Math.fround(config.rms_norm_eps)], []);
  const sites = new Map(opts.lora.sites.map((s, stream) => [s.baseName, { ...s, stream }]));
  const dropoutSeed = opts.lora.dropout > 0 ? g.input('dropout_seed', 'int64', []) : undefined;
  const params: string[] = [];
  /** AdaLoRA's A and B of every site, for the orthogonal regularization of the loss. */
  const svdPairs: { A: V; B: V }[] = [];
  const shape = (...dims: number[]) => g.constInt(dims, [dims.length]);
  const reshape = (x: V, ...dims: number[]) => g.op('Reshape', [x, shape(...dims)]);

  const rmsNorm = (x: V, weightName: string, width: number) => {
    const meanSq = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [meanSq, eps])])]);
    return g.op('Mul', [g.op('Mul', [x, inv]), g.weight(weightName, [width])]);
  };

  const precision = opts.precision ?? { low: 'none' };
  /** x Wᵀ for a frozen weight, in the graph's precision; a weight stored in the product's low type is used as stored. */
  const weightProduct = (x: V, name: string, shape: number[]): V => {
    if (precision.low !== 'none' && !precision.emulate) {
      const stored = g.storedWeight(name, shape);
      if (stored.low === LOW_ELEM[precision.low]) return product(g, precision, 'Gemm', x, stored.value, { transB: 1 }, true);
    }
    return product(g, precision, 'Gemm', x, g.weight(name, shape), { transB: 1 });
  };

  /** x [N, in] → x Wᵀ (+ b) (+ scaling · dropout(x) Aᵀ Bᵀ when the module is adapted): PEFT's LoRA Linear. */
  const linear = (x: V, baseName: string, inF: number, outF: number, bias = false, seed?: V) => {
    // The bias is added in float32 after the product (ORT fuses the Add back into a float32 Gemm).
    const xW = weightProduct(x, `${baseName}.weight`, [outF, inF]);
    const site = sites.get(baseName);
    const deltaRank = site ? opts.lora.baseDeltaRank ?? 0 : 0;
    // The frozen low-rank term belongs to the base weight: it sees x itself, never the LoRA dropout.
    const xWd = deltaRank > 0 ? g.op('Add', [xW, baseDeltaTerm(g, x, baseName, deltaRank, inF, outF, opts.lora.scaling)]) : xW;
    const y = bias ? g.op('Add', [xWd, g.weight(`${baseName}.bias`, [outF])]) : xWd;
    if (!site) return y;
    const A = g.param(loraAName(baseName), [opts.lora.r, inF]);
    const Bm = g.param(loraBName(baseName), [outF, opts.lora.r]);
    params.push(loraAName(baseName), loraBName(baseName));
    // Inverted dropout on the adapted branch only (PEFT's lora_dropout), a mask per module drawn in the graph.
    const xd = seed ? g.op('Mul', [x, dropoutMask(g, seed, [N, inF], site.stream, opts.lora.dropout)]) : x;
    if (opts.lora.adalora) {
      const E = g.param(adaloraEName(baseName), [opts.lora.r, 1]);
      params.push(adaloraEName(baseName));
      svdPairs.push({ A, B: Bm });
      return g.op('Add', [y, svdDelta(g, xd, A, E, Bm, opts.lora.scaling)]);
    }
    const down = g.op('Gemm', [xd, A], { transB: 1 });
    const upScaled = g.op('Gemm', [down, Bm], { transB: 1, alpha: opts.lora.scaling });
    if (!opts.lora.dora) return g.op('Add', [y, upScaled]);
    // DoRA as PEFT: with dropout the base product is taken again on the dropped-out input (DoraLinearVariant.forward).
    const m = g.param(doraMagnitudeName(baseName), [outF]);
    params.push(doraMagnitudeName(baseName));
    const norm = doraWeightNorm(g, g.weight(`${baseName}.weight`, [outF, inF]), A, Bm, opts.lora.scaling);
    const baseResult = seed ? weightProduct(xd, `${baseName}.weight`, [outF, inF]) : xW;
    return doraOutput(g, y, baseResult, upScaled, m, norm);
  };

  const inputIds = g.input('input_ids', 'int64', [B, Tin]);

  // Additive mask [B, 1, T, F+T]: causal constant plus key padding from attention_mask; the virtual tokens are never
  // padding (PEFT concatenates ones to the attention mask) and every token sees the F prefix keys.
  const past = opts.kv?.past ?? 0;
  const additiveMask = () => {
    const K = F + T;
    const causal = new Float64Array(T * K);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) causal[i * K + F + j] = MASK_VALUE;
    const attentionMask = g.input('attention_mask', 'int64', [B, Tin]);
    const tokenPad = g.op('Mul', [g.op('Sub', [g.constant([1], []), g.toFloat(attentionMask)]), g.constant([MASK_VALUE], [])]);
    const keyPad = P + F > 0 ? g.op('Concat', [g.constant(new Float64Array(B * (P + F)), [B, P + F]), tokenPad], { axis: 1 }) : tokenPad;
    return g.op('Add', [g.constant(causal, [T, K]), reshape(keyPad, B, 1, 1, K)]);
  };
  const mask = opts.kv ? g.input('attn_bias', 'float', [B, 1, T, past + T]) : additiveMask();
  const { cos, sin } = opts.kv ? { cos: new Float64Array(0), sin: new Float64Array(0) } : ropeTables(config, T, F);
  const cosT = opts.kv ? g.input('rope_cos', 'float', [T, D]) : g.constant(cos, [T, D]);
  const sinT = opts.kv ? g.input('rope_sin', 'float', [T, D]) : g.constant(sin, [T, D]);
  const halfStarts = [g.constInt([0], [1]), g.constInt([D / 2], [1])];
  const halfEnds = [g.constInt([D / 2], [1]), g.constInt([D], [1])];
  const lastAxis = g.constInt([-1], [1]);
  /** x [B, heads, T, D]: x·cos + rotate_half(x)·sin with rotate_half(x) = cat(-x2, x1). */
  const rope = (x: V) => {
    const x1 = g.op('Slice', [x, halfStarts[0], halfEnds[0], lastAxis]);
    const x2 = g.op('Slice', [x, halfStarts[1], halfEnds[1], lastAxis]);
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
    return g.op('Add', [g.op('Mul', [x, cosT]), g.op('Mul', [rotated, sinT])]);
  };
  /** [N, heads·D] → [B, heads, T, D], with Qwen3's per-head norm before the transpose. */
  const heads = (x: V, count: number, norm?: string) => {
    let y = reshape(x, B, T, count, D);
    if (norm) y = rmsNorm(y, norm, D);
    return g.op('Transpose', [y], { perm: [0, 2, 1, 3] });
  };
  /** repeat_kv: [B, KV, S, D] → [B, H, S, D], kv head k serving query heads k·G … k·G+G-1. */
  const repeatKv = (x: V, S: number) => {
    if (KV === H) return x;
    const expanded = g.op('Expand', [reshape(x, B, KV, 1, S, D), shape(B, KV, H / KV, S, D)]);
    return reshape(expanded, B, H, S, D);
  };
  // Prefix tuning's keys and values of layer l: rows 2l and 2l+1 of each virtual token's [L·2, KV, D] view, [B, KV, F, D].
  const prefix = F > 0 ? (() => {
    const table = g.param(PROMPT_EMBEDDINGS, [F, config.num_hidden_layers * 2 * KV * D]);
    params.push(PROMPT_EMBEDDINGS);
    const byRow = g.op('Transpose', [reshape(table, F, config.num_hidden_layers * 2, KV, D)], { perm: [1, 2, 0, 3] });
    return (row: number) => g.op('Expand', [g.op('Slice', [byRow, g.constInt([row]), g.constInt([row + 1]), g.constInt([0])]), shape(B, KV, F, D)]);
  })() : undefined;
  /** Prefix tuning prepends the layer's virtual keys/values; with a KV cache, emits this call's k/v and prepends the cached ones. */
  const withCache = (x: V, kind: 'key' | 'value', layer: number) => {
    if (prefix) return g.op('Concat', [prefix(2 * layer + (kind === 'key' ? 0 : 1)), x], { axis: 2 });
    if (!opts.kv) return x;
    g.output(`present_${kind}.${layer}`, x);
    if (past === 0) return x;
    return g.op('Concat', [g.input(`past_${kind}.${layer}`, 'float', [B, KV, past, D]), x], { axis: 2 });
  };

  // Rows are gathered in the stored dtype and only they are cast: no float copy of the whole table.
  const embedTable = g.storedWeight('model.embed_tokens.weight', [Vocab, E]).value;
  /**
   * softmax(q kᵀ / √D + mask) v over blocks of query rows, so that one block's [B, H, rows, S] scores exist at a time
   * (64 MiB of them): the one term of a recomputed layer that grows with the square of the length.
   */
  const attention = (q: V, kT: V, v: V, S: number): V => {
    const block = (qRows: V, maskRows: V) =>
      product(g, precision, 'MatMul', g.op('Softmax', [g.op('Add', [g.op('Mul', [product(g, precision, 'MatMul', qRows, kT), scale]), maskRows])], { axis: -1 }), v);
    const rowsPerBlock = opts.attentionRows ?? attentionBlockRows(B, H, S);
    if (rowsPerBlock >= T) return block(q, mask);
    const queryRows = (x: V, start: number, end: number) => g.op('Slice', [x, g.constInt([start]), g.constInt([end]), g.constInt([2])]);
    const blocks: V[] = [];
    for (let start = 0; start < T; start += rowsPerBlock) {
      const end = Math.min(T, start + rowsPerBlock);
      blocks.push(block(queryRows(q, start, end), queryRows(mask, start, end)));
    }
    return g.op('Concat', blocks, { axis: 2 });
  };

  const tokenEmbeddings = g.toFloat(g.op('Gather', [embedTable, inputIds], { axis: 0 }));
  // Prompt tuning: the virtual tokens' embeddings before each sequence's own (PEFT: cat((prompts, inputs_embeds), 1)).
  const prompts = P > 0 ? g.param(PROMPT_EMBEDDINGS, [P, E]) : undefined;
  if (prompts) params.push(PROMPT_EMBEDDINGS);
  let h = prompts
    ? reshape(g.op('Concat', [g.op('Expand', [reshape(prompts, 1, P, E), shape(B, P, E)]), tokenEmbeddings], { axis: 1 }), N, E)
    : reshape(tokenEmbeddings, N, E);
  const scale = g.constant([1 / Math.sqrt(D)], []);
  const layer = (l: number, h: V, seed: V | undefined): V => {
    const p = `model.layers.${l}`;
    const x = rmsNorm(h, `${p}.input_layernorm.weight`, E);
    const bias = config.attention_bias;
    // Qwen2 biases q, k, v only; Llama, Mistral and Qwen3 with attention_bias bias o_proj too (transformers modeling_*).
    const oBias = bias && config.architecture !== 'Qwen2ForCausalLM';
    const q = heads(linear(x, `${p}.self_attn.q_proj`, E, H * D, bias, seed), H, config.qk_norm ? `${p}.self_attn.q_norm.weight` : undefined);
    const k = heads(linear(x, `${p}.self_attn.k_proj`, E, KV * D, bias, seed), KV, config.qk_norm ? `${p}.self_attn.k_norm.weight` : undefined);
    const v = heads(linear(x, `${p}.self_attn.v_proj`, E, KV * D, bias, seed), KV);
    const S = past + F + T;
    const kT = g.op('Transpose', [repeatKv(withCache(rope(k), 'key', l), S)], { perm: [0, 1, 3, 2] });
    const attn = attention(rope(q), kT, repeatKv(withCache(v, 'value', l), S), S);
    const merged = reshape(g.op('Transpose', [attn], { perm: [0, 2, 1, 3] }), N, H * D);
    const h1 = g.op('Add', [h, linear(merged, `${p}.self_attn.o_proj`, H * D, E, oBias, seed)]);
    const x2 = rmsNorm(h1, `${p}.post_attention_layernorm.weight`, E);
    const gate = linear(x2, `${p}.mlp.gate_proj`, E, I, false, seed);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), linear(x2, `${p}.mlp.up_proj`, E, I, false, seed)]);
    return g.op('Add', [h1, linear(act, `${p}.mlp.down_proj`, I, E, false, seed)]);
  };
  for (let l = 0; l < config.num_hidden_layers; l++) {
    // The dropout seed enters as a segment input too: its recomputed masks then differ from the forward ones as
    // nodes (so they are not merged and kept alive) while drawing the same values.
    h = opts.checkpointLayers
      ? g.checkpoint(`layer ${l}`, dropoutSeed ? [h, dropoutSeed] : [h], (hIn, seedIn) => layer(l, hIn, seedIn))
      : layer(l, h, dropoutSeed);
  }
  h = rmsNorm(h, 'model.norm.weight', E);
  const headName = config.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';

  if (opts.mode === 'logits') {
    g.output('logits', reshape(weightProduct(h, headName, [Vocab, E]), B, T, Vocab));
    return params;
  }
  /**
   * x [n, E] → logits [n, Vocab]. A head that must be cast to the compute dtype (bf16/f16 file, float32 products) goes
   * in blocks of vocabulary rows, each cast where used, so that a block's float copy (≤ 32 MiB) exists at a time, not
   * the whole head's (524 MB for Llama-2-7B, 2.1 GB for Llama-3-8B).
   */
  const headLogits = (x: V): V => {
    const stored = g.storedWeight(headName, [Vocab, E]);
    const usedAsStored = precision.low !== 'none' && !precision.emulate && stored.low === LOW_ELEM[precision.low];
    const casts = !stored.compute && !usedAsStored;
    const rowsPerBlock = opts.headRows ?? (casts ? headBlockRows(E) : Vocab);
    if (rowsPerBlock >= Vocab) return weightProduct(x, headName, [Vocab, E]);
    const blocks: V[] = [];
    for (let start = 0; start < Vocab; start += rowsPerBlock) {
      const rows: [number, number] = [start, Math.min(Vocab, start + rowsPerBlock)];
      blocks.push(product(g, precision, 'Gemm', x, g.weight(headName, [Vocab, E], rows), { transB: 1 }));
    }
    return g.op('Concat', blocks, { axis: -1 });
  };
  // Masked mean cross-entropy over pre-shifted labels: LogSoftmax + GatherElements (CUDA-friendly, no SCE op), summed
  // chunk by chunk of tokens so that only one chunk's [tokens, vocab] logits exist at a time.
  // Prompt tuning: the virtual positions have no targets (PEFT prepends -100 labels). PEFT's labels are not shifted
  // yet, so its last virtual position predicts the first token when that token is labelled; ours are pre-shifted and
  // the first token is never a target (it is a prompt token unless train_on_prompt).
  const tokenLabels = g.input('labels', 'int64', [B, Tin]);
  const labels = reshape(P > 0 ? g.op('Concat', [g.constInt(new Array<number>(B * P).fill(-100), [B, P]), tokenLabels], { axis: 1 }) : tokenLabels, N, 1);
  const valid = g.op('Not', [g.op('Equal', [labels, g.constInt([-100], [])])]);
  const count = g.op('Max', [g.op('ReduceSum', [g.toFloat(valid), g.constInt([0, 1], [2])], { keepdims: 0 }), g.constant([1], [])]);
  const chunk = Math.min(N, Math.max(1, opts.lossChunkTokens ?? N));
  const rows = (x: V, start: number, end: number) => g.op('Slice', [x, g.constInt([start]), g.constInt([end]), g.constInt([0])]);
  let total: V | undefined;
  for (let start = 0; start < N; start += chunk) {
    const end = Math.min(N, start + chunk);
    // The chunk's own rows are the segment's input: its weight copies are gated on them, so chunks share none.
    const chunkTotal = g.checkpoint(`loss ${start}-${end}`, [rows(h, start, end)], (hRows) => {
      const logits = headLogits(hRows);
      const chunkValid = rows(valid, start, end);
      const safeLabels = g.op('Where', [chunkValid, rows(labels, start, end), g.constInt([0], [])]);
      const picked = g.op('GatherElements', [g.op('LogSoftmax', [logits], { axis: -1 }), safeLabels], { axis: 1 });
      return g.op('ReduceSum', [g.op('Mul', [picked, g.toFloat(chunkValid)]), g.constInt([0, 1], [2])], { keepdims: 0 });
    });
    total = total === undefined ? chunkTotal : g.op('Add', [total, chunkTotal]);
  }
  const ce = g.op('Neg', [g.op('Div', [total!, count])]);
  // AdaLoRA: PEFT's AdaLoraModel.forward adds the orthogonal regularization to every loss it returns.
  const orth = opts.lora.adalora && opts.lora.adalora.orthRegWeight > 0 && svdPairs.length > 0 ? orthRegularization(g, svdPairs, opts.lora.r, opts.lora.adalora.orthRegWeight) : undefined;
  g.output('loss', orth ? g.op('Add', [ce, orth]) : ce);
  return params;
}
