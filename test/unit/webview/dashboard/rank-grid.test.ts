// Tests of webview/dashboard/rank-grid.ts: AdaLoRA's final ranks as a layer × module grid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankGrid, rankSummary } from '../../../../webview/dashboard/rank-grid';

test('rows by layer (numerically), columns in the model order, cells shaded by rank / init_r', () => {
  const grid = rankGrid({ initR: 12, targetR: 8, modules: [
    { name: 'model.layers.10.mlp.down_proj', rank: 12 },
    { name: 'model.layers.2.self_attn.v_proj', rank: 3 },
    { name: 'model.layers.2.self_attn.q_proj', rank: 6 },
    { name: 'model.layers.2.mlp.down_proj', rank: 0 },
  ] });
  assert.deepEqual(grid.columns, ['q_proj', 'v_proj', 'down_proj']);
  assert.deepEqual(grid.rows.map((r) => r.label), ['layer 2', 'layer 10']);
  assert.deepEqual(grid.rows[0].cells.map((c) => c?.rank), [6, 3, 0]);
  assert.deepEqual(grid.rows[1].cells.map((c) => c?.rank ?? null), [null, null, 12], 'a module a layer lacks is an empty cell');
  assert.equal(grid.rows[0].cells[0]?.fraction, 0.5);
  assert.equal(grid.rows[0].cells[0]?.name, 'model.layers.2.self_attn.q_proj');
  assert.equal(grid.kept, 21);
  assert.equal(grid.initial, 48);
  assert.equal(rankSummary(grid), '21 of 48 ranks kept · mean 5.3 per module (init_r 12, target_r 8)');
});

test('modules outside numbered layers get rows of their own, after the layers; unknown kinds sort after known ones', () => {
  const grid = rankGrid({ initR: 4, modules: [
    { name: 'lm_head', rank: 2 },
    { name: 'model.layers.0.self_attn.q_proj', rank: 4 },
    { name: 'model.layers.0.self_attn.qkv', rank: 1 },
  ] });
  assert.deepEqual(grid.columns, ['q_proj', 'lm_head', 'qkv']);
  assert.deepEqual(grid.rows.map((r) => r.label), ['layer 0', 'lm_head']);
  assert.deepEqual(grid.rows[1].cells.map((c) => c?.rank ?? null), [null, 2, null]);
  assert.equal(rankSummary(grid), '7 of 12 ranks kept · mean 2.3 per module (init_r 4)');
});
