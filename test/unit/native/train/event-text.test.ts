import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etaSeconds, formatEvent } from '../../../../native/train/event-text';

test('step lines show progress, loss, eval loss when present, throughput and eta', () => {
  const line = formatEvent({
    type: 'step', total_steps: 100, step: 25, epoch: 0.25, loss: 1.23456, eval_loss: 1.5, lr: 3e-4, grad_norm: 0.5,
    tokens: 1000, tokens_per_s: 1234.4, elapsed_s: 50, memory_mb: 2048,
  });
  assert.equal(line, 'step  25/100  loss 1.2346  eval 1.5000  lr 3.00e-4  grad 0.500  1,234 tok/s  2,048 MiB  eta 2m30s');
});

test('eta is the average pace times the steps left', () => {
  assert.equal(etaSeconds(10, 20, 30), 30);
  assert.equal(etaSeconds(0, 20, 0), 0);
  assert.equal(etaSeconds(20, 20, 60), 0);
});

test('stopped runs say how to resume; start says whether it resumed', () => {
  assert.match(formatEvent({ type: 'done', adapter: '/runs/a', reason: 'stopped', step: 7 }), /--resume \/runs\/a/);
  assert.match(formatEvent({ type: 'done', adapter: '/runs/a', reason: 'completed', step: 7 }), /done after 7 steps/);
  const config = {} as never;
  assert.match(formatEvent({ type: 'start', protocol: 1, run_dir: '/r', total_steps: 9, resumed_from_step: 3, config, pid: 1 }), /resuming \/r at step 3 of 9/);
});
