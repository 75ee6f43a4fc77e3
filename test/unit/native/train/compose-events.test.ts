import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseComposeLine, type ComposeEvent } from '../../../../native/train/compose-events';

test('compose --json lines round-trip through parseComposeLine; malformed ones and plain text are not events', () => {
  const events: ComposeEvent[] = [
    { type: 'status', message: 'tokenizing few.jsonl…' },
    { type: 'step', step: 3, total_steps: 40, weights: [0.1, -0.2], loss: 1.5, objective: 1.515, best_weights: [0, 0], best_loss: 1.4, best_objective: 1.4 },
    { type: 'done', out: '/w/out', weights: [0.9, 0.05], loss: 0.8, objective: 0.8475, uniform_loss: 1.2, base_loss: 2.3 },
    { type: 'error', message: 'adapter_config.json: r: …' },
  ];
  for (const event of events) assert.deepEqual(parseComposeLine(JSON.stringify(event)), event);
  assert.equal(parseComposeLine('step 3/40: loss 1.5'), undefined);
  assert.equal(parseComposeLine('{"type":"step","step":3}'), undefined);
  assert.equal(parseComposeLine('{"type":"done","out":"/w","weights":["a"],"loss":1,"objective":1,"uniform_loss":1,"base_loss":1}'), undefined);
  assert.equal(parseComposeLine('{"type":"nope"}'), undefined);
  assert.equal(parseComposeLine('null'), undefined);
});
