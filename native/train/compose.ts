// LoRAHub's adaptation stage (Huang et al. 2023, section 3): the weights w of a composition of existing LoRA adapters
// (native/model/lorahub.ts) are found by a gradient-free search — (1+1)-ES, native/train/one-plus-one-es.ts — that
// minimizes the few-shot loss plus an L1 penalty α·Σ|wᵢ| (the paper's regularizer, α = 0.05; its search box
// [-1.5, 1.5]; its start w = 0, the base model). The loss is training's: the same templates and masking
// (native/data/template.ts, rendered in native/data/template-pool.ts's workers) and the same forward graph, compiled once (native/train/adapter-loss.ts).
import { resolve } from 'node:path';
import type { ResolvedDevice } from '../engine/cuda-discovery';
import { UserError } from '../util/errors';
import { loadModelFolder } from '../model/model-folder';
import { checkContextLength } from '../model/context-length';
import { canonicalSign, composeLora, loadHubAdapters } from '../model/lorahub';
import { readDatasetRecords } from '../data/validate';
import { tokenizeRecordsBounded } from '../data/template-pool';
import { planMicroBatches } from '../data/batch';
import { ensureNf4Cache } from '../model/nf4-cache';
import { createAdapterLoss } from './adapter-loss';
import { OnePlusOneEs } from './one-plus-one-es';
import { checkComposeOut, writeComposedAdapter, type ComposeRecord } from './compose-output';
import type { ComposeEvent } from './compose-events';

export interface ComposeOptions {
  model: string;
  adapters: string[];
  data: string;
  out: string;
  /** Loss evaluations of the search, the start (w = 0) included (LoRAHub's default: 40). */
  steps: number;
  /** The L1 penalty's α. */
  l1: number;
  seed: number;
  maxSeqLen: number;
  /** Let maxSeqLen go past the model's positions, with a warning (--allow-long-context). */
  allowLongContext?: boolean;
  device: ResolvedDevice;
  /** 'nf4': the loss on the base's NF4 copy (native/model/nf4-cache.ts), for adapters trained with QLoRA. */
  quantization: 'none' | 'nf4';
  emit(event: ComposeEvent): void;
  cancelled?(): boolean;
}

/** LoRAHub's search box and the ES's first step size (a third of the half-width: early moves stay inside). */
const WEIGHT_BOUND = 1.5;
const SIGMA0 = 0.5;
/** Examples per forward pass: few-shot sets are small, this bounds a pass's activations on a large model. */
const BATCH = 8;

export async function composeAdapters(opts: ComposeOptions): Promise<ComposeRecord & { out: string }> {
  for (const [flag, value, ok] of [['steps', opts.steps, Number.isInteger(opts.steps) && opts.steps >= 2], ['l1', opts.l1, Number.isFinite(opts.l1) && opts.l1 >= 0]] as const) {
    if (!ok) throw new UserError(`--${flag} must be ${flag === 'steps' ? 'a whole number ≥ 2' : 'a number ≥ 0'}, got ${value}`, { fix: flag === 'steps' ? 'pass --steps 40' : 'pass --l1 0.05' });
  }
  const out = resolve(opts.out);
  checkComposeOut(out);
  const status = (message: string) => opts.emit({ type: 'status', message });
  const stopIfCancelled = () => {
    if (opts.cancelled?.()) throw new UserError('compose cancelled; nothing was written', { fix: 'run it again to compose' });
  };

  status(`loading ${opts.model} and ${opts.adapters.length} adapters…`);
  const model = loadModelFolder(opts.model);
  const longContext = checkContextLength({
    what: `--max-seq-len ${opts.maxSeqLen}`, tokens: opts.maxSeqLen, model, allow: opts.allowLongContext ?? false,
    fix: `pass --max-seq-len ${model.config.max_position_embeddings} or less`,
  });
  if (longContext) status(longContext);
  const hub = loadHubAdapters(opts.adapters.map((a) => resolve(a)), model);

  status(`tokenizing ${opts.data}…`);
  const records = await readDatasetRecords(opts.data, { stopRequested: () => opts.cancelled?.() ?? false });
  stopIfCancelled(); // a stop ends the read early, with the records read so far
  // Chat templates render in bounded workers, as training's do (a hostile template cannot hang the process).
  const tokenized = await tokenizeRecordsBounded(model.tokenizer, records, { trainOnPrompt: false, maxSeqLen: opts.maxSeqLen }, { stopRequested: () => opts.cancelled?.() ?? false, dataFile: opts.data });
  stopIfCancelled();
  if (tokenized === 'stopped') throw new Error('tokenizing stopped without a cancel');
  const { examples } = tokenized;
  if (examples.length === 0) {
    throw new UserError(`no usable examples in ${opts.data}: every response was empty or truncated away`, {
      where: { file: opts.data }, fix: `add records with an output, or raise --max-seq-len (now ${opts.maxSeqLen})`,
    });
  }
  const batches = planMicroBatches(examples, { microBatchSize: BATCH, seed: opts.seed, epoch: 0, padId: model.tokenizer.padId, bucketMultiple: 16 });
  stopIfCancelled();

  let quantized;
  if (opts.quantization === 'nf4') {
    status('using the NF4 copy of the base (the cache QLoRA runs train on; made on first use)…');
    quantized = ensureNf4Cache(model);
    stopIfCancelled();
  }
  status(`compiling the forward graph (${hub.targets.length} LoRA modules, r=${hub.r})…`);
  const evaluator = await createAdapterLoss(model, { sites: hub.targets, r: hub.r, scaling: hub.scaling, batches, device: opts.device, quantized });
  try {
    const n = hub.adapters.length;
    const lossAt = (w: readonly number[]) => evaluator.loss(composeLora(hub.adapters, w));
    const penalty = (w: readonly number[]) => opts.l1 * w.reduce((s, x) => s + Math.abs(x), 0);

    status(`evaluating uniform weights (1/${n} each) for comparison…`);
    const uniformLoss = await lossAt(new Array<number>(n).fill(1 / n));
    let baseLoss = NaN;
    const es = new OnePlusOneEs({ x0: new Array<number>(n).fill(0), sigma0: SIGMA0, lower: -WEIGHT_BOUND, upper: WEIGHT_BOUND, seed: opts.seed });
    let best = { weights: [] as number[], loss: Infinity, objective: Infinity };
    for (let step = 1; step <= opts.steps; step++) {
      stopIfCancelled();
      const w = es.ask();
      const loss = await lossAt(w);
      const objective = loss + penalty(w);
      es.tell(w, objective);
      if (step === 1) baseLoss = loss; // x0 = 0: the base model without any adapter
      if (objective <= best.objective) best = { weights: w, loss, objective };
      opts.emit({ type: 'step', step, total_steps: opts.steps, weights: w, loss, objective, best_weights: best.weights, best_loss: best.loss, best_objective: best.objective });
    }
    stopIfCancelled();
    if (!Number.isFinite(best.objective)) throw new Error('every evaluation of the few-shot loss was NaN or infinite');
    const weights = canonicalSign(best.weights); // w and −w compose the same adapter
    if (weights.every((w) => w === 0)) {
      status(`no weighting of these adapters beat the base model on these examples in ${opts.steps} evaluations: the composed adapter is empty (all weights 0) — try more --steps or other adapters`);
    }

    const record: ComposeRecord = {
      method: 'lorahub', composition: 'A = sum(w_i * A_i), B = sum(w_i * B_i)', base_model: model.dir,
      adapters: hub.adapters.map((a, i) => ({ path: a.dir, weight: weights[i], r: a.r, lora_alpha: a.lora_alpha, use_rslora: a.use_rslora, base_model_name_or_path: a.baseModel })),
      data: resolve(opts.data), examples: examples.length, tokens: evaluator.tokens, steps: opts.steps, l1: opts.l1, seed: opts.seed, quantization: opts.quantization,
      loss: best.loss, objective: best.objective, uniform_loss: uniformLoss, base_loss: baseLoss,
    };
    status(`writing the composed adapter to ${out}…`);
    writeComposedAdapter(out, hub, weights, record);
    return { ...record, out };
  } finally {
    await evaluator.dispose();
  }
}
