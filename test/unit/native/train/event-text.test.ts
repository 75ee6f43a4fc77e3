import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etaSeconds, formatEvent, paceBaseline, StepPace, WARMUP_STEPS, type StepTime } from '../../../../native/train/event-text';

const step = (n: number, elapsed_s: number, total_steps = 100) => ({
  type: 'step' as const, total_steps, step: n, epoch: n / total_steps, loss: 1.23456, eval_loss: 1.5, lr: 3e-4, grad_norm: 0.5,
  tokens: 1000, tokens_per_s: 1234.4, elapsed_s, memory_mb: 2048,
});

test('step lines show progress, loss, eval loss when present, throughput and eta', () => {
  const pace = new StepPace();
  pace.observe({ step: 24, elapsed_s: 48 });
  assert.equal(formatEvent(step(25, 50), pace), 'step  25/100  loss 1.2346  eval 1.5000  lr 3.00e-4  grad 0.500  1,234 tok/s  2,048 MiB  eta 2m30s');
  // Without the steps before, the pace is unknown: no eta at all, or "?" on an attempt's first step.
  assert.equal(formatEvent(step(25, 50)), 'step  25/100  loss 1.2346  eval 1.5000  lr 3.00e-4  grad 0.500  1,234 tok/s  2,048 MiB');
  assert.match(formatEvent(step(1, 30), new StepPace()), /eta \?$/);
});

/** A run whose first step takes `compile` s (session creation, compiling) and every later one `per` s. */
function run(steps: number, compile: number, per: number): StepTime[] {
  return Array.from({ length: steps }, (_, i) => ({ step: i + 1, elapsed_s: compile + per * i }));
}

test('the eta leaves out the compile and warm-up: sane from the second step (not 37 min for a 5-minute run)', () => {
  // 800 steps of 0.37 s after a first step of 30 s. Elapsed / steps said 30 × 799 s ≈ 6.7 h after step 1 and still
  // 44 min after step 10; the pace after warm-up says 798 × 0.37 s ≈ 4m55s from step 2.
  const ends = run(800, 30, 0.37);
  const pace = new StepPace();
  const seen: number[] = [];
  for (const end of ends) {
    pace.observe(end);
    seen.push(pace.etaSeconds(800));
    assert.equal(pace.etaSeconds(800), etaSeconds(paceBaseline(ends.slice(0, end.step)), end, 800), `streamed and listed agree at step ${end.step}`);
  }
  assert.ok(Number.isNaN(seen[0]), 'one step end tells no pace');
  for (const [i, eta] of seen.slice(1).entries()) {
    const truth = 0.37 * (800 - (i + 2));
    assert.ok(Math.abs(eta - truth) < 1e-6 * truth + 1e-9, `step ${i + 2}: eta ${eta} vs ${truth}`);
  }
  assert.equal(seen[799], 0);
});

test('warm-up steps slower than the steady pace are measured past', () => {
  // Steps 2..WARMUP_STEPS still warm up (2 s each), the rest take 0.5 s: once past them the eta uses 0.5 s a step.
  const ends: StepTime[] = [{ step: 1, elapsed_s: 20 }];
  for (let s = 2; s <= 40; s += 1) ends.push({ step: s, elapsed_s: ends[ends.length - 1].elapsed_s + (s <= WARMUP_STEPS ? 2 : 0.5) });
  const latest = ends[ends.length - 1];
  assert.deepEqual(paceBaseline(ends), ends[WARMUP_STEPS - 1]);
  assert.equal(etaSeconds(paceBaseline(ends), latest, 100), 0.5 * 60);
  // Early on, the latest step's time is the best there is.
  assert.equal(etaSeconds(paceBaseline(ends.slice(0, 3)), ends[2], 100), 2 * 97);
});

test('a resume starts a new attempt; an end seen again changes nothing; sparse updates use what they saw', () => {
  const pace = new StepPace();
  for (const end of run(50, 10, 1)) pace.observe(end);
  assert.equal(pace.etaSeconds(100), 50);
  pace.observe({ step: 50, elapsed_s: 59 }); // the status bar re-reads the same last record
  assert.equal(pace.etaSeconds(100), 50);
  // Resumed at step 40 (steps 41… again), 2 s a step now, after a 15 s recompile.
  pace.observe({ step: 41, elapsed_s: 70 });
  assert.ok(Number.isNaN(pace.etaSeconds(100)));
  pace.observe({ step: 42, elapsed_s: 72 });
  assert.equal(pace.etaSeconds(100), 2 * 58);
  // A window attaching mid-run sees every few steps only.
  const sparse = new StepPace();
  for (const end of [{ step: 300, elapsed_s: 200 }, { step: 310, elapsed_s: 205 }, { step: 330, elapsed_s: 215 }]) sparse.observe(end);
  assert.equal(sparse.etaSeconds(1000), 0.5 * 670);
  assert.equal(etaSeconds(undefined, { step: 3, elapsed_s: 5 }, 10), NaN);
  assert.equal(etaSeconds({ step: 1, elapsed_s: 1 }, { step: 10, elapsed_s: 9 }, 10), 0);
});

test('stopped runs say how to resume; start says whether it resumed', () => {
  assert.match(formatEvent({ type: 'done', adapter: '/runs/a', reason: 'stopped', step: 7 }), /--resume \/runs\/a/);
  assert.match(formatEvent({ type: 'done', adapter: '/runs/a', reason: 'completed', step: 7 }), /done after 7 steps/);
  // A run that wrote a whole model (LISA) names it instead of an adapter; a stopped one still resumes from its run folder.
  assert.equal(formatEvent({ type: 'done', adapter: '/runs/a', reason: 'completed', step: 7, model: '/runs/a/model' }), 'done after 7 steps; model: /runs/a/model');
  assert.match(formatEvent({ type: 'done', adapter: '/runs/a', reason: 'stopped', step: 7, model: '/runs/a/model' }), /--resume \/runs\/a$/);
  const config = {} as never;
  assert.match(formatEvent({ type: 'start', protocol: 1, run_dir: '/r', total_steps: 9, resumed_from_step: 3, config, pid: 1 }), /resuming \/r at step 3 of 9/);
});
