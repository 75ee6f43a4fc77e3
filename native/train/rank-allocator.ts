// AdaLoRA's rank allocator, as PEFT's RankAllocator + AdaLoraModel.update_and_allocate (src/peft/tuners/adalora/
// layer.py, model.py), run on the host after each optimizer step with the step's parameters (already updated) and
// gradients (clipped, as the optimizer used them — what p.grad holds when PEFT's loop calls it):
//   - while global_step < total_step − tfinal: ipt = |p · g|; Ī ← β₁ Ī + (1 − β₁) ipt; Ū ← β₂ Ū + (1 − β₂) |ipt − Ī|;
//   - the budget (total rank) follows a cubic schedule: init_r · modules until tinit, then
//     ⌊(init − target) (1 − (t − tinit)/(total − tfinal − tinit))³ + target⌋, target_r · modules at the end;
//   - every deltaT steps in between, and once at total_step − tfinal (then the EMAs are reset), each triplet i of a
//     module scores s(E_i) + mean_j s(A_ij) + mean_o s(B_oi) with s = Ī · Ū, and Λ entries whose score is ≤ the
//     (init − budget)-th smallest are set to 0: the rank pattern;
//   - after total_step − tfinal, Λ is masked with that pattern every step.
// The EMAs and the pattern are state: exportState/importState put them in checkpoints, so a resume continues exactly.
// Values are computed in float32 (Math.fround) as torch does on float32 parameters.
import { adaloraEName, type AdaLoraSettings } from '../model/adalora-settings';

export interface AllocatorSite {
  baseName: string;
  in: number;
  out: number;
}

export interface AllocationResult {
  /** The budget (total rank over all modules) of the schedule at this step. */
  budget: number;
  /** True when Λ was masked at this step. */
  masked: boolean;
}

const f = Math.fround;

export class RankAllocator {
  private readonly ipt = new Map<string, Float32Array>();
  private readonly unc = new Map<string, Float32Array>();
  /** Per module: 1 = the triplet is kept, 0 = pruned; undefined until a first allocation (PEFT's rank_pattern None). */
  private pattern: Map<string, Float32Array> | undefined;
  readonly initBudget: number;
  readonly targetBudget: number;

  constructor(private readonly settings: AdaLoraSettings, private readonly sites: readonly AllocatorSite[], private readonly paramNames: readonly string[]) {
    this.initBudget = settings.init_r * sites.length;
    this.targetBudget = settings.target_r * sites.length;
  }

  /** PEFT's budget_schedule: the budget and whether this step masks. */
  budgetAt(step: number): { budget: number; mask: boolean } {
    const { tinit, tfinal, total_step: total, deltaT } = this.settings;
    if (step <= tinit) return { budget: this.initBudget, mask: false };
    if (step > total - tfinal) return { budget: this.targetBudget, mask: true };
    const mul = 1 - (step - tinit) / (total - tfinal - tinit);
    return { budget: Math.trunc((this.initBudget - this.targetBudget) * mul ** 3 + this.targetBudget), mask: step % deltaT === 0 };
  }

  /** update_and_allocate(global_step) for the 0-based step just taken; masks Λ in `params` in place. */
  step(globalStep: number, params: Map<string, Float32Array>, grads: Map<string, Float32Array>): AllocationResult {
    const { total_step: total, tfinal } = this.settings;
    const boundary = total - tfinal;
    if (globalStep < boundary) {
      this.updateImportance(params, grads);
      const { budget, mask } = this.budgetAt(globalStep);
      if (mask) this.maskToBudget(params, budget);
      return { budget, masked: mask };
    }
    if (globalStep === boundary) {
      this.maskToBudget(params, this.budgetAt(globalStep).budget);
      this.ipt.clear();
      this.unc.clear();
      return { budget: this.targetBudget, masked: true };
    }
    if (this.pattern) this.applyPattern(params);
    return { budget: this.targetBudget, masked: this.pattern !== undefined };
  }

  /** PEFT's update_ipt over every lora_ parameter. */
  private updateImportance(params: Map<string, Float32Array>, grads: Map<string, Float32Array>): void {
    const { beta1, beta2 } = this.settings;
    for (const name of this.paramNames) {
      const p = params.get(name)!, g = grads.get(name)!;
      let ipt = this.ipt.get(name), unc = this.unc.get(name);
      if (!ipt || !unc) {
        ipt = new Float32Array(p.length);
        unc = new Float32Array(p.length);
        this.ipt.set(name, ipt);
        this.unc.set(name, unc);
      }
      for (let i = 0; i < p.length; i++) {
        const now = Math.abs(f(p[i] * g[i]));
        ipt[i] = f(f(beta1 * ipt[i]) + f((1 - beta1) * now));
        unc[i] = f(f(beta2 * unc[i]) + f((1 - beta2) * Math.abs(f(now - ipt[i]))));
      }
    }
  }

  /** Each module's triplet scores [r]: s(E_i) + (mean_j s(A_ij) + mean_o s(B_oi)). */
  tripletScores(): Map<string, Float64Array> {
    const r = this.settings.init_r;
    const score = (name: string, i: number) => f((this.ipt.get(name)?.[i] ?? 0) * (this.unc.get(name)?.[i] ?? 0));
    const out = new Map<string, Float64Array>();
    for (const s of this.sites) {
      const a = `${s.baseName}.lora_A`, b = `${s.baseName}.lora_B`, e = adaloraEName(s.baseName);
      const scores = new Float64Array(r);
      for (let k = 0; k < r; k++) {
        let sumA = 0, sumB = 0;
        for (let j = 0; j < s.in; j++) sumA += score(a, k * s.in + j);
        for (let o = 0; o < s.out; o++) sumB += score(b, o * r + k);
        scores[k] = f(score(e, k) + f(f(sumA / s.in) + f(sumB / s.out)));
      }
      out.set(s.baseName, scores);
    }
    return out;
  }

  /** PEFT's mask_to_budget: threshold = the (init − budget)-th smallest score (torch.kthvalue); ≤ threshold is pruned. */
  private maskToBudget(params: Map<string, Float32Array>, budget: number): void {
    const scores = this.tripletScores();
    const k = this.initBudget - budget;
    // kthvalue needs k ≥ 1; a budget equal to the initial one prunes nothing.
    const threshold = k >= 1 ? [...scores.values()].flatMap((s) => [...s]).sort((x, y) => x - y)[k - 1] : -Infinity;
    this.pattern = new Map([...scores].map(([baseName, s]) => [baseName, Float32Array.from(s, (v) => (v <= threshold ? 0 : 1))]));
    this.applyPattern(params);
  }

  private applyPattern(params: Map<string, Float32Array>): void {
    for (const [baseName, keep] of this.pattern!) {
      const E = params.get(adaloraEName(baseName))!;
      for (let k = 0; k < keep.length; k++) if (keep[k] === 0) E[k] = 0;
    }
  }

  /** PEFT's rank_pattern as adapter_config.json holds it ('<module>.lora_E' → kept flags), or null before any allocation. */
  rankPattern(): Record<string, boolean[]> | null {
    if (!this.pattern) return null;
    return Object.fromEntries([...this.pattern].map(([baseName, keep]) => [adaloraEName(baseName), [...keep].map((x) => x === 1)]));
  }

  /** State tensors: '<param>.exp_avg_ipt' / '.exp_avg_unc' (zeros when unset), '<module>.lora_E.rank_mask' and 'adalora.pattern_set'. */
  exportState(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const name of this.paramNames) {
      const size = this.size(name);
      out.set(`${name}.exp_avg_ipt`, Float32Array.from(this.ipt.get(name) ?? new Float32Array(size)));
      out.set(`${name}.exp_avg_unc`, Float32Array.from(this.unc.get(name) ?? new Float32Array(size)));
    }
    for (const s of this.sites) out.set(`${adaloraEName(s.baseName)}.rank_mask`, Float32Array.from(this.pattern?.get(s.baseName) ?? new Float32Array(this.settings.init_r).fill(1)));
    out.set(PATTERN_SET, Float32Array.of(this.pattern ? 1 : 0));
    return out;
  }

  stateShapes(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const name of this.paramNames) for (const suffix of ['.exp_avg_ipt', '.exp_avg_unc']) out.set(name + suffix, [this.size(name)]);
    for (const s of this.sites) out.set(`${adaloraEName(s.baseName)}.rank_mask`, [this.settings.init_r]);
    out.set(PATTERN_SET, [1]);
    return out;
  }

  importState(tensors: Map<string, Float32Array>): void {
    const get = (name: string, length: number) => {
      const t = tensors.get(name);
      if (!t || t.length !== length) throw new Error(`trainer state has no AdaLoRA tensor ${name} of ${length} values (the checkpoint was not made by this AdaLoRA run)`);
      return Float32Array.from(t);
    };
    for (const name of this.paramNames) {
      this.ipt.set(name, get(`${name}.exp_avg_ipt`, this.size(name)));
      this.unc.set(name, get(`${name}.exp_avg_unc`, this.size(name)));
    }
    this.pattern = get(PATTERN_SET, 1)[0] === 1
      ? new Map(this.sites.map((s) => [s.baseName, get(`${adaloraEName(s.baseName)}.rank_mask`, this.settings.init_r)]))
      : undefined;
  }

  private size(name: string): number {
    const s = this.sites.find((x) => name.startsWith(`${x.baseName}.`))!;
    const r = this.settings.init_r;
    return name.endsWith('.lora_A') ? r * s.in : name.endsWith('.lora_B') ? s.out * r : r;
  }
}

const PATTERN_SET = 'adalora.pattern_set';
