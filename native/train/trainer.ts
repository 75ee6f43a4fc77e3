// The LoRA trainer: per optimizer step it runs a loss-and-gradient program (forward + backward of native/model/llama.ts,
// built per (batch, length) bucket and cached) over each micro-batch, weights the micro-batches by their trained tokens,
// clips the global gradient norm and applies AdamW (PyTorch semantics, decoupled weight decay, LoRA+ learning rate for B).
// Its state — LoRA A/B, AdamW moments and the step count — is plain named tensors, so a checkpoint is just tensors.
import { mulberry32 } from '../util/random';
import type { RunConfig } from '../protocol';
import type { ModelConfig } from '../model/hf-config';
import type { ModelFolder } from '../model/model-folder';
import type { ResolvedDevice } from '../engine/cuda-discovery';
import { loraAName, loraBName, type LoraSite } from '../model/llama';
import type { ComputeDtype, WeightSource } from '../engine/onnx-export';
import { loraScaling } from '../model/lora';
import type { MicroBatch, StepResult, TrainerLike } from './loop';

export interface TrainerState {
  step: number;
  /** LoRA A/B ('<base>.lora_A'/'.lora_B') and AdamW moments ('<param>.exp_avg'/'.exp_avg_sq'), float32. */
  tensors: Map<string, Float32Array>;
}

export interface Trainer extends TrainerLike {
  exportState(): TrainerState;
  /** Shapes of the exportState() tensors by name. */
  stateShapes(): Map<string, number[]>;
  /** baseName → A [r, in], B [out, r] (copies). */
  loraWeights(): Map<string, { A: Float32Array; B: Float32Array }>;
  dispose(): Promise<void>;
}

/** What a bucket's compiled program computes for one micro-batch: the masked mean loss and d loss / d param. */
export interface LossGradProgram {
  run(batch: MicroBatch, params: Map<string, Float32Array>, dropoutMasks?: Map<string, Float32Array>): Promise<{ loss: number; grads: Map<string, Float32Array> }>;
  loss(batch: MicroBatch, params: Map<string, Float32Array>): Promise<number>;
  dispose(): Promise<void>;
}

export interface ProgramSpec {
  model: ModelFolder;
  config: ModelConfig;
  batch: number;
  length: number;
  lora: { r: number; scaling: number; sites: LoraSite[]; dropout: boolean };
  device: ResolvedDevice;
  /** float32 by default; float64 for gradient checks. */
  dtype?: ComputeDtype;
  /** Weight sources instead of the model folder's safetensors (tests with in-memory weights). */
  weights?: (hfName: string) => WeightSource;
}

export type ProgramFactory = (spec: ProgramSpec) => Promise<LossGradProgram>;

export interface TrainerOptions {
  device: ResolvedDevice;
  /** The adapted modules (native/model/lora.ts resolveTargets). */
  targets: LoraSite[];
  state?: TrainerState;
  /** Builds a bucket's program; the engine's by default. */
  program?: ProgramFactory;
  dtype?: ComputeDtype;
  weights?: (hfName: string) => WeightSource;
  /**
   * Compiled bucket programs kept at once. float32 weights are memory-mapped and shared by all sessions, so the default
   * keeps every bucket; bf16/f16 weights are cast to float32 once per session, so then only the 2 most recent stay.
   */
  maxPrograms?: number;
}

export const ADAM_BETAS: [number, number] = [0.9, 0.999];
export const ADAM_EPS = 1e-8;

/** PEFT's init: A ~ kaiming_uniform(a=√5) = U(-1/√in, 1/√in), B = 0 (so training starts at the base model). */
export function initLoraWeights(targets: LoraSite[], r: number, seed: number): Map<string, Float32Array> {
  const random = mulberry32(seed);
  const params = new Map<string, Float32Array>();
  for (const t of targets) {
    const bound = 1 / Math.sqrt(t.in);
    params.set(loraAName(t.baseName), Float32Array.from({ length: r * t.in }, () => (2 * random() - 1) * bound));
    params.set(loraBName(t.baseName), new Float32Array(t.out * r));
  }
  return params;
}


/** One AdamW update in place (torch.optim.AdamW): decay, moments, bias-corrected step. `t` is the 1-based step. */
export function adamwUpdate(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, weightDecay: number, t: number): void {
  const [b1, b2] = ADAM_BETAS;
  const bc1 = 1 - b1 ** t, bc2 = Math.sqrt(1 - b2 ** t);
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] * (1 - lr * weightDecay);
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    p[i] = pi - (lr / bc1) * (m[i] / (Math.sqrt(v[i]) / bc2 + ADAM_EPS));
  }
}

function trainedTokens(batch: MicroBatch): number {
  let n = 0;
  for (const row of batch.labels) for (const y of row) if (y !== -100) n++;
  return n;
}

/** Inverted dropout masks per site: 0 or 1/(1-p), derived from (seed, step, micro-batch) so a resume replays them. */
function dropoutMasks(sites: LoraSite[], rows: number, p: number, seed: number): Map<string, Float32Array> {
  const random = mulberry32(seed);
  const keep = 1 / (1 - p);
  return new Map(sites.map((s) => [s.baseName, Float32Array.from({ length: rows * s.in }, () => (random() < p ? 0 : keep))]));
}

export async function createTrainer(model: ModelFolder, config: RunConfig, opts: TrainerOptions): Promise<Trainer> {
  const factory = opts.program ?? (await import('./engine-program')).engineProgram;
  const scaling = loraScaling(config.r, config.lora_alpha, config.use_rslora);
  const sites = opts.targets.map((t) => ({ baseName: t.baseName, in: t.in, out: t.out }));
  const names = sites.flatMap((s) => [loraAName(s.baseName), loraBName(s.baseName)]);
  const shapes = new Map<string, number[]>();
  for (const s of sites) {
    shapes.set(loraAName(s.baseName), [config.r, s.in]);
    shapes.set(loraBName(s.baseName), [s.out, config.r]);
  }
  const size = (n: string) => shapes.get(n)!.reduce((a, b) => a * b, 1);
  const state = opts.state?.tensors;
  const params = state ? new Map(names.map((n) => [n, required(state, n, size(n))])) : initLoraWeights(sites, config.r, config.seed);
  const moments = new Map(names.map((n) => [n, {
    m: state ? required(state, `${n}.exp_avg`, size(n)) : new Float32Array(size(n)),
    v: state ? required(state, `${n}.exp_avg_sq`, size(n)) : new Float32Array(size(n)),
  }]));
  let step = opts.state?.step ?? 0;
  const programs = new Map<string, Promise<LossGradProgram>>();
  const allF32 = () => opts.weights !== undefined || model.weights.names().every((n) => model.weights.entry(n)?.entry.dtype === 'F32');
  const maxPrograms = opts.maxPrograms ?? (allF32() ? Infinity : 2);
  const programFor = (batch: MicroBatch) => {
    const key = `${batch.inputIds.length}x${batch.inputIds[0].length}`;
    let program = programs.get(key);
    if (program) {
      programs.delete(key); // re-inserted below: the Map's order is least recently used first
    } else {
      if (programs.size >= maxPrograms) {
        const [oldestKey, oldest] = programs.entries().next().value as [string, Promise<LossGradProgram>];
        programs.delete(oldestKey);
        void oldest.then((p) => p.dispose());
      }
      program = factory({
        model, config: model.config, batch: batch.inputIds.length, length: batch.inputIds[0].length, device: opts.device, dtype: opts.dtype, weights: opts.weights,
        lora: { r: config.r, scaling, sites, dropout: config.lora_dropout > 0 },
      });
    }
    programs.set(key, program);
    return program;
  };

  return {
    async step(microBatches: MicroBatch[], lr: number): Promise<StepResult> {
      const counts = microBatches.map(trainedTokens);
      const total = Math.max(1, counts.reduce((a, b) => a + b, 0));
      const grads = new Map(names.map((n) => [n, new Float32Array(params.get(n)!.length)]));
      let loss = 0;
      for (let k = 0; k < microBatches.length; k++) {
        const batch = microBatches[k];
        const rows = batch.inputIds.length * batch.inputIds[0].length;
        const masks = config.lora_dropout > 0 ? dropoutMasks(sites, rows, config.lora_dropout, config.seed * 1_000_003 + step * 1009 + k) : undefined;
        const out = await (await programFor(batch)).run(batch, params, masks);
        // Token-weighted: the step's loss is the mean over all trained tokens of its micro-batches.
        const weight = counts[k] / total;
        loss += out.loss * weight;
        for (const n of names) {
          const acc = grads.get(n)!, g = out.grads.get(n)!;
          for (let i = 0; i < acc.length; i++) acc[i] += g[i] * weight;
        }
      }
      let sumSq = 0;
      for (const g of grads.values()) for (const x of g) sumSq += x * x;
      const gradNorm = Math.sqrt(sumSq);
      // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1.
      const clip = config.max_grad_norm > 0 ? Math.min(1, config.max_grad_norm / (gradNorm + 1e-6)) : 1;
      step += 1;
      for (const s of sites) {
        for (const [name, rate] of [[loraAName(s.baseName), lr], [loraBName(s.baseName), lr * config.loraplus_lr_ratio]] as const) {
          const g = grads.get(name)!;
          if (clip < 1) for (let i = 0; i < g.length; i++) g[i] *= clip;
          const { m, v } = moments.get(name)!;
          adamwUpdate(params.get(name)!, g, m, v, rate, config.weight_decay, step);
        }
      }
      return { loss, gradNorm, tokens: counts.reduce((a, b) => a + b, 0) };
    },

    async evalLoss(batches: MicroBatch[]): Promise<number> {
      let sum = 0, count = 0;
      for (const batch of batches) {
        const n = trainedTokens(batch);
        if (n === 0) continue;
        sum += (await (await programFor(batch)).loss(batch, params)) * n;
        count += n;
      }
      return count > 0 ? sum / count : NaN;
    },

    exportState(): TrainerState {
      const tensors = new Map<string, Float32Array>();
      for (const n of names) {
        tensors.set(n, Float32Array.from(params.get(n)!));
        tensors.set(`${n}.exp_avg`, Float32Array.from(moments.get(n)!.m));
        tensors.set(`${n}.exp_avg_sq`, Float32Array.from(moments.get(n)!.v));
      }
      return { step, tensors };
    },

    stateShapes(): Map<string, number[]> {
      const out = new Map<string, number[]>();
      for (const [n, shape] of shapes) for (const suffix of ['', '.exp_avg', '.exp_avg_sq']) out.set(n + suffix, shape);
      return out;
    },

    loraWeights() {
      return new Map(sites.map((s) => [s.baseName, { A: Float32Array.from(params.get(loraAName(s.baseName))!), B: Float32Array.from(params.get(loraBName(s.baseName))!) }]));
    },

    async dispose(): Promise<void> {
      for (const program of programs.values()) await (await program).dispose();
      programs.clear();
    },
  };
}

/** A copy of a state tensor, checked: a checkpoint from other targets or another rank must not load silently. */
function required(tensors: Map<string, Float32Array>, name: string, length: number): Float32Array {
  const t = tensors.get(name);
  if (!t) throw new Error(`trainer state has no tensor ${name} (the checkpoint does not match these LoRA targets)`);
  if (t.length !== length) throw new Error(`trainer state tensor ${name} has ${t.length} values, expected ${length} (the checkpoint was made with another r or model)`);
  return Float32Array.from(t);
}
