import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeArgs, composeStepText, selectedPaths, suggestedComposeOut } from '../../../../extension/commands/compose-args';

test('compose arguments: the adapters joined by commas, --json last', () => {
  assert.deepEqual(composeArgs('/ext/dist/cli.js', { model: '/m/base', adapters: ['/w/a', '/w/b', '/w/c'], data: '/w/few.jsonl', out: '/w/lorahub-few' }),
    ['/ext/dist/cli.js', 'compose', '--model', '/m/base', '--adapters', '/w/a,/w/b,/w/c', '--data', '/w/few.jsonl', '--out', '/w/lorahub-few', '--json']);
});

test('the suggested output: beside the first adapter, or beside the runs folder for runs; taken names skipped', () => {
  assert.equal(suggestedComposeOut(['/w/adapters/a', '/w/b'], '/d/Few Shot.jsonl'), '/w/adapters/lorahub-Few Shot');
  assert.equal(suggestedComposeOut(['/w/.lora-studio/runs/r1', '/w/.lora-studio/runs/r2'], '/d/few.jsonl', '/w/.lora-studio/runs'), '/w/.lora-studio/composed/lorahub-few');
  const taken = new Set(['/w/adapters/lorahub-few', '/w/adapters/lorahub-few-2']);
  assert.equal(suggestedComposeOut(['/w/adapters/a'], '/d/few.jsonl', undefined, (p) => taken.has(p)), '/w/adapters/lorahub-few-3');
});

test('a selection: all selected items when VS Code passes them, else the clicked one; each once, unreadable ones dropped', () => {
  const toPath = (item: unknown) => (typeof item === 'string' ? item : undefined);
  assert.deepEqual(selectedPaths('/a', ['/a', '/b', 3, '/b'], toPath), ['/a', '/b']);
  assert.deepEqual(selectedPaths('/a', undefined, toPath), ['/a']);
  assert.deepEqual(selectedPaths('/a', [], toPath), ['/a']);
  assert.deepEqual(selectedPaths(undefined, undefined, toPath), []);
});

test('a step\'s progress text shows the step, the best loss and its weights', () => {
  assert.equal(composeStepText({ type: 'step', step: 7, total_steps: 40, weights: [0.1, 0.2], loss: 2, objective: 2.1, best_weights: [0.25, -1.5], best_loss: 1.23456, best_objective: 1.3 }),
    'step 7/40 · best loss 1.2346 · w = 0.25, -1.50');
});
