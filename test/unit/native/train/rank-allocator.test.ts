// Tests native/train/rank-allocator.ts against PEFT's RankAllocator written out by hand: the cubic budget schedule,
// the importance EMAs, triplet scores and kthvalue masking of Λ, the final-phase pattern, and state round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RankAllocator } from '../../../../native/train/rank-allocator';
import type { AdaLoraSettings } from '../../../../native/model/adalora-settings';

const sites = [{ baseName: 'm0', in: 3, out: 2 }, { baseName: 'm1', in: 2, out: 4 }];
const names = sites.flatMap((s) => [`${s.baseName}.lora_A`, `${s.baseName}.lora_B`, `${s.baseName}.lora_E`]);
const settings: AdaLoraSettings = { init_r: 3, target_r: 1, tinit: 2, tfinal: 3, deltaT: 2, beta1: 0.85, beta2: 0.85, orth_reg_weight: 0.5, total_step: 12 };
const sizeOf = (n: string) => { const s = sites.find((x) => n.startsWith(`${x.baseName}.`))!; return n.endsWith('lora_A') ? 3 * s.in : n.endsWith('lora_B') ? s.out * 3 : 3; };
const tensors = (seed: number) => new Map(names.map((n, k) => [n, Float32Array.from({ length: sizeOf(n) }, (_, i) => Math.fround(Math.sin(seed * 7.1 + k * 3.3 + i * 1.9)))]));

test('budget_schedule: init budget until tinit, cubic ⌊(init − target)(1 − (t − tinit)/(T − tfinal − tinit))³ + target⌋ every deltaT, target after', () => {
  const a = new RankAllocator(settings, sites, names);
  assert.equal(a.initBudget, 6);
  assert.equal(a.targetBudget, 2);
  const got = Array.from({ length: 13 }, (_, t) => a.budgetAt(t));
  for (let t = 0; t <= 12; t++) {
    if (t <= 2) assert.deepEqual(got[t], { budget: 6, mask: false });
    else if (t > 9) assert.deepEqual(got[t], { budget: 2, mask: true });
    else assert.deepEqual(got[t], { budget: Math.trunc(4 * (1 - (t - 2) / 7) ** 3 + 2), mask: t % 2 === 0 });
  }
});

test('importance EMAs, triplet scores and masking follow PEFT (kthvalue threshold, ≤ pruned); after total − tfinal the pattern holds', () => {
  const a = new RankAllocator(settings, sites, names);
  const ipt = new Map(names.map((n) => [n, new Float64Array(sizeOf(n))]));
  const unc = new Map(names.map((n) => [n, new Float64Array(sizeOf(n))]));
  let params = tensors(1);
  for (let step = 0; step <= 9; step++) {
    params = tensors(step + 1);
    const grads = tensors(step + 50);
    const before = new Map([...params].map(([n, p]) => [n, Float32Array.from(p)]));
    const result = a.step(step, params, grads);
    if (step < 9) {
      for (const n of names) {
        const I = ipt.get(n)!, U = unc.get(n)!, p = before.get(n)!, g = grads.get(n)!;
        for (let i = 0; i < I.length; i++) {
          const now = Math.abs(p[i] * g[i]);
          I[i] = 0.85 * I[i] + 0.15 * now;
          U[i] = 0.85 * U[i] + 0.15 * Math.abs(now - I[i]);
        }
      }
    }
    const { budget, mask } = a.budgetAt(step);
    assert.equal(result.budget, step === 9 ? 2 : budget);
    if (!(mask || step === 9)) continue;
    // PEFT's mask_to_budget, by hand: s = Ī·Ū; triplet = s(E_i) + mean_j s(A_ij) + mean_o s(B_oi).
    const scores = sites.flatMap((s) => Array.from({ length: 3 }, (_, k) => {
      const sc = (n: string, i: number) => ipt.get(n)![i] * unc.get(n)![i];
      let sa = 0, sb = 0;
      for (let j = 0; j < s.in; j++) sa += sc(`${s.baseName}.lora_A`, k * s.in + j);
      for (let o = 0; o < s.out; o++) sb += sc(`${s.baseName}.lora_B`, o * 3 + k);
      return { site: s.baseName, k, score: sc(`${s.baseName}.lora_E`, k) + sa / s.in + sb / s.out };
    }));
    const threshold = [...scores].sort((x, y) => x.score - y.score)[6 - (step === 9 ? 2 : budget) - 1].score;
    for (const { site, k, score } of scores) {
      const E = params.get(`${site}.lora_E`)!;
      if (score <= threshold) assert.equal(E[k], 0, `step ${step}: ${site} triplet ${k} must be pruned`);
      else assert.equal(E[k], before.get(`${site}.lora_E`)![k], `step ${step}: ${site} triplet ${k} must be kept`);
    }
    const pattern = a.rankPattern()!;
    assert.equal(Object.values(pattern).flat().filter(Boolean).length, step === 9 ? 2 : budget);
  }
  // Final phase: the pattern of step 9 masks Λ every step; the state round-trips (EMAs were reset at step 9).
  const pattern = a.rankPattern()!;
  const b = new RankAllocator(settings, sites, names);
  b.importState(a.exportState());
  assert.deepEqual(b.rankPattern(), pattern);
  assert.ok([...b.exportState()].filter(([n]) => n.endsWith('.exp_avg_ipt')).every(([, t]) => t.every((v) => v === 0)));
  const later = tensors(99);
  b.step(10, later, tensors(100));
  for (const s of sites) pattern[`${s.baseName}.lora_E`].forEach((kept, k) => { if (!kept) assert.equal(later.get(`${s.baseName}.lora_E`)![k], 0); });
});
