import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeArgs, parseMergeLine, suggestedMergeOut } from '../../../../extension/commands/merge-lines';

test('merge --json lines: progress, done, error; anything else is not a message', () => {
  assert.deepEqual(parseMergeLine('{"type":"progress","done":3,"total":10,"tensor":"model.layers.0.self_attn.q_proj.weight"}'),
    { type: 'progress', done: 3, total: 10, tensor: 'model.layers.0.self_attn.q_proj.weight' });
  assert.deepEqual(parseMergeLine('{"type":"done","out":"/m/out"}'), { type: 'done', out: '/m/out' });
  assert.deepEqual(parseMergeLine('{"type":"error","message":"adapter_model.safetensors: tensor x has shape [8,4], expected [8,16]"}'),
    { type: 'error', message: 'adapter_model.safetensors: tensor x has shape [8,4], expected [8,16]' });
  assert.equal(parseMergeLine('merging 10 tensors'), undefined);
  assert.equal(parseMergeLine('{"type":"progress","done":"3"}'), undefined);
  assert.equal(parseMergeLine('null'), undefined);
});

test('merge arguments and the suggested output folder', () => {
  assert.deepEqual(mergeArgs('/ext/dist/cli.js', { model: '/m/base', adapter: '/w/runs/r1', out: '/w/runs/base-r1-merged' }),
    ['/ext/dist/cli.js', 'merge', '--model', '/m/base', '--adapter', '/w/runs/r1', '--out', '/w/runs/base-r1-merged', '--json']);
  assert.equal(suggestedMergeOut('/w/runs/r1', '/models/Qwen2-0.5B'), '/w/runs/Qwen2-0.5B-r1-merged');
  // A run's adapter: beside the runs folder, not among the runs.
  assert.equal(suggestedMergeOut('/w/.lora-studio/runs/r1', '/m/Qwen2', '/w/.lora-studio/runs'), '/w/.lora-studio/merged/Qwen2-r1-merged');
  assert.equal(suggestedMergeOut('/w/adapters/a', '/m/Qwen2', '/w/.lora-studio/runs'), '/w/adapters/Qwen2-a-merged');
  // Taken names are skipped, so the suggestion never points at a folder the merge would refuse.
  const taken = new Set(['/w/adapters/Qwen2-a-merged', '/w/adapters/Qwen2-a-merged-2']);
  assert.equal(suggestedMergeOut('/w/adapters/a', '/m/Qwen2', undefined, (p) => taken.has(p)), '/w/adapters/Qwen2-a-merged-3');
});
