// The LISA trainer (native/train/lisa.ts has the algorithm and its sources). How it maps onto the engine, and why:
// - The trained tensors of a sample (embeddings, head, γ layers) are graph inputs of the bucket's program, found by
//   name through a GraphSink wrapper (lisa.ts trainingWeights); everything else stays a frozen initializer. A new
//   sample means new inputs, so the programs are dropped and compiled again every K steps (as ReLoRA's restart does).
//   The alternatives cost more: all weights as inputs would copy the whole model into every run call, and fixed
//   "slots" fed with different layers' weights cannot work because a layer's place in the graph is its depth.
// - Frozen weights that never trained are the model's safetensors as ONNX external data, in their stored dtype and
//   never read into memory. The tensors training now are float32 here (`updated`); a layer released at the end of its
//   period is rounded to its stored dtype and written to a run-local file that the next programs read as external data
//   like the base's shards (lisa-released.ts): its updates stay in the model (Algorithm 1), frozen in the stored dtype
//   as the issue asks, with no float32 copy on the host or in the programs. A layer sampled again reads its rounded
//   values back — what the output folder would hold for it, so a run's state never differs from its output.
// - AdamW moments exist only for the active tensors: a released layer's are dropped, and a layer sampled again starts
//   with fresh moments and its own bias-correction count (PyTorch's AdamW keeps a step count per parameter; the
//   layers' restarts at 1 with every sample, the embeddings' and head's runs on). So there are two AdamW programs, one
//   per count; the global gradient norm is clipped on the host first (clip_grad_norm_ over all trained tensors).
// - The sample is a function of seed and period (lisa.ts lisaSample), so resuming needs no sampler state beyond which
//   sample the saved moments belong to ('lisa.sample').
import { join } from 'node:path';
import type { RunConfig } from '../protocol';
import type { ModelFolder } from '../model/model-folder';
import { createAdamwProgram, type AdamwProgram } from '../engine/optim/adamw-program';
import { resolvePrecision } from '../engine/precision';
import { weightValues } from '../model/weight-values';
import type { WeightSource } from '../engine/onnx-export';
import { trainedTokens } from '../data/batch';
import { UserError } from '../util/errors';
import { engineProgram, type MicroBatchProgram } from './engine-program';
import type { MicroBatch, StepResult, TrainerLike } from './loop';
import type { TrainerOptions, TrainerState } from './trainer';
import { alwaysTrained, lisaPeriodOf, lisaSample, lisaTrainedShapes } from './lisa';
import { lisaSettings } from './lisa-config';
import { createReleasedLayers, layerOf, LISA_WEIGHTS_DIR } from './lisa-released';

/** The checkpoint tensor naming the sample the saved moments belong to: [period, layer, …]. */
export const LISA_SAMPLE = 'lisa.sample';

export interface LisaTrainer extends TrainerLike {
  exportState(): TrainerState;
  stateShapes(): Map<string, number[]>;
  /** Every tensor that has trained so far, by HF name, as float32: the embeddings, the head, sampled layers (released ones in their stored dtype's values). */
  updatedWeights(): Map<string, Float32Array>;
  /** The layers trained in the current period (sorted). */
  activeLayers(): number[];
  dispose(): Promise<void>;
}

const dropoutSeed = (seed: number, step: number, k: number) => seed * 1_000_003 + step * 1009 + k;

/** `runDir`: the run folder, which holds the released layers' file (lisa-released.ts) while the trainer lives. */
export async function createLisaTrainer(model: ModelFolder, config: RunConfig, opts: Pick<TrainerOptions, 'device' | 'state' | 'maxPrograms' | 'checkpointing' | 'onStatus' | 'stopPoint' | 'program' | 'dtype'> & { runDir: string }): Promise<LisaTrainer> {
  const settings = lisaSettings(config);
  const numLayers = model.config.num_hidden_layers;
  if (settings.layers > numLayers) {
    throw new UserError(`lisa_layers ${settings.layers} is more than the ${numLayers} decoder layers of ${model.dir}`, { where: { field: 'lisa_layers' }, fix: `choose --lisa-layers ${Math.min(2, numLayers)} (the paper's E+H+2L) up to ${numLayers}` });
  }
  const precision = resolvePrecision(config.precision ?? 'auto', opts.device.provider);
  if (precision.low === 'fp16') {
    throw new UserError('LISA does not train with fp16 products (full weights would need loss scaling per tensor)', { where: { field: 'precision' }, fix: 'use --precision bf16 or fp32' });
  }
  const released = createReleasedLayers(model.weights, model.dir, join(opts.runDir, LISA_WEIGHTS_DIR));
  const baseValues = (name: string) => weightValues(released.base(name), released.externalDataDir);
  const shapeOf = (name: string) => [...model.weights.entry(name)!.entry.shape];
  const state = opts.state?.tensors;
  /** Float32 values of the tensors training now (and, until the first activate, a checkpoint's released layers), by HF name. */
  const updated = new Map<string, Float32Array>();
  for (const name of alwaysTrained(model.config)) updated.set(name, baseValues(name));
  if (state) {
    for (const [name, values] of state) if (!name.includes('.exp_avg') && name !== LISA_SAMPLE) updated.set(name, Float32Array.from(values));
  }
  const frozenSource = (name: string): WeightSource => released.source(name) ?? released.base(name);

  let step = opts.state?.step ?? 0;
  let period = -1;
  let layers: number[] = [];
  let trained = new Map<string, number[]>();
  let m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
  let optimizers: { always: AdamwProgram; layers?: AdamwProgram } | undefined;
  const always = new Set(alwaysTrained(model.config));
  const programs = new Map<string, Promise<MicroBatchProgram>>();
  const factory = opts.program ?? engineProgram;

  const disposePrograms = async () => {
    const all = [...programs.values()];
    programs.clear();
    for (const program of all) await (await program.catch(() => undefined))?.dispose();
  };
  const disposeOptimizers = async () => {
    await optimizers?.always.dispose();
    await optimizers?.layers?.dispose();
    optimizers = undefined;
  };
  const adamw = (names: string[]) => createAdamwProgram({
    tensors: names.map((name) => ({ name, shape: trained.get(name)!, lrScale: 1 })),
    weightDecay: config.weight_decay, maxGradNorm: null, device: opts.device,
  });

  /** Makes `p` the active sample: releases the old layers (their moments go), activates the new ones with zero moments. */
  const activate = async (p: number, moments?: Map<string, Float32Array>) => {
    await disposePrograms();
    await disposeOptimizers();
    period = p;
    layers = lisaSample(config.seed, p, numLayers, settings.layers);
    trained = lisaTrainedShapes(model.weights, model.config, layers);
    // Release the layers that trained and are not sampled now (on a resume: every layer the checkpoint holds outside
    // the sample, whose values are already rounded, so writing them again changes nothing).
    const leaving = new Map<number, Map<string, Float32Array>>();
    for (const [name, values] of updated) {
      const layer = layerOf(name);
      if (layer === undefined || layers.includes(layer)) continue;
      if (!leaving.has(layer)) leaving.set(layer, new Map());
      leaving.get(layer)!.set(name, values);
    }
    for (const [layer, tensors] of leaving) {
      released.release(layer, tensors);
      for (const name of tensors.keys()) updated.delete(name);
    }
    for (const layer of layers) for (const [name, values] of released.take(layer)) updated.set(name, values);
    for (const name of trained.keys()) if (!updated.has(name)) updated.set(name, baseValues(name));
    const size = (n: string) => trained.get(n)!.reduce((a, b) => a * b, 1);
    const moment = (n: string, suffix: string) => {
      const saved = moments?.get(`${n}${suffix}`);
      if (saved && saved.length !== size(n)) throw new Error(`LISA state ${n}${suffix} has ${saved.length} values, expected ${size(n)}`);
      // The always-trained tensors keep theirs across samples; a sampled layer's start at zero.
      return saved ? Float32Array.from(saved) : always.has(n) && (suffix === '.exp_avg' ? m : v).get(n) || new Float32Array(size(n));
    };
    const nextM = new Map([...trained.keys()].map((n) => [n, moment(n, '.exp_avg')]));
    const nextV = new Map([...trained.keys()].map((n) => [n, moment(n, '.exp_avg_sq')]));
    m = nextM;
    v = nextV;
    const layerNames = [...trained.keys()].filter((n) => !always.has(n));
    optimizers = { always: await adamw([...always]), ...(layerNames.length > 0 ? { layers: await adamw(layerNames) } : {}) };
    opts.onStatus?.(`LISA: training layers ${layers.join(', ')} with the embeddings${always.size > 1 ? ' and the head' : ''} (steps ${p * settings.period + 1}–${(p + 1) * settings.period})`);
  };

  if (state?.has(LISA_SAMPLE)) {
    const saved = state.get(LISA_SAMPLE)!;
    await activate(saved[0], state);
    const expected = lisaSample(config.seed, saved[0], numLayers, settings.layers);
    if (expected.join(',') !== [...saved.slice(1)].join(',')) throw new Error(`LISA state: sample [${[...saved.slice(1)]}] of period ${saved[0]} is not the seed's [${expected}]`);
  } else {
    await activate(lisaPeriodOf(step, settings));
  }

  const programFor = (batch: MicroBatch) => {
    const key = `${batch.inputIds.length}x${batch.inputIds[0].length}`;
    let program = programs.get(key);
    if (program) {
      programs.delete(key);
    } else {
      if (programs.size >= (opts.maxPrograms ?? 4)) {
        const [oldestKey, oldest] = programs.entries().next().value as [string, Promise<MicroBatchProgram>];
        programs.delete(oldestKey);
        void oldest.then((p) => p.dispose(), () => undefined);
      }
      opts.onStatus?.(`compiling the program for micro-batches of ${batch.inputIds.length}×${batch.inputIds[0].length} tokens…`);
      program = factory({
        model, config: model.config, batch: batch.inputIds.length, length: batch.inputIds[0].length, device: opts.device, dtype: opts.dtype,
        weights: frozenSource, externalDataDir: released.externalDataDir, checkpointing: opts.checkpointing ?? config.gradient_checkpointing ?? true, precision,
        lora: { r: 0, scaling: 0, sites: [], dropout: 0 }, trainWeights: trained, stopPoint: opts.stopPoint,
      });
      const made = program;
      made.catch(() => {
        if (programs.get(key) === made) programs.delete(key);
      });
    }
    programs.set(key, program);
    return program;
  };
  const active = () => new Map([...trained.keys()].map((n) => [n, updated.get(n)!]));

  return {
    async step(microBatches: MicroBatch[], lr: number): Promise<StepResult> {
      // A resample recompiles every program, with steps since the last checkpoint unsaved, so a stop during it waits
      // for the compile and then saves. Saving first (as LoRA trainers do, to let the supervisor cut the compile short)
      // would write a whole model every period: measured on a Qwen2.5-0.5B-shaped model (bf16, CPU, 2 loaded cores),
      // 12-19 s (a 2 GB checkpoint and the 1 GB model folder) per 20-32 s recompile, every lisa_period steps, and tens
      // of GB per period on a 7B model — more than the wait it saves.
      const due = lisaPeriodOf(step, settings);
      if (due !== period) await activate(due);
      const counts = microBatches.map(trainedTokens);
      const total = Math.max(1, counts.reduce((a, b) => a + b, 0));
      const params = active();
      const gradSum = new Map([...trained].map(([n, shape]) => [n, new Float32Array(shape.reduce((a, b) => a * b, 1))]));
      let loss = 0;
      for (let k = 0; k < microBatches.length; k++) {
        const weight = counts[k] / total;
        const program = await programFor(microBatches[k]);
        loss += weight * (await program.accumulate(microBatches[k], params, gradSum, weight, dropoutSeed(config.seed, step, k)));
      }
      step += 1;
      // clip_grad_norm_ over every trained tensor, then the two AdamW programs without clipping of their own.
      let squares = 0;
      for (const g of gradSum.values()) for (let i = 0; i < g.length; i++) squares += g[i] * g[i];
      const gradNorm = Math.sqrt(squares);
      const coef = config.max_grad_norm > 0 ? Math.min(1, config.max_grad_norm / (gradNorm + 1e-6)) : 1;
      if (coef < 1) for (const g of gradSum.values()) for (let i = 0; i < g.length; i++) g[i] = Math.fround(g[i] * coef);
      const part = (keep: (n: string) => boolean) => <T>(map: Map<string, T>) => new Map([...map].filter(([n]) => keep(n)));
      const alwaysPart = part((n) => always.has(n)), layerPart = part((n) => !always.has(n));
      const run = async (program: AdamwProgram, pick: <T>(map: Map<string, T>) => Map<string, T>, t: number) => {
        const p = pick(params), mm = pick(m), vv = pick(v);
        await program.step(p, mm, vv, pick(gradSum), lr, t);
        for (const [n, values] of p) updated.set(n, values);
        for (const [n, values] of mm) m.set(n, values);
        for (const [n, values] of vv) v.set(n, values);
      };
      await run(optimizers!.always, alwaysPart, step);
      if (optimizers!.layers) await run(optimizers!.layers, layerPart, step - period * settings.period);
      return { loss, gradNorm, tokens: counts.reduce((a, b) => a + b, 0) };
    },

    async evalLoss(batches: MicroBatch[]): Promise<number> {
      let sum = 0, count = 0;
      const params = active();
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
      for (const [n, values] of updated) tensors.set(n, Float32Array.from(values));
      for (const n of released.names()) tensors.set(n, released.values(n));
      for (const n of trained.keys()) {
        tensors.set(`${n}.exp_avg`, Float32Array.from(m.get(n)!));
        tensors.set(`${n}.exp_avg_sq`, Float32Array.from(v.get(n)!));
      }
      tensors.set(LISA_SAMPLE, Float32Array.from([period, ...layers]));
      return { step, tensors };
    },

    stateShapes(): Map<string, number[]> {
      const out = new Map<string, number[]>();
      for (const n of [...updated.keys(), ...released.names()]) out.set(n, shapeOf(n));
      for (const [n, shape] of trained) for (const suffix of ['.exp_avg', '.exp_avg_sq']) out.set(n + suffix, shape);
      out.set(LISA_SAMPLE, [1 + layers.length]);
      return out;
    },

    updatedWeights: () => new Map([...[...updated].map(([n, values]) => [n, Float32Array.from(values)] as const), ...released.names().map((n) => [n, released.values(n)] as const)]),
    activeLayers: () => [...layers],

    async dispose(): Promise<void> {
      await disposePrograms();
      await disposeOptimizers();
      released.remove();
    },
  };
}
