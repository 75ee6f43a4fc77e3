// Text generation with a KV cache: a prefill graph runs the prompt once and returns its keys/values, then a one-token
// decode graph attends over a fixed-capacity cache the host fills slot by slot (both built from native/model/llama.ts,
// so an unmerged LoRA or DoRA adapter runs exactly as in training). Greedy at temperature 0, else temperature + top-p sampling.
import { mulberry32 } from '../util/random';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelConfig } from './hf-config';
import { buildLlamaGraph, loraAName, loraBName, MASK_VALUE, ropeInvFreq } from './llama';
import { OnnxGraphSink, type ComputeDtype, type WeightSource } from '../engine/onnx-export';
import { createSession, type ResolvedProvider } from '../engine/session';
import type { AuditedNode } from '../engine/cuda-kernels';
import type { WeightStore } from './safetensors';
import { storeWeightSources } from './weight-sources';
import { ensureNf4Cache } from './nf4-cache';
import { ADAPTER_WEIGHTS, peftTensorName, readPeftAdapter } from './peft-io';
import { stopTokenIds, type ModelFolder } from './model-folder';
import { TextStream } from './text-stream';
import { doraMagnitudeName } from './dora';
import { UserError } from '../util/errors';
import { checkContextLength, type PositionsOf } from './context-length';
import { PROMPT_EMBEDDINGS, prefixKeyValues, type VirtualKind } from './prompt-learning';
import { promptAdapterKind, readPromptAdapter } from './prompt-learning-io';

/** LoRA tensors to run unmerged: baseName → A [r, in], B [out, r], and with `dora` the magnitude m [out]. */
export interface DecoderLora {
  r: number;
  scaling: number;
  dora?: boolean;
  weights: Map<string, { A: Float32Array; B: Float32Array; m?: Float32Array; in: number; out: number }>;
}

export interface DecoderSpec {
  config: ModelConfig;
  weights: (hfName: string) => WeightSource;
  /** The folder external-data locations are relative to (the model folder). */
  externalDataDir?: string;
  /** The weights hold NF4 tensors (QLoRA): dequantized per step, never folded into float32 copies. */
  quantized?: boolean;
  lora?: DecoderLora;
  /**
   * Prompt or prefix tuning (native/model/prompt-learning.ts): prompt_embeddings [tokens, width]. Prompt tuning's run
   * through the prefill before the prompt's tokens; prefix tuning's keys/values seed the cache, the prompt then
   * starting at position `tokens` (PEFT's generate: past_key_values from get_prompt, positions after them).
   */
  virtual?: { kind: VirtualKind; tokens: number; embeddings: Float32Array };
  dtype: ComputeDtype;
  device?: ResolvedProvider;
}

/** One sequence's decoder: prefill once, then one token per call. */
export class KvDecoder {
  private pos = 0;
  private readonly keys: Float32Array[] | Float64Array[];
  private readonly values: Float32Array[] | Float64Array[];
  private readonly Arr: Float32ArrayConstructor | Float64ArrayConstructor;
  private readonly invFreq: Float64Array;

  private constructor(
    private readonly spec: DecoderSpec,
    private readonly capacity: number,
    private readonly prefillSession: ort.InferenceSession,
    private readonly decodeSession: ort.InferenceSession,
  ) {
    const { num_key_value_heads: KV, head_dim: D, num_hidden_layers: L } = spec.config;
    this.Arr = spec.dtype === 'float64' ? Float64Array : Float32Array;
    this.keys = Array.from({ length: L }, () => new this.Arr(KV * capacity * D)) as Float32Array[];
    this.values = Array.from({ length: L }, () => new this.Arr(KV * capacity * D)) as Float32Array[];
    this.invFreq = ropeInvFreq(spec.config);
  }

  /**
   * Builds the two sessions for a prompt of `promptLength` tokens and room for `capacity` tokens in all (the virtual
   * tokens of prompt or prefix tuning come on top).
   */
  static async create(spec: DecoderSpec, promptLength: number, capacity: number): Promise<KvDecoder> {
    const sites = [...(spec.lora?.weights ?? new Map()).entries()].map(([baseName, t]) => ({ baseName, in: t.in, out: t.out }));
    const lora = { r: spec.lora?.r ?? 1, scaling: spec.lora?.scaling ?? 0, sites, dropout: 0, dora: spec.lora?.dora ?? false };
    const virtual = spec.virtual;
    const session = async (length: number, past: number, prompt: boolean) => {
      const sink = new OnnxGraphSink(spec.dtype, spec.weights);
      const withPrompt = prompt && virtual ? { ...lora, virtual: { kind: virtual.kind, tokens: virtual.tokens } } : lora;
      buildLlamaGraph(sink, spec.config, { batch: 1, length, lora: withPrompt, mode: 'logits', kv: { past } });
      return createSession({ bytes: sink.toBytes(), nodes: sink.nodeList as AuditedNode[] }, { device: spec.device, dtype: spec.dtype, externalDataDir: spec.externalDataDir, noConstantFolding: spec.quantized });
    };
    const total = capacity + (virtual?.tokens ?? 0);
    const prefill = await session(promptLength, virtual?.kind === 'prefix' ? virtual.tokens : 0, virtual?.kind === 'prompt');
    const decoder = new KvDecoder(spec, total, prefill, await session(1, total, false));
    if (virtual?.kind === 'prefix') decoder.seedPrefix(virtual.embeddings, virtual.tokens);
    return decoder;
  }

  /** Prefix tuning: the virtual keys/values fill cache slots 0 … tokens-1, as they are (never rotated). */
  private seedPrefix(embeddings: Float32Array, tokens: number): void {
    const { head_dim: D } = this.spec.config;
    prefixKeyValues(embeddings, this.spec.config, tokens).forEach(({ keys, values }, l) => {
      for (let h = 0; h < this.spec.config.num_key_value_heads; h++) {
        for (let t = 0; t < tokens; t++) {
          const dst = (h * this.capacity + t) * D, src = (h * tokens + t) * D;
          this.keys[l].set(keys.subarray(src, src + D), dst);
          this.values[l].set(values.subarray(src, src + D), dst);
        }
      }
    });
    this.pos = tokens;
  }

  private float(data: ArrayLike<number>, dims: number[]): ort.Tensor {
    return new ort.Tensor(this.spec.dtype === 'float64' ? 'float64' : 'float32', this.Arr.from(data), dims);
  }

  private loraFeeds(feeds: Record<string, ort.Tensor>): void {
    const lora = this.spec.lora;
    if (!lora) return;
    for (const [baseName, t] of lora.weights) {
      feeds[loraAName(baseName)] = this.float(t.A, [lora.r, t.in]);
      feeds[loraBName(baseName)] = this.float(t.B, [t.out, lora.r]);
      if (lora.dora) {
        if (!t.m) throw new Error(`DoRA adapter without a magnitude for ${baseName}`);
        feeds[doraMagnitudeName(baseName)] = this.float(t.m, [t.out]);
      }
    }
  }

  private ropeFeeds(feeds: Record<string, ort.Tensor>, from: number, count: number): void {
    const D = this.spec.config.head_dim;
    const cos = new Float64Array(count * D), sin = new Float64Array(count * D);
    for (let t = 0; t < count; t++) {
      for (let i = 0; i < D; i++) {
        const angle = (from + t) * this.invFreq[i % (D / 2)];
        cos[t * D + i] = Math.cos(angle);
        sin[t * D + i] = Math.sin(angle);
      }
    }
    feeds.rope_cos = this.float(cos, [count, D]);
    feeds.rope_sin = this.float(sin, [count, D]);
  }

  /** Copies this call's keys/values [1, KV, count, D] into cache slots pos … pos+count-1. */
  private store(out: ort.InferenceSession.OnnxValueMapType, count: number): void {
    const { num_key_value_heads: KV, head_dim: D, num_hidden_layers: L } = this.spec.config;
    for (let l = 0; l < L; l++) {
      const k = out[`present_key.${l}`].data as Float32Array, v = out[`present_value.${l}`].data as Float32Array;
      for (let h = 0; h < KV; h++) {
        for (let t = 0; t < count; t++) {
          const dst = (h * this.capacity + this.pos + t) * D, src = (h * count + t) * D;
          this.keys[l].set(k.subarray(src, src + D), dst);
          this.values[l].set(v.subarray(src, src + D), dst);
        }
      }
    }
    this.pos += count;
  }

  /**
   * Runs the prompt; returns the logits of its last position. Prompt tuning's virtual tokens run first in the same
   * call (positions 0 … P-1); after prefix tuning's seeded cache the prompt attends to the F virtual keys too.
   */
  async prefill(ids: number[]): Promise<Float32Array | Float64Array> {
    const V = this.spec.config.vocab_size, virtual = this.spec.virtual;
    const P = virtual?.kind === 'prompt' ? virtual.tokens : 0, past = this.pos;
    const T = ids.length + P, S = past + T;
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]) };
    const bias = new Float64Array(T * S);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) bias[i * S + past + j] = MASK_VALUE;
    feeds.attn_bias = this.float(bias, [1, 1, T, S]);
    this.ropeFeeds(feeds, past, T);
    this.loraFeeds(feeds);
    if (P > 0) feeds[PROMPT_EMBEDDINGS] = this.float(virtual!.embeddings, [P, this.spec.config.hidden_size]);
    if (past > 0) this.pastFeeds(feeds, past);
    const out = await this.prefillSession.run(feeds);
    this.store(out, T);
    return (out.logits.data as Float32Array).slice((T - 1) * V, T * V);
  }

  /** The cache's first `count` slots of every layer as past_key.L / past_value.L [1, KV, count, D]. */
  private pastFeeds(feeds: Record<string, ort.Tensor>, count: number): void {
    const { num_key_value_heads: KV, head_dim: D, num_hidden_layers: L } = this.spec.config;
    for (let l = 0; l < L; l++) {
      const keys = new this.Arr(KV * count * D), values = new this.Arr(KV * count * D);
      for (let h = 0; h < KV; h++) {
        keys.set(this.keys[l].subarray(h * this.capacity * D, (h * this.capacity + count) * D), h * count * D);
        values.set(this.values[l].subarray(h * this.capacity * D, (h * this.capacity + count) * D), h * count * D);
      }
      feeds[`past_key.${l}`] = this.float(keys, [1, KV, count, D]);
      feeds[`past_value.${l}`] = this.float(values, [1, KV, count, D]);
    }
  }

  /** Feeds one token at the next position; returns its logits. */
  async next(id: number): Promise<Float32Array | Float64Array> {
    if (this.pos >= this.capacity) throw new Error(`KV cache full (${this.capacity} positions)`);
    const { num_key_value_heads: KV, head_dim: D, num_hidden_layers: L } = this.spec.config;
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', BigInt64Array.from([BigInt(id)]), [1, 1]) };
    const bias = new Float64Array(this.capacity + 1).fill(MASK_VALUE);
    bias.fill(0, 0, this.pos);
    bias[this.capacity] = 0; // the token itself, appended after the cache
    feeds.attn_bias = this.float(bias, [1, 1, 1, this.capacity + 1]);
    this.ropeFeeds(feeds, this.pos, 1);
    this.loraFeeds(feeds);
    const type = this.spec.dtype === 'float64' ? 'float64' : 'float32';
    for (let l = 0; l < L; l++) {
      // The cache arrays are passed as they are (no copy per step).
      feeds[`past_key.${l}`] = new ort.Tensor(type, this.keys[l], [1, KV, this.capacity, D]);
      feeds[`past_value.${l}`] = new ort.Tensor(type, this.values[l], [1, KV, this.capacity, D]);
    }
    const out = await this.decodeSession.run(feeds);
    this.store(out, 1);
    return out.logits.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.prefillSession.release();
    await this.decodeSession.release();
  }
}

/** Picks the next token: argmax at temperature 0, else softmax(logits / T) restricted to the top-p nucleus. */
export function sampleToken(logits: ArrayLike<number>, temperature: number, topP: number, random: () => number): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  if (temperature <= 0) return best;
  const probs = Array.from(logits, (z, i) => ({ i, p: Math.exp((z - logits[best]) / temperature) }));
  const sum = probs.reduce((s, x) => s + x.p, 0);
  probs.sort((a, b) => b.p - a.p);
  const nucleus: typeof probs = [];
  let mass = 0;
  for (const x of probs) {
    nucleus.push(x);
    mass += x.p / sum;
    if (mass >= topP) break;
  }
  let u = random() * nucleus.reduce((s, x) => s + x.p, 0);
  for (const x of nucleus) {
    u -= x.p;
    if (u <= 0) return x.i;
  }
  return nucleus[nucleus.length - 1].i;
}

/** Deterministic uniform [0, 1) numbers (mulberry32, native/util/random.ts) so a seed reproduces a sample. */
export const uniformRandom = mulberry32;

export interface TokenGenerationOptions {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  stopIds: number[];
}

/** Generated token ids, one at a time (the stop token is not yielded). */
export async function* generateIds(spec: DecoderSpec, promptIds: number[], opts: TokenGenerationOptions): AsyncGenerator<number> {
  if (promptIds.length === 0) throw new Error('the prompt encodes to no tokens');
  const decoder = await KvDecoder.create(spec, promptIds.length, promptIds.length + opts.maxNewTokens);
  const random = uniformRandom(opts.seed);
  try {
    let logits = await decoder.prefill(promptIds);
    for (let n = 0; n < opts.maxNewTokens; n++) {
      const id = sampleToken(logits, opts.temperature, opts.topP, random);
      if (opts.stopIds.includes(id)) return;
      yield id;
      if (n + 1 < opts.maxNewTokens) logits = await decoder.next(id);
    }
  } finally {
    await decoder.dispose();
  }
}

export interface GenerationStats {
  promptTokens: number[];
  tokens: number[];
  tokensPerS: number;
}

export interface GenerateRequest {
  model: ModelFolder;
  /** A PEFT adapter folder, run unmerged. */
  adapterDir?: string;
  /** Raw text, encoded as tokenizer.json says (callers apply a chat template first when they want one). */
  prompt: string;
  maxNewTokens: number;
  /** maxNewTokens is a default (generation_config.json), not the user's: it shrinks to what fits the model's positions. */
  maxNewTokensIsDefault?: boolean;
  temperature: number;
  topP: number;
  seed: number;
  device?: ResolvedProvider;
  /** 'nf4': the base's linear weights from its NF4 cache (native/model/nf4-cache.ts), as a QLoRA run trained them. */
  quantization?: 'none' | 'nf4';
  /** Go past the model's max_position_embeddings (--allow-long-context); onWarning then hears why that is risky. */
  allowLongContext?: boolean;
  onWarning?: (text: string) => void;
  /** Called once at the end with the ids and the decoding speed. */
  onStats?: (stats: GenerationStats) => void;
}

/**
 * Checked before anything is allocated: the KV cache holds prompt + new tokens, and positions past
 * max_position_embeddings are ones the model never learned (its rotary embedding was not trained there), allowed only
 * when the user insists (`allow`: the warning to show is returned).
 */
export function checkGenerationLength(promptTokens: number, maxNewTokens: number, model: PositionsOf, allow = false): string | undefined {
  if (promptTokens === 0) throw new UserError('the prompt is empty (it encodes to no tokens)', { fix: 'pass a non-empty --prompt or --instruction' });
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new UserError(`max new tokens must be a whole number ≥ 1, got ${maxNewTokens}`, { fix: 'pass --max-new-tokens N' });
  const room = model.config.max_position_embeddings - promptTokens;
  return checkContextLength({
    what: `the prompt (${promptTokens} tokens) plus ${maxNewTokens} new tokens`, tokens: promptTokens + maxNewTokens, model, allow,
    fix: room >= 1 ? `pass --max-new-tokens ${room} or less, or shorten the prompt` : `shorten the prompt below ${model.config.max_position_embeddings} tokens`,
  });
}

/** Streams the generated text piece by piece (text-stream.ts: a piece is emitted once no later token can change it). */
export async function* generate(req: GenerateRequest): AsyncGenerator<string> {
  const tok = req.model.tokenizer;
  const promptTokens = tok.encode(req.prompt, true);
  const positions = req.model.config.max_position_embeddings;
  // Prompt/prefix tuning adapters (PEFT PROMPT_TUNING / PREFIX_TUNING) add virtual tokens instead of LoRA weights;
  // they take positions before the prompt's.
  const virtualKind = req.adapterDir ? promptAdapterKind(req.adapterDir) : undefined;
  const virtual = virtualKind ? readPromptAdapter(req.adapterDir!, req.model.config) : undefined;
  const used = promptTokens.length + (virtual?.tokens ?? 0);
  // A default length shrinks to the model's positions, unless the user insists on going past them.
  const maxNewTokens = req.maxNewTokensIsDefault && !req.allowLongContext ? Math.max(1, Math.min(req.maxNewTokens, positions - used)) : req.maxNewTokens;
  const longContext = checkGenerationLength(used, maxNewTokens, req.model, req.allowLongContext);
  if (longContext) req.onWarning?.(longContext);
  const lora = req.adapterDir && !virtual ? loadAdapterForDecoding(req.adapterDir, req.model.weights) : undefined;
  const cache = req.quantization === 'nf4' ? ensureNf4Cache(req.model) : undefined;
  const sources = cache ? { weights: cache.weights, externalDataDir: cache.dir, quantized: true } : storeWeightSources(req.model.weights, req.model.dir);
  const spec: DecoderSpec = { config: req.model.config, ...sources, lora, virtual, dtype: 'float32', device: req.device };
  const tokens: number[] = [];
  const stream = new TextStream((ids) => tok.decode(ids, true));
  let started = 0;
  for await (const id of generateIds(spec, promptTokens, { maxNewTokens, temperature: req.temperature, topP: req.topP, seed: req.seed, stopIds: stopTokenIds(req.model) })) {
    if (tokens.length === 0) started = performance.now();
    tokens.push(id);
    const piece = stream.push(id);
    if (piece) yield piece;
  }
  const rest = stream.end();
  if (rest) yield rest;
  const seconds = (performance.now() - started) / 1000;
  req.onStats?.({ promptTokens, tokens, tokensPerS: tokens.length > 1 ? (tokens.length - 1) / Math.max(seconds, 1e-9) : 0 });
}

/** A PEFT adapter (native/model/peft-io.ts) checked against the model's weights, as float32 LoRA tensors. */
export function loadAdapterForDecoding(dir: string, model: WeightStore): DecoderLora {
  const adapter = readPeftAdapter(dir);
  const file = join(dir, ADAPTER_WEIGHTS);
  for (const [baseName, t] of adapter.weights) {
    const base = model.entry(`${baseName}.weight`)?.entry.shape;
    if (!base) throw new UserError(`${peftTensorName(baseName, 'A')} adapts ${baseName}, which the model does not have`, { where: { file }, fix: 'use the adapter with the base model it was trained on' });
    if (base[0] !== t.out || base[1] !== t.in) {
      throw new UserError(`shape mismatch: ${peftTensorName(baseName, 'A')} [${t.r},${t.in}] and lora_B [${t.out},${t.r}] imply [${t.out}, ${t.in}], but ${baseName}.weight is [${base}]`, {
        where: { file }, fix: 'use the adapter with the base model it was trained on',
      });
    }
  }
  return { r: adapter.r, scaling: adapter.scaling, dora: adapter.config.use_dora === true, weights: adapter.weights };
}
