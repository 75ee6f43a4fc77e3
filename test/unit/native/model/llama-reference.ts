// Independent float64 reference forward pass of the Llama family (Llama, Mistral, Qwen2, Qwen3) in plain loops, written
// from HF transformers' modeling_llama / modeling_qwen2 / modeling_qwen3 (and PEFT's LoRA layer), never from the engine.
// Tests compare the engine's graph against it; it favours obviousness over speed.

/** The subset of ModelConfig (native/model/hf-config.ts) the forward pass reads. */
export interface RefConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: { rope_type: 'llama3'; factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number } | null;
  tie_word_embeddings: boolean;
  attention_bias: boolean;
  qk_norm: boolean;
  /** Qwen2 biases q, k, v only; Llama/Mistral/Qwen3 with attention_bias also bias o_proj (modeling_llama.py). */
  architecture?: string;
}

const oProjBias = (cfg: RefConfig) => cfg.attention_bias && cfg.architecture !== 'Qwen2ForCausalLM';

/** HF tensor names → row-major float64 data (linear weights are [out, in], as in PyTorch). */
export type RefWeights = Map<string, Float64Array>;

export interface RefLora {
  /** baseName ('model.layers.0.self_attn.q_proj') → A [r, in], B [out, r]. */
  weights: Map<string, { A: Float64Array; B: Float64Array }>;
  r: number;
  scaling: number;
  /** Optional dropout on the LoRA branch input: returns dropout(x) (tests pass a fixed mask). */
  dropout?: (baseName: string, x: Float64Array, rows: number, cols: number) => Float64Array;
  /** DoRA: baseName → magnitude m [out] (the DoRA paper, PEFT's DoraLinearLayer). */
  magnitudes?: Map<string, Float64Array>;
}

/** Additive mask value for disallowed keys: finite (HF uses finfo.min) so fully masked rows stay NaN-free. */
export const MASK_VALUE = -1e9;

function weight(w: RefWeights, name: string): Float64Array {
  const t = w.get(name);
  if (!t) throw new Error(`reference: missing weight ${name}`);
  return t;
}

/** y[n, o] = Σ_i x[n, i] W[o, i] (+ bias[o]) — torch.nn.Linear. */
export function linear(x: Float64Array, rows: number, inF: number, W: Float64Array, outF: number, bias?: Float64Array): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let n = 0; n < rows; n++) {
    for (let o = 0; o < outF; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < inF; i++) s += x[n * inF + i] * W[o * inF + i];
      y[n * outF + o] = s;
    }
  }
  return y;
}

/** LlamaRMSNorm over the last axis of width `d`: x / sqrt(mean(x²) + eps) · w. eps is rounded to f32 as torch stores it. */
export function rmsNorm(x: Float64Array, d: number, w: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  const e = Math.fround(eps);
  for (let r = 0; r < x.length / d; r++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[r * d + i] ** 2;
    const inv = 1 / Math.sqrt(ss / d + e);
    for (let i = 0; i < d; i++) y[r * d + i] = x[r * d + i] * inv * w[i];
  }
  return y;
}

/** inv_freq of the default rope, with Llama 3's frequency-dependent scaling (_compute_llama3_parameters). */
export function ropeInvFreq(cfg: RefConfig): Float64Array {
  const half = cfg.head_dim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / cfg.rope_theta ** ((2 * i) / cfg.head_dim);
  const s = cfg.rope_scaling;
  if (!s) return inv;
  const lowWavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const highWavelen = s.original_max_position_embeddings / s.high_freq_factor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    const scaled = wavelen > lowWavelen ? inv[i] / s.factor : inv[i];
    const smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    const medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
    inv[i] = medium ? (1 - smooth) * (scaled / s.factor) + smooth * scaled : scaled;
  }
  return inv;
}

/** Applies RoPE in place to x laid out [T, heads, D]: x·cos + rotate_half(x)·sin, rotate_half(x) = cat(-x2, x1). */
function applyRope(x: Float64Array, T: number, heads: number, D: number, invFreq: Float64Array, from = 0): void {
  const half = D / 2;
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < heads; h++) {
      const base = (t * heads + h) * D;
      for (let i = 0; i < half; i++) {
        const angle = (from + t) * invFreq[i];
        const c = Math.cos(angle), s = Math.sin(angle);
        const x1 = x[base + i], x2 = x[base + half + i];
        x[base + i] = x1 * c - x2 * s;
        x[base + half + i] = x2 * c + x1 * s;
      }
    }
  }
}

/** A linear layer with its LoRA branch attached when `baseName` is adapted (PEFT: base(x) + B(A(dropout(x)))·scaling). */
function adapted(x: Float64Array, rows: number, inF: number, outF: number, w: RefWeights, baseName: string, lora: RefLora | undefined, bias = false): Float64Array {
  const y = linear(x, rows, inF, weight(w, `${baseName}.weight`), outF, bias ? weight(w, `${baseName}.bias`) : undefined);
  const ab = lora?.weights.get(baseName);
  if (!lora || !ab) return y;
  const xd = lora.dropout ? lora.dropout(baseName, x, rows, inF) : x;
  const a = linear(xd, rows, inF, ab.A, lora.r);
  const b = linear(a, rows, lora.r, ab.B, outF);
  const m = lora.magnitudes?.get(baseName);
  if (!m) {
    for (let i = 0; i < y.length; i++) y[i] += lora.scaling * b[i];
    return y;
  }
  // DoRA, PEFT's forward: y = base(x) + (m/‖W + s·B·A‖_row − 1)·(W xd) + (m/‖W + s·B·A‖_row)·s·B A xd.
  const W = weight(w, `${baseName}.weight`);
  const baseResult = linear(xd, rows, inF, W, outF);
  const scale = new Float64Array(outF);
  for (let o = 0; o < outF; o++) {
    let sum = 0;
    for (let i = 0; i < inF; i++) {
      let v = W[o * inF + i];
      for (let k = 0; k < lora.r; k++) v += lora.scaling * ab.B[o * lora.r + k] * ab.A[k * inF + i];
      sum += v * v;
    }
    scale[o] = m[o] / Math.sqrt(sum);
  }
  for (let i = 0; i < y.length; i++) {
    const o = i % outF;
    y[i] += (scale[o] - 1) * baseResult[i] + scale[o] * lora.scaling * b[i];
  }
  return y;
}

/**
 * Prompt or prefix tuning as PEFT's PeftModelForCausalLM.forward runs them: `embeddings` [N, hidden] prepended to the
 * input embeddings with an attention mask of ones (prompt), or [N, L·2·KV·D] viewed per token as [L·2, KV, D] and
 * given to the model as past_key_values (prefix: keys as they are, the tokens at positions N …).
 */
export interface RefVirtual {
  kind: 'prompt' | 'prefix';
  tokens: number;
  embeddings: Float64Array;
}

/**
 * Logits [B, T, V] for input ids [B][T] and attention mask [B][T] (1 = token, 0 = padding); with a prompt-tuning
 * `virtual`, [B, N + T, V] (the virtual positions first, as the model PEFT calls returns them).
 */
export function referenceLogits(cfg: RefConfig, w: RefWeights, inputIds: number[][], attentionMask: number[][], lora?: RefLora, virtual?: RefVirtual): Float64Array {
  const { hidden_size: E, num_attention_heads: H, num_key_value_heads: KV, head_dim: D, intermediate_size: I, vocab_size: V } = cfg;
  const P = virtual?.kind === 'prompt' ? virtual.tokens : 0, F = virtual?.kind === 'prefix' ? virtual.tokens : 0;
  const B = inputIds.length, T = inputIds[0].length + P;
  const invFreq = ropeInvFreq(cfg);
  const out = new Float64Array(B * T * V);
  const embed = weight(w, 'model.embed_tokens.weight');
  for (let b = 0; b < B; b++) {
    let h: Float64Array = new Float64Array(T * E);
    if (P > 0) h.set(virtual!.embeddings.subarray(0, P * E), 0);
    for (let t = P; t < T; t++) h.set(embed.subarray(inputIds[b][t - P] * E, (inputIds[b][t - P] + 1) * E), t * E);
    const keyAllowed = (j: number) => j < P || attentionMask[b][j - P] !== 0;
    for (let l = 0; l < cfg.num_hidden_layers; l++) {
      const p = `model.layers.${l}`;
      const x = rmsNorm(h, E, weight(w, `${p}.input_layernorm.weight`), cfg.rms_norm_eps);
      let q = adapted(x, T, E, H * D, w, `${p}.self_attn.q_proj`, lora, cfg.attention_bias);
      let k = adapted(x, T, E, KV * D, w, `${p}.self_attn.k_proj`, lora, cfg.attention_bias);
      const v = adapted(x, T, E, KV * D, w, `${p}.self_attn.v_proj`, lora, cfg.attention_bias);
      if (cfg.qk_norm) {
        // Qwen3 normalizes each head over head_dim before RoPE.
        q = rmsNorm(q, D, weight(w, `${p}.self_attn.q_norm.weight`), cfg.rms_norm_eps);
        k = rmsNorm(k, D, weight(w, `${p}.self_attn.k_norm.weight`), cfg.rms_norm_eps);
      }
      applyRope(q, T, H, D, invFreq, F);
      applyRope(k, T, KV, D, invFreq, F);
      // Prefix tuning: the layer's virtual keys/values (row 2l and 2l+1 of each token's [L·2, KV, D] view) come first.
      const pastAt = (j: number, hk: number, d: number, which: 0 | 1) =>
        virtual!.embeddings[j * cfg.num_hidden_layers * 2 * KV * D + ((2 * l + which) * KV + hk) * D + d];
      const attn = new Float64Array(T * H * D);
      const groups = H / KV; // repeat_kv: query head hq reads kv head floor(hq / groups)
      const scores = new Float64Array(F + T);
      for (let hq = 0; hq < H; hq++) {
        const hk = Math.floor(hq / groups);
        for (let i = 0; i < T; i++) {
          let max = -Infinity;
          for (let j = 0; j < F + T; j++) {
            let s = 0;
            for (let d = 0; d < D; d++) s += q[(i * H + hq) * D + d] * (j < F ? pastAt(j, hk, d, 0) : k[((j - F) * KV + hk) * D + d]);
            s /= Math.sqrt(D);
            if (j >= F && (j - F > i || !keyAllowed(j - F))) s += MASK_VALUE;
            scores[j] = s;
            if (s > max) max = s;
          }
          let sum = 0;
          for (let j = 0; j < F + T; j++) { scores[j] = Math.exp(scores[j] - max); sum += scores[j]; }
          for (let j = 0; j < F + T; j++) {
            const pj = scores[j] / sum;
            for (let d = 0; d < D; d++) attn[(i * H + hq) * D + d] += pj * (j < F ? pastAt(j, hk, d, 1) : v[((j - F) * KV + hk) * D + d]);
          }
        }
      }
      const o = adapted(attn, T, H * D, E, w, `${p}.self_attn.o_proj`, lora, oProjBias(cfg));
      for (let i = 0; i < h.length; i++) h[i] += o[i];
      const x2 = rmsNorm(h, E, weight(w, `${p}.post_attention_layernorm.weight`), cfg.rms_norm_eps);
      const gate = adapted(x2, T, E, I, w, `${p}.mlp.gate_proj`, lora);
      const up = adapted(x2, T, E, I, w, `${p}.mlp.up_proj`, lora);
      for (let i = 0; i < gate.length; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
      const down = adapted(gate, T, I, E, w, `${p}.mlp.down_proj`, lora);
      for (let i = 0; i < h.length; i++) h[i] += down[i];
    }
    h = rmsNorm(h, E, weight(w, 'model.norm.weight'), cfg.rms_norm_eps);
    const head = cfg.tie_word_embeddings ? embed : weight(w, 'lm_head.weight');
    out.set(linear(h, T, E, head, V), b * T * V);
  }
  return out;
}

/** Mean over positions with label ≠ -100 of -log softmax(logits)[label]; labels are pre-shifted (target of position t). */
export function referenceLoss(logits: Float64Array, labels: number[][], V: number): number {
  let total = 0, count = 0;
  const T = labels[0].length;
  for (let b = 0; b < labels.length; b++) {
    for (let t = 0; t < T; t++) {
      const y = labels[b][t];
      if (y === -100) continue;
      const row = logits.subarray((b * T + t) * V, (b * T + t + 1) * V);
      let max = -Infinity;
      for (const z of row) if (z > max) max = z;
      let sum = 0;
      for (const z of row) sum += Math.exp(z - max);
      total += -(row[y] - max - Math.log(sum));
      count++;
    }
  }
  return total / count;
}

/** Deterministic pseudo-random numbers in [-1, 1) (mulberry32), so fixtures are built by code. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

/** Random weights with HF names and shapes for `cfg` (norm weights near 1, others scaled ~1/sqrt(fan-in)). */
export function randomWeights(cfg: RefConfig, seed: number): RefWeights {
  const rnd = seededRandom(seed);
  const w: RefWeights = new Map();
  const mat = (name: string, out: number, inF: number) => w.set(name, Float64Array.from({ length: out * inF }, () => rnd() / Math.sqrt(inF)));
  const vec = (name: string, n: number, around: number, spread: number) => w.set(name, Float64Array.from({ length: n }, () => around + spread * rnd()));
  const { hidden_size: E, num_attention_heads: H, num_key_value_heads: KV, head_dim: D, intermediate_size: I, vocab_size: V } = cfg;
  w.set('model.embed_tokens.weight', Float64Array.from({ length: V * E }, () => rnd()));
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    vec(`${p}.input_layernorm.weight`, E, 1, 0.2);
    vec(`${p}.post_attention_layernorm.weight`, E, 1, 0.2);
    mat(`${p}.self_attn.q_proj.weight`, H * D, E);
    mat(`${p}.self_attn.k_proj.weight`, KV * D, E);
    mat(`${p}.self_attn.v_proj.weight`, KV * D, E);
    mat(`${p}.self_attn.o_proj.weight`, E, H * D);
    if (cfg.attention_bias) {
      vec(`${p}.self_attn.q_proj.bias`, H * D, 0, 0.1);
      vec(`${p}.self_attn.k_proj.bias`, KV * D, 0, 0.1);
      vec(`${p}.self_attn.v_proj.bias`, KV * D, 0, 0.1);
    }
    if (oProjBias(cfg)) vec(`${p}.self_attn.o_proj.bias`, E, 0, 0.1);
    if (cfg.qk_norm) {
      vec(`${p}.self_attn.q_norm.weight`, D, 1, 0.2);
      vec(`${p}.self_attn.k_norm.weight`, D, 1, 0.2);
    }
    mat(`${p}.mlp.gate_proj.weight`, I, E);
    mat(`${p}.mlp.up_proj.weight`, I, E);
    mat(`${p}.mlp.down_proj.weight`, E, I);
  }
  vec('model.norm.weight', E, 1, 0.2);
  if (!cfg.tie_word_embeddings) mat('lm_head.weight', V, E);
  return w;
}
