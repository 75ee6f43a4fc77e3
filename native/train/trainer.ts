// The LoRA trainer: per optimizer step it runs the bucket's micro-batch program (forward + backward of
// native/model/llama.ts, built per (batch, length) bucket and cached) over each micro-batch, which adds the token-weighted
// gradients to a running sum in the graph, then the AdamW graph (native/engine/optim/adamw-program.ts: global-norm
// clipping, PyTorch's AdamW with decoupled weight decay, LoRA+ learning rate for B) on the sum.
// Its state — LoRA A/B, AdamW moments and the step count — is plain named tensors, so a checkpoint is just tensors.
import type { RunConfig } from '../protocol';
import type { ModelFolder } from '../model/model-folder';
import type { ResolvedDevice } from '../engine/cuda-discovery';
import { loraAName, loraBName, type LoraSite } from '../model/llama';
import type { ComputeDtype, WeightSource } from '../engine/onnx-export';
import { createAdamwProgram } from '../engine/optim/adamw-program';
import { resolvePrecision } from '../engine/precision';
import { initLora, loraScaling } from '../model/lora';
import { doraMagnitudeName, rowNorms } from '../model/dora';
import { initAdaLora } from '../model/adalora';
import { adaloraEName, adaloraScaling, resolveAdaLora, type AdaLoraSettings } from '../model/adalora-settings';
import { RankAllocator } from './rank-allocator';
import { createBaseTerm } from './base-term';
import { reloraRestartsAt } from './relora';
import { weightValues } from '../model/weight-values';
import { storeWeightSources } from '../model/weight-sources';
import { trainedTokens } from '../data/batch';
import { engineProgram, type MicroBatchProgram, type ProgramFactory } from './engine-program';
import type { MicroBatch, StepResult, TrainerLike } from './loop';
import type { StopPoint } from './stop-point';
import { PROMPT_EMBEDDINGS, virtualWidth } from '../model/prompt-learning';
import { checkVirtualPositions, initialVirtualTokens, virtualTokensOf } from './virtual-tokens';

export interface TrainerState {
  step: number;
  /**
   * LoRA A/B ('<base>.lora_A'/'.lora_B'), DoRA's '<base>.lora_magnitude_vector', AdaLoRA's '<base>.lora_E' with its
   * allocator's EMAs and rank masks (native/train/rank-allocator.ts), and AdamW moments ('<param>.exp_avg'/'.exp_avg_sq'), float32.
   */
  tensors: Map<string, Float32Array>;
}

export interface Trainer extends TrainerLike {
  exportState(): TrainerState;
  /** Shapes of the exportState() tensors by name. */
  stateShapes(): Map<string, number[]>;
  /** baseName → A [r, in], B [out, r] and with DoRA m [out], with AdaLoRA E [r] (copies). */
  loraWeights(): Map<string, { A: Float32Array; B: Float32Array; m?: Float32Array; E?: Float32Array }>;
  /**
   * r and lora_alpha of the adapter loraWeights() gives: the run's, or for PiSSA/OLoRA/ReLoRA the rank r + R of the
   * trained A/B joined with the frozen base term (native/train/base-term.ts) and the alpha keeping the scaling.
   */
  adapterRank(): { r: number; lora_alpha: number };
  /** AdaLoRA: the resolved settings and PEFT's rank_pattern so far (null before the first allocation). */
  adalora?(): { settings: AdaLoraSettings; rankPattern: Record<string, boolean[]> | null };
  /** Prompt/prefix tuning: prompt_embeddings [N, width] (a copy); the LoRA methods have none. */
  promptEmbeddings?(): Float32Array;
  dispose(): Promise<void>;
}

export interface TrainerOptions {
  device: ResolvedDevice;
  /** The adapted modules (native/model/lora.ts resolveTargets). */
  targets: LoraSite[];
  state?: TrainerState;
  /** Builds a bucket's program; the engine's by default. */
  program?: ProgramFactory;
  dtype?: ComputeDtype;
  weights?: (hfName: string) => WeightSource;
  /** The folder file-backed `weights` are resolved in (ONNX external data), e.g. the NF4 cache's. */
  externalDataDir?: string;
  /**
   * Compiled bucket programs kept at once. Frozen weights are memory-mapped external data shared by all sessions, so
   * an extra session costs its compiled graph only; the default keeps the 4 most recently used buckets.
   */
  maxPrograms?: number;
  /** Recompute each decoder layer in the backward pass (default: the run's gradient_checkpointing, else on). */
  checkpointing?: boolean;
  /** The run's optimizer steps: AdaLoRA's total_step when the config leaves it out. */
  totalSteps?: number;
  /** Progress lines while the trainer is made (PiSSA's SVDs) and when a bucket's program is compiled. */
  onStatus?(message: string): void;
  /**
   * Where making the trainer and compiling a bucket's program may end early on a stop (RunStopped): never inside a
   * step that has begun changing the trainer's state (a ReLoRA restart), so a stopped step leaves the state as it was,
   * unless what a stop saves was saved before the change (its `saveUnsaved`, called before every compile in training).
   */
  stopPoint?: StopPoint;
}

/** The fp16 loss-scaling state tensor: [scale, clean steps since the last change, AdamW steps applied]. */
const LOSS_SCALE = 'loss_scale';

/** The dropout seed of micro-batch k of optimizer step `step`: a pure function, so a resumed run draws the same masks. */
const dropoutSeed = (seed: number, step: number, k: number) => seed * 1_000_003 + step * 1009 + k;

export async function createTrainer(model: ModelFolder, config: RunConfig, opts: TrainerOptions): Promise<Trainer> {
  const factory = opts.program ?? engineProgram;
  // AdaLoRA (native/model/adalora.ts): r = init_r, Λ trains beside A and B, the allocator masks Λ after each step.
  const ada = config.method === 'adalora' ? resolveAdaLora(config, opts.totalSteps ?? config.max_steps ?? 0) : undefined;
  if (ada && ada.total_step <= 0) throw new Error('AdaLoRA needs total_step (the run\'s optimizer steps)');
  const r = ada ? ada.init_r : config.r;
  const scaling = ada ? adaloraScaling(config.lora_alpha, r) : loraScaling(config.r, config.lora_alpha, config.use_rslora);
  const sites = opts.targets.map((t) => ({ baseName: t.baseName, in: t.in, out: t.out }));
  const dora = config.use_dora ?? false;
  // Prompt/prefix tuning (virtual-tokens.ts): one tensor trains, no site is adapted (run.ts passes no targets).
  const virtual = virtualTokensOf(config);
  checkVirtualPositions(config, model);
  const names = virtual ? [PROMPT_EMBEDDINGS] : sites.flatMap((s) => [loraAName(s.baseName), loraBName(s.baseName), ...(dora ? [doraMagnitudeName(s.baseName)] : []), ...(ada ? [adaloraEName(s.baseName)] : [])]);
  const shapes = new Map<string, number[]>();
  for (const s of sites) {
    shapes.set(loraAName(s.baseName), [r, s.in]);
    shapes.set(loraBName(s.baseName), [s.out, r]);
    if (dora) shapes.set(doraMagnitudeName(s.baseName), [s.out]);
    if (ada) shapes.set(adaloraEName(s.baseName), [r, 1]);
  }
  if (virtual) shapes.set(PROMPT_EMBEDDINGS, [virtual.tokens, virtualWidth(model.config, virtual.kind)]);
  const size = (n: string) => shapes.get(n)!.reduce((a, b) => a * b, 1);
  const state = opts.state?.tensors;
  // DoRA's magnitude starts at ‖W‖_row of the weights the graph uses (an NF4 base: its dequantized values), as PEFT's
  // DoraLinearLayer.update_layer: with B = 0 the run starts exactly at the base model.
  // Made on first use (DoRA, PiSSA/OLoRA read W): a run of plain LoRA, or a test's program with a config-only model,
  // never opens the store.
  let stored: ReturnType<typeof storeWeightSources> | undefined;
  const source = () => {
    if (opts.weights) return { weights: opts.weights, dir: opts.externalDataDir ?? model.dir };
    stored ??= storeWeightSources(model.weights, model.dir);
    return { weights: stored.weights, dir: stored.externalDataDir };
  };
  // PiSSA/OLoRA's residual base and ReLoRA's merged cycles: a frozen low-rank term on W (native/train/base-term.ts).
  const baseTerm = await createBaseTerm(config, sites, {
    r, scaling, state, onStatus: opts.onStatus, stopPoint: opts.stopPoint,
    weightOf: (s) => weightValues(source().weights(`${s.baseName}.weight`), source().dir),
  });
  const initial = state ? undefined : baseTerm.initial ?? (ada ? initAdaLora(sites, r, config.seed) : initLora(sites, r, config.seed));
  const initialMagnitude = (s: LoraSite) => rowNorms(weightValues(source().weights(`${s.baseName}.weight`), source().dir), s.out, s.in);
  const params = new Map(names.map((n) => {
    if (state) return [n, required(state, n, size(n))];
    if (virtual) return [n, initialVirtualTokens(model, config, virtual, source())];
    const site = sites.find((s) => n.startsWith(`${s.baseName}.`))!;
    if (n === doraMagnitudeName(site.baseName)) return [n, initialMagnitude(site)];
    const ab = initial!.get(site.baseName)!;
    if (n === adaloraEName(site.baseName) && 'E' in ab) return [n, ab.E as Float32Array];
    return [n, n.endsWith('.lora_A') ? ab.A : ab.B];
  }));
  const m = new Map(names.map((n) => [n, state ? required(state, `${n}.exp_avg`, size(n)) : new Float32Array(size(n))]));
  const v = new Map(names.map((n) => [n, state ? required(state, `${n}.exp_avg_sq`, size(n)) : new Float32Array(size(n))]));
  let step = opts.state?.step ?? 0;
  const allocator = ada ? new RankAllocator(ada, sites, names) : undefined;
  if (allocator && state) allocator.importState(state);
  const precision = resolvePrecision(config.precision ?? 'auto', opts.device.provider);
  // fp16 only: dynamic loss scaling (Micikevicius et al. 2018, as torch.cuda.amp.GradScaler): the loss is multiplied by
  // `scale` so small gradients survive f16; a step whose gradients overflow is skipped and halves the scale, 2,000
  // clean steps double it. [scale, clean steps, applied AdamW steps] are state, so a resume continues exactly.
  const lossScale = precision.low === 'fp16' ? (state ? required(state, LOSS_SCALE, 3) : Float32Array.of(2 ** 16, 0, 0)) : undefined;
  const optimizer = await createAdamwProgram({
    // LoRA+ as PEFT's create_loraplus_optimizer: B and every 1-D parameter (DoRA's magnitude) get ratio × lr.
    tensors: names.map((name) => ({ name, shape: shapes.get(name)!, lrScale: name.endsWith('.lora_B') || shapes.get(name)!.length === 1 ? config.loraplus_lr_ratio : 1 })),
    weightDecay: config.weight_decay,
    maxGradNorm: config.max_grad_norm > 0 ? config.max_grad_norm : null,
    device: opts.device,
  });
  try {
    await opts.stopPoint?.();
  } catch (error) {
    await optimizer.dispose();
    throw error;
  }
  const programs = new Map<string, Promise<MicroBatchProgram>>();
  const maxPrograms = opts.maxPrograms ?? 4;
  const programFor = (batch: MicroBatch, stopPoint: StopPoint | undefined) => {
    const key = `${batch.inputIds.length}x${batch.inputIds[0].length}`; // the base term's rank is fixed between restarts
    let program = programs.get(key);
    if (program) {
      programs.delete(key); // re-inserted below: the Map's order is least recently used first
    } else {
      if (programs.size >= maxPrograms) {
        const [oldestKey, oldest] = programs.entries().next().value as [string, Promise<MicroBatchProgram>];
        programs.delete(oldestKey);
        void oldest.then((p) => p.dispose(), () => undefined);
      }
      // Called only where the state is the last step's (before a step applies anything, or in an evaluation): what a
      // stop would save is saved first, so the session creation can be cut short (stop-point.ts).
      program = (async () => {
        await stopPoint?.saveUnsaved?.();
        opts.onStatus?.(`compiling the program for micro-batches of ${batch.inputIds.length}×${batch.inputIds[0].length} tokens…`);
        return factory({
          model, config: model.config, batch: batch.inputIds.length, length: batch.inputIds[0].length, device: opts.device, dtype: opts.dtype, weights: opts.weights, externalDataDir: opts.externalDataDir,
          checkpointing: opts.checkpointing ?? config.gradient_checkpointing ?? true, precision,
          lora: { r, scaling, sites, dropout: virtual ? 0 : config.lora_dropout, dora, ...(ada ? { adalora: { orthRegWeight: ada.orth_reg_weight } } : {}), baseDeltaRank: baseTerm.rank(), ...(virtual ? { virtual } : {}) },
          stopPoint,
        });
      })();
      // A compile that failed or was stopped is not kept: the next step compiles again.
      const made = program;
      made.catch(() => {
        if (programs.get(key) === made) programs.delete(key);
      });
    }
    programs.set(key, program);
    return program;
  };

  const disposePrograms = async () => {
    const all = [...programs.values()];
    programs.clear();
    for (const program of all) await (await program.catch(() => undefined))?.dispose();
  };

  /**
   * AdaLoRA's update_and_allocate after the optimizer step (global_step 0-based, as PEFT's loop counts it), with the
   * gradients as clip_grad_norm_ left them in p.grad (coef = max_norm / (norm + 1e-6), clamped to 1).
   */
  const allocate = (grads: Map<string, Float32Array>, gradNorm: number): { rankBudget?: number } => {
    if (!allocator) return {};
    const coef = config.max_grad_norm > 0 ? Math.min(1, config.max_grad_norm / (gradNorm + 1e-6)) : 1;
    const used = coef < 1 ? new Map([...grads].map(([n, g]) => [n, g.map((x) => x * coef)])) : grads;
    return { rankBudget: allocator.step(step - 1, params, used).budget };
  };

  return {
    async step(microBatches: MicroBatch[], lr: number): Promise<StepResult> {
      // ReLoRA: a new cycle merges A/B into the base term, whose rank (an input shape of every program) grew, so every
      // program is compiled again. What a stop would save is saved before the merge (a checkpoint on the boundary
      // resumes to the same merge, relora.ts), so that compile can be cut short.
      const saved = reloraRestartsAt(step, config.relora_steps) && opts.stopPoint?.saveUnsaved !== undefined;
      if (saved) await opts.stopPoint!.saveUnsaved!();
      const restarted = baseTerm.restartIfDue(step, params, m, v);
      if (restarted) await disposePrograms();
      // After a restart the state has changed: unless it was saved before (then a stop loses nothing and writes
      // nothing), this step is finished, whatever is requested meanwhile.
      const stopPoint = restarted && !saved ? undefined : opts.stopPoint;
      const counts = microBatches.map(trainedTokens);
      const total = Math.max(1, counts.reduce((a, b) => a + b, 0));
      const gradSum = new Map(names.map((n) => [n, new Float32Array(size(n))]));
      let loss = 0;
      for (let k = 0; k < microBatches.length; k++) {
        // A step of long accumulation (thousands of micro-batches) may be stopped between them: the partial sum is
        // dropped and the state stays the last step's (nothing has been applied yet).
        if (k > 0) await stopPoint?.();
        // Token-weighted: the step's loss and gradient are the mean over all trained tokens of its micro-batches.
        const weight = counts[k] / total;
        const program = await programFor(microBatches[k], stopPoint);
        const lossWeight = lossScale ? weight * lossScale[0] : weight;
        loss += weight * (await program.accumulate(microBatches[k], baseTerm.feeds(params), gradSum, lossWeight, dropoutSeed(config.seed, step, k)));
      }
      step += 1;
      const tokens = counts.reduce((a, b) => a + b, 0);
      if (!lossScale) {
        const gradNorm = await optimizer.step(params, m, v, gradSum, lr, step);
        return { loss, gradNorm, tokens, ...allocate(gradSum, gradNorm) };
      }
      const unscaled = new Map([...gradSum].map(([n, g]) => [n, g.map((x) => x / lossScale[0])]));
      if (![...unscaled.values()].every((g) => g.every(Number.isFinite))) {
        lossScale[0] /= 2;
        lossScale[1] = 0;
        return { loss, gradNorm: Infinity, tokens }; // skipped: the gradients overflowed f16
      }
      lossScale[2] += 1;
      const gradNorm = await optimizer.step(params, m, v, unscaled, lr, lossScale[2]);
      if (++lossScale[1] >= 2000) [lossScale[0], lossScale[1]] = [lossScale[0] * 2, 0];
      return { loss, gradNorm, tokens, ...allocate(unscaled, gradNorm) };
    },

    async evalLoss(batches: MicroBatch[]): Promise<number> {
      let sum = 0, count = 0;
      for (const batch of batches) {
        const n = trainedTokens(batch);
        if (n === 0) continue;
        sum += (await (await programFor(batch, opts.stopPoint)).loss(batch, baseTerm.feeds(params))) * n;
        count += n;
      }
      return count > 0 ? sum / count : NaN;
    },

    exportState(): TrainerState {
      const tensors = new Map<string, Float32Array>();
      for (const n of names) {
        tensors.set(n, Float32Array.from(params.get(n)!));
        tensors.set(`${n}.exp_avg`, Float32Array.from(m.get(n)!));
        tensors.set(`${n}.exp_avg_sq`, Float32Array.from(v.get(n)!));
      }
      if (lossScale) tensors.set(LOSS_SCALE, Float32Array.from(lossScale));
      for (const [n, t] of baseTerm.stateTensors()) tensors.set(n, t);
      if (allocator) for (const [n, t] of allocator.exportState()) tensors.set(n, t);
      return { step, tensors };
    },

    stateShapes(): Map<string, number[]> {
      const out = new Map<string, number[]>();
      for (const [n, shape] of shapes) for (const suffix of ['', '.exp_avg', '.exp_avg_sq']) out.set(n + suffix, shape);
      if (lossScale) out.set(LOSS_SCALE, [3]);
      for (const [n, shape] of baseTerm.stateShapes()) out.set(n, shape);
      if (allocator) for (const [n, shape] of allocator.stateShapes()) out.set(n, shape);
      return out;
    },

    loraWeights() {
      return baseTerm.exportWeights(new Map(sites.map((s) => [s.baseName, {
        A: Float32Array.from(params.get(loraAName(s.baseName))!),
        B: Float32Array.from(params.get(loraBName(s.baseName))!),
        ...(dora ? { m: Float32Array.from(params.get(doraMagnitudeName(s.baseName))!) } : {}),
        ...(ada ? { E: Float32Array.from(params.get(adaloraEName(s.baseName))!) } : {}),
      }])));
    },

    adapterRank: () => baseTerm.adapterRank(),

    ...(ada && allocator ? { adalora: () => ({ settings: ada, rankPattern: allocator.rankPattern() }) } : {}),

    ...(virtual ? { promptEmbeddings: () => Float32Array.from(params.get(PROMPT_EMBEDDINGS)!) } : {}),

    async dispose(): Promise<void> {
      await disposePrograms();
      await optimizer.dispose();
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
