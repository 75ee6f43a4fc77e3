// The trainer's frozen low-rank base term (native/model/base-delta.ts) for the methods that change the base they train
// against: PiSSA/OLoRA (the residual W − s·B₀A₀: A_d = A₀, B_d = −B₀, computed once from the weights the graph uses,
// an NF4 base's dequantized values included) and ReLoRA (the merged cycles, appended at each restart). Its tensors are
// trainer state, so a checkpoint resumes without a new SVD and with every merged cycle. What is saved is one plain
// LoRA on the original base: [A; A₀], [B, −B₀] for PiSSA (PEFT's order), the cycles in order then the current one for
// ReLoRA, with lora_alpha keeping the scaling.
import type { RunConfig } from '../protocol';
import type { LoraSite } from '../model/llama';
import { initLora } from '../model/lora';
import { alphaForRank, baseDeltaAName, baseDeltaBName, concatLowRank, type LowRank } from '../model/base-delta';
import { oloraInit, parseLoraInit, pissaInit } from '../model/svd-init';
import { pruneMoments, reloraRestartsAt } from './relora';
import type { StopPoint } from './stop-point';

export interface BaseTerm {
  /** The rank R of the frozen term now (0: none). */
  rank(): number;
  /** The trainable A/B to start from when the init is computed from W (PiSSA, OLoRA); undefined otherwise. */
  initial: Map<string, { A: Float32Array; B: Float32Array }> | undefined;
  /** `params` plus the term's A_d/B_d, as the program feeds them. */
  feeds(params: Map<string, Float32Array>): Map<string, Float32Array>;
  /**
   * ReLoRA, before the step after `completed` steps: at a cycle boundary, merges the current A/B into the term,
   * restarts them and prunes their AdamW moments; returns whether it did (the programs' input shapes changed).
   */
  restartIfDue(completed: number, params: Map<string, Float32Array>, m: Map<string, Float32Array>, v: Map<string, Float32Array>): boolean;
  /** The saved adapter's A/B (rank r + R) from the trainable ones. */
  exportWeights<W extends { A: Float32Array; B: Float32Array }>(weights: Map<string, W>): Map<string, W>;
  /** r and lora_alpha of the saved adapter. */
  adapterRank(): { r: number; lora_alpha: number };
  stateTensors(): Map<string, Float32Array>;
  stateShapes(): Map<string, number[]>;
}

export interface BaseTermOptions {
  r: number;
  scaling: number;
  /** Checkpointed trainer tensors, when resuming. */
  state?: Map<string, Float32Array>;
  /** W [out, in] of a site as the graph uses it (float32). */
  weightOf(site: LoraSite): ArrayLike<number>;
  /** Progress lines (the SVDs of a large model take a while). */
  onStatus?(message: string): void;
  /** Between two modules' SVDs a stop may end the start (native/train/stop-point.ts): an exact SVD takes seconds. */
  stopPoint?: StopPoint;
}

const aName = (s: string) => `${s}.lora_A`;
const bName = (s: string) => `${s}.lora_B`;

export async function createBaseTerm(config: RunConfig, sites: readonly LoraSite[], options: BaseTermOptions): Promise<BaseTerm> {
  const { r, scaling, state } = options;
  const init = parseLoraInit(config.init_lora_weights) ?? { kind: 'default' as const };
  const residual = init.kind !== 'default';
  const every = (config.relora_steps ?? 0) > 0 ? config.relora_steps! : undefined;
  const delta = new Map<string, LowRank>();
  let initial: BaseTerm['initial'];

  if (state) {
    for (const s of sites) {
      const A = state.get(baseDeltaAName(s.baseName)), B = state.get(baseDeltaBName(s.baseName));
      if (!A || !B) {
        if (residual) throw new Error(`trainer state has no frozen base term for ${s.baseName} (the checkpoint was made without ${config.init_lora_weights})`);
        continue;
      }
      const rank = A.length / s.in;
      if (!Number.isInteger(rank) || B.length !== s.out * rank) throw new Error(`trainer state: the frozen base term of ${s.baseName} has inconsistent shapes`);
      delta.set(s.baseName, { A: Float32Array.from(A), B: Float32Array.from(B), rank });
    }
  } else if (residual) {
    initial = new Map();
    const started = Date.now();
    const label = init.kind === 'olora' ? 'OLoRA (QR)' : init.niter === undefined ? 'PiSSA (exact SVD: prefer pissa_niter_4 on large models)' : `PiSSA (randomized SVD, ${init.niter} power iterations)`;
    options.onStatus?.(`initializing ${sites.length} modules from their weights: ${label}…`);
    let last = started;
    for (const [i, s] of sites.entries()) {
      await options.stopPoint?.();
      const W = options.weightOf(s);
      const ab = init.kind === 'olora' ? oloraInit(W, s.out, s.in, r) : pissaInit(W, s.out, s.in, r, scaling, { niter: init.niter, seed: config.seed * 7919 + i });
      if (ab.converged === false) options.onStatus?.(`warning: the SVD of ${s.baseName} did not converge in ${ab.iterations} iterations; its PiSSA start is approximate`);
      initial!.set(s.baseName, { A: ab.A, B: ab.B });
      // The residual: the frozen term is −s·B₀A₀, exactly the float32 A₀, B₀ the adapter starts from.
      delta.set(s.baseName, { A: Float32Array.from(ab.A), B: ab.B.map((x) => -x), rank: r });
      if (Date.now() - last > 2000 && i + 1 < sites.length) {
        last = Date.now();
        options.onStatus?.(`${label}: ${i + 1}/${sites.length} modules (${((last - started) / 1000).toFixed(1)} s)`);
      }
    }
    options.onStatus?.(`${label}: ${sites.length} modules in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  const rank = () => (delta.size > 0 ? delta.values().next().value!.rank : 0);
  const exportOne = (baseName: string, trained: { A: Float32Array; B: Float32Array }) => {
    const s = sites.find((x) => x.baseName === baseName)!;
    const d = delta.get(baseName);
    if (!d || d.rank === 0) return trained;
    const current: LowRank = { A: trained.A, B: trained.B, rank: r };
    return residual ? concatLowRank(current, d, s.in, s.out) : concatLowRank(d, current, s.in, s.out);
  };

  return {
    rank,
    initial,
    feeds(params) {
      if (rank() === 0) return params;
      const out = new Map(params);
      for (const [baseName, d] of delta) {
        out.set(baseDeltaAName(baseName), d.A);
        out.set(baseDeltaBName(baseName), d.B);
      }
      return out;
    },
    restartIfDue(completed, params, m, v) {
      if (!reloraRestartsAt(completed, every)) return false;
      const cycle = completed / every!;
      const fresh = initLora(sites, r, config.seed + 7919 * cycle);
      for (const s of sites) {
        const current: LowRank = { A: params.get(aName(s.baseName))!, B: params.get(bName(s.baseName))!, rank: r };
        const d = delta.get(s.baseName);
        delta.set(s.baseName, d ? concatLowRank(d, current, s.in, s.out) : { A: Float32Array.from(current.A), B: Float32Array.from(current.B), rank: r });
        params.set(aName(s.baseName), fresh.get(s.baseName)!.A);
        params.set(bName(s.baseName), fresh.get(s.baseName)!.B);
      }
      const prune = config.relora_prune ?? 0.99;
      for (const [name, expAvg] of m) pruneMoments(expAvg, v.get(name)!, prune);
      return true;
    },
    exportWeights(weights) {
      return new Map([...weights].map(([baseName, w]) => [baseName, { ...w, ...exportOne(baseName, w) }]));
    },
    adapterRank() {
      if (rank() === 0) return { r: config.r, lora_alpha: config.lora_alpha };
      const total = r + rank();
      return { r: total, lora_alpha: alphaForRank(config.lora_alpha, r, total, config.use_rslora) };
    },
    stateTensors() {
      const out = new Map<string, Float32Array>();
      for (const [baseName, d] of delta) {
        out.set(baseDeltaAName(baseName), Float32Array.from(d.A));
        out.set(baseDeltaBName(baseName), Float32Array.from(d.B));
      }
      return out;
    },
    stateShapes() {
      const out = new Map<string, number[]>();
      for (const s of sites) {
        const d = delta.get(s.baseName);
        if (!d) continue;
        out.set(baseDeltaAName(s.baseName), [d.rank, s.in]);
        out.set(baseDeltaBName(s.baseName), [s.out, d.rank]);
      }
      return out;
    },
  };
}
