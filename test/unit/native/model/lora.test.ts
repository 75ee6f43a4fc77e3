// Tests native/model/lora.ts: PEFT target matching, all-linear, scaling, parameter counts and seeded kaiming init.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initLora, loraParameterCount, loraScaling, matchTargets, resolveTargets, targetModuleNames } from '../../../../native/model/lora';
import { UserError } from '../../../../native/util/errors';
import { TINY_CONFIGS } from './tiny-configs';

const llama = TINY_CONFIGS.llama;

test('short names match by suffix, full paths exactly, all-linear is every decoder linear and never lm_head', () => {
  const qv = resolveTargets(llama, ['q_proj', 'v_proj']);
  assert.deepEqual(qv.map((t) => t.baseName), [
    'model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj',
  ]);
  assert.deepEqual(qv[0], { module: 'q_proj', layer: 0, baseName: 'model.layers.0.self_attn.q_proj', in: 16, out: 16 });
  assert.deepEqual(qv[1].out, 8); // 2 kv heads × head_dim 4
  const exact = resolveTargets(llama, ['model.layers.1.mlp.down_proj']);
  assert.deepEqual(exact.map((t) => [t.baseName, t.in, t.out]), [['model.layers.1.mlp.down_proj', 24, 16]]);
  const all = resolveTargets(llama, 'all-linear');
  assert.equal(all.length, 2 * 7);
  assert.ok(all.every((t) => !t.baseName.includes('lm_head')));
  assert.deepEqual(targetModuleNames(all), ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
});

test('an unknown module is a UserError listing the valid names', () => {
  assert.throws(() => resolveTargets(llama, ['q_proj', 'qkv_proj']), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /"qkv_proj"/);
    assert.match(e.message, /q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/);
    return true;
  });
});

test('matchTargets is the same rule without throwing: the targets resolveTargets gives, and the unknown entries', () => {
  for (const value of [['q_proj', 'v_proj'], ['model.layers.1.mlp.down_proj'], ['self_attn.o_proj', 'up_proj'], 'all-linear'] as const) {
    const targets = value === 'all-linear' ? value : [...value];
    assert.deepEqual(matchTargets(llama, targets), { targets: resolveTargets(llama, targets), unknown: [] });
  }
  const partial = matchTargets(llama, ['q_proj', 'qkv_proj', 'proj']);
  assert.deepEqual(partial.unknown, ['qkv_proj', 'proj']);
  assert.deepEqual(partial.targets, resolveTargets(llama, ['q_proj']));
});

test('scaling is alpha/r, or alpha/sqrt(r) with rsLoRA; parameter count is r·(in+out) per target', () => {
  assert.equal(loraScaling(8, 16, false), 2);
  assert.equal(loraScaling(16, 16, true), 4);
  const targets = resolveTargets(llama, ['q_proj', 'down_proj']);
  // per layer: q 16→16, down 24→16; 2 layers, r=4
  assert.equal(loraParameterCount(targets, 4), 2 * 4 * ((16 + 16) + (24 + 16)));
});

test('init: A uniform within ±1/√in (torch kaiming_uniform_ a=√5), B zeros, same seed same numbers', () => {
  const targets = resolveTargets(llama, ['q_proj', 'down_proj']);
  const w = initLora(targets, 4, 7);
  for (const t of targets) {
    const { A, B } = w.get(t.baseName)!;
    assert.equal(A.length, 4 * t.in);
    assert.equal(B.length, t.out * 4);
    assert.ok(B.every((v) => v === 0));
    const bound = 1 / Math.sqrt(t.in);
    assert.ok(A.every((v) => Math.abs(v) <= bound));
    // spread: the extremes come close to the bound and the mean is near 0
    assert.ok(Math.max(...A.map(Math.abs)) > 0.8 * bound);
    assert.ok(Math.abs(A.reduce((s, v) => s + v, 0) / A.length) < 0.25 * bound);
  }
  const again = initLora(targets, 4, 7);
  const other = initLora(targets, 4, 8);
  const first = targets[0].baseName;
  assert.deepEqual(again.get(first)!.A, w.get(first)!.A);
  assert.notDeepEqual(other.get(first)!.A, w.get(first)!.A);
});
