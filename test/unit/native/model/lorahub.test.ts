// LoRAHub's composition (native/model/lorahub.ts): element-wise A = Σ wᵢAᵢ, B = Σ wᵢBᵢ against a float64 reference;
// adapters of other scalings folded so a one-hot weight is that adapter; every mismatch refused naming the adapter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { resolveTargets, type LoraTarget } from '../../../../native/model/lora';
import { writePeftAdapter } from '../../../../native/model/peft-io';
import { canonicalSign, composeLora, loadHubAdapters } from '../../../../native/model/lorahub';
import { mulberry32 } from '../../../../native/util/random';
import { UserError } from '../../../../native/util/errors';

const root = mkdtempSync(join(tmpdir(), 'lorahub-'));
const model = loadModelFolder(makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 1 }).dir);
const qv = resolveTargets(model.config, ['q_proj', 'v_proj']);

function adapter(name: string, opts: { r?: number; alpha?: number; targets?: readonly LoraTarget[]; seed?: number; dora?: boolean } = {}): string {
  const r = opts.r ?? 4, targets = opts.targets ?? qv, random = mulberry32(opts.seed ?? 1);
  const values = (n: number) => Float32Array.from({ length: n }, () => random() - 0.5);
  const weights = new Map(targets.map((t) => [t.baseName, { A: values(r * t.in), B: values(t.out * r), ...(opts.dora ? { m: values(t.out) } : {}) }]));
  const dir = join(root, name);
  writePeftAdapter(dir, { config: { r, lora_alpha: opts.alpha ?? 8, lora_dropout: 0, use_rslora: false, use_dora: opts.dora ?? false }, baseModel: model.dir, targets, weights, dtype: 'float32' });
  return dir;
}

const one = adapter('one', { seed: 1 }), two = adapter('two', { seed: 2 }), three = adapter('three', { seed: 3 });

test('composeLora: every module\'s A and B are Σ wᵢAᵢ and Σ wᵢBᵢ (float64 reference); one-hot weights give that adapter', () => {
  const hub = loadHubAdapters([one, two, three], model);
  const w = [0.7, -1.2, 0.35];
  const composed = composeLora(hub.adapters, w);
  assert.deepEqual([...composed.keys()], hub.targets.map((t) => t.baseName));
  for (const [name, { A, B }] of composed) {
    for (const [part, got] of [['A', A], ['B', B]] as const) {
      const expected = got.map((_, k) => hub.adapters.reduce((s, a, i) => s + w[i] * a.modules.get(name)![part][k], 0));
      got.forEach((v, k) => assert.ok(Math.abs(v - expected[k]) < 1e-6, `${name} ${part}[${k}] ${v} vs ${expected[k]}`));
    }
  }
  const second = composeLora(hub.adapters, [0, 1, 0]);
  for (const [name, t] of second) assert.deepEqual(t, hub.adapters[1].modules.get(name));
  for (const t of composeLora(hub.adapters, [0, 0, 0]).values()) assert.ok(t.A.every((v) => v === 0) && t.B.every((v) => v === 0));
});

test('loadHubAdapters: targets in the model\'s order, r and scaling from the adapters; another lora_alpha is folded into B', () => {
  const doubled = adapter('alpha16', { seed: 2, alpha: 16 });
  const hub = loadHubAdapters([one, doubled], model);
  assert.deepEqual(hub.targets.map((t) => t.baseName), qv.map((t) => t.baseName));
  assert.equal(hub.r, 4);
  assert.equal(hub.scaling, 2); // lora_alpha 8 / r 4, the first adapter's
  const plain = loadHubAdapters([one, two], model);
  for (const [name, m] of hub.adapters[1].modules) {
    assert.deepEqual(m.A, plain.adapters[1].modules.get(name)!.A);
    assert.deepEqual(m.B, plain.adapters[1].modules.get(name)!.B.map((v) => 2 * v), 'B × (16/4) / (8/4)');
  }
  assert.equal(hub.adapters[1].lora_alpha, 16);
});

test('loadHubAdapters: another r, other modules, DoRA, a foreign shape or a single adapter are refused, naming the adapter', () => {
  const refused = (dirs: string[], pattern: RegExp, where?: string) =>
    assert.throws(() => loadHubAdapters(dirs, model), (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assert.match(e.message, pattern);
      if (where) assert.ok(e.message.includes(where), `${e.message} does not name ${where}`);
      return true;
    });
  refused([one, adapter('rank8', { r: 8 })], /r=8, but .*one has r=4.*the same --r/, join(root, 'rank8'));
  refused([one, adapter('qonly', { targets: qv.filter((t) => t.module === 'q_proj') })], /lacks model\.layers\.0\.self_attn\.v_proj, model\.layers\.1\.self_attn\.v_proj.*same target_modules/, join(root, 'qonly'));
  refused([one, adapter('qkv', { targets: resolveTargets(model.config, ['q_proj', 'k_proj', 'v_proj']) })], /adds model\.layers\.0\.self_attn\.k_proj/, join(root, 'qkv'));
  refused([one, adapter('dora', { dora: true })], /DoRA adapter .* cannot be composed/, join(root, 'dora'));
  const wrongShape = qv.map((t) => ({ ...t, in: 32 }));
  refused([one, adapter('other-model', { targets: wrongShape })], /shape mismatch.*model\.layers\.0\.self_attn\.q_proj\.weight is \[64,64\]/, join(root, 'other-model'));
  refused([one], /at least two adapters, got 1/);
});

test('canonicalSign: w and −w compose the same ΔW; the weight of largest magnitude is made positive', () => {
  assert.deepEqual(canonicalSign([0.2, -0.9, 0.3]), [-0.2, 0.9, -0.3]);
  assert.deepEqual(canonicalSign([0.2, 0.9, -0.3]), [0.2, 0.9, -0.3]);
  assert.deepEqual(canonicalSign([0, 0]), [0, 0]);
  const hub = loadHubAdapters([one, two], model);
  const delta = (w: number[]) => {
    const { A, B } = composeLora(hub.adapters, w).get(qv[0].baseName)!;
    const r = hub.r, n = qv[0].in;
    return Array.from({ length: qv[0].out * n }, (_, k) => { let s = 0; for (let j = 0; j < r; j++) s += B[Math.floor(k / n) * r + j] * A[j * n + (k % n)]; return s; });
  };
  const plus = delta([0.2, -0.9]), minus = delta(canonicalSign([0.2, -0.9]));
  plus.forEach((v, k) => assert.ok(Math.abs(v - minus[k]) < 1e-5, `ΔW[${k}] ${v} vs ${minus[k]}`));
});
