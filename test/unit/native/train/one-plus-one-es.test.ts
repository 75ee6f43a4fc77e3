// The (1+1)-ES of native/train/one-plus-one-es.ts on functions with known minima: it finds them, stays in its box,
// follows the one-fifth rule's step-size updates exactly, and is reproducible from its seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OnePlusOneEs, type EsOptions } from '../../../../native/train/one-plus-one-es';

function minimize(f: (x: number[]) => number, evaluations: number, opts: EsOptions) {
  const es = new OnePlusOneEs(opts);
  const asked: number[][] = [];
  for (let i = 0; i < evaluations; i++) {
    const x = es.ask();
    asked.push(x);
    es.tell(x, f(x));
  }
  return { es, asked, best: es.best! };
}

test('(1+1)-ES: a shifted sphere in 3-D is minimized to its centre from w = 0', () => {
  const centre = [0.7, -0.3, 1.2];
  const sphere = (x: number[]) => x.reduce((s, v, i) => s + (v - centre[i]) ** 2, 0);
  const { best, asked } = minimize(sphere, 300, { x0: [0, 0, 0], sigma0: 0.5, lower: -1.5, upper: 1.5, seed: 1 });
  assert.deepEqual(asked[0], [0, 0, 0], 'the start is evaluated first');
  assert.ok(best.f < 1e-6, `best f = ${best.f} at ${best.x}`);
  best.x.forEach((v, i) => assert.ok(Math.abs(v - centre[i]) < 1e-3, `x[${i}] = ${v}, expected ${centre[i]}`));
});

test('(1+1)-ES: Rosenbrock\'s curved valley in 2-D is followed from (-1, 1) to near (1, 1)', () => {
  // An isotropic ES is slow in this ill-conditioned valley (CMA would learn its shape): near is what it promises.
  const rosenbrock = ([a, b]: number[]) => (1 - a) ** 2 + 100 * (b - a * a) ** 2;
  const { best } = minimize(rosenbrock, 3000, { x0: [-1, 1], sigma0: 0.3, lower: -1.5, upper: 1.5, seed: 7 });
  assert.ok(best.f < 1e-2, `best f = ${best.f} at ${best.x} (start: f = 4)`);
  best.x.forEach((v) => assert.ok(Math.abs(v - 1) < 0.1, `best x = ${best.x}`));
});

test('(1+1)-ES: candidates never leave the box; a minimum outside it ends on the box\'s corner', () => {
  const far = (x: number[]) => (x[0] - 3) ** 2 + (x[1] + 3) ** 2;
  const { best, asked } = minimize(far, 200, { x0: [0, 0], sigma0: 2, lower: -1.5, upper: 1.5, seed: 3 });
  for (const x of asked) for (const v of x) assert.ok(v >= -1.5 && v <= 1.5, `asked ${x}`);
  assert.deepEqual(best.x, [1.5, -1.5]);
});

test('(1+1)-ES: the step size grows by exp(1/3) on a success and shrinks by exp(-1/12) on a failure; NaN is a failure', () => {
  const es = new OnePlusOneEs({ x0: [0], sigma0: 1, lower: -10, upper: 10, seed: 0 });
  es.tell(es.ask(), 5);
  assert.equal(es.sigma, 1, 'the start only sets the parent');
  es.tell(es.ask(), 4);
  assert.ok(Math.abs(es.sigma - Math.exp(1 / 3)) < 1e-12);
  const parent = es.best!;
  es.tell(es.ask(), NaN);
  es.tell(es.ask(), 100);
  assert.ok(Math.abs(es.sigma - Math.exp(1 / 3 - 2 / 12)) < 1e-12);
  assert.deepEqual(es.best, parent, 'failures keep the parent');
  assert.equal(es.count, 4);
});

test('(1+1)-ES: the same seed asks the same points; another seed asks others', () => {
  const f = (x: number[]) => Math.abs(x[0]) + Math.abs(x[1] - 0.5);
  const run = (seed: number) => minimize(f, 30, { x0: [1, 1], sigma0: 0.5, lower: -1.5, upper: 1.5, seed }).asked;
  assert.deepEqual(run(11), run(11));
  assert.notDeepEqual(run(11), run(12));
});

test('(1+1)-ES: refuses a step size ≤ 0 and an empty box', () => {
  assert.throws(() => new OnePlusOneEs({ x0: [0], sigma0: 0, lower: -1, upper: 1, seed: 0 }), /sigma0 must be > 0/);
  assert.throws(() => new OnePlusOneEs({ x0: [0], sigma0: 1, lower: 1, upper: 1, seed: 0 }), /lower bound 1 must be below upper bound 1/);
});
