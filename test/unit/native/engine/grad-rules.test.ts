// Every gradient rule in the table is checked against float64 central differences (tolerance 1e-6), with
// broadcasting cases; the table and this file must list the same ops, so a new rule without a check fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GRAD_RULES } from '../../../../native/engine/grad-rules';
import { gradcheck, values } from './gradcheck';
import { GRADCHECK_CASES as cases, runGradchecks } from '../../../../native/engine/gradcheck-cases';

const P = (shape: number[], lo = -1, hi = 1, seed = 1): [number[], number[]] => [shape, values(shape.reduce((a, b) => a * b, 1), lo, hi, seed)];


test('the gradcheck table covers exactly the rule table', () => {
  assert.deepEqual(Object.keys(cases).sort(), Object.keys(GRAD_RULES).sort());
});

for (const [op, list] of Object.entries(cases)) {
  list.forEach((c, i) => {
    test(`${op} #${i + 1}: analytic gradients match float64 central differences`, async () => {
      const { maxError, maxGrad } = await gradcheck(c);
      assert.ok(maxGrad > 0, `${op}: all gradients are zero, the check would prove nothing`);
      assert.ok(maxError < 1e-6, `${op}: max relative error ${maxError}`);
    });
  });
}

test('Gather refuses a data gradient on an axis other than 0 instead of returning a wrong one', async () => {
  await assert.rejects(gradcheck({ params: { x: P([2, 4]) }, build: (g, p) => g.op('Gather', [p.x, g.constInt([0, 3, 3], [3])], { axis: 1 }) }), /Gather on axis 1 with respect to its data/);
});

test('Dropout in training mode refuses (its mask would be lost) and points to an explicit mask', async () => {
  await assert.rejects(gradcheck({
    params: { x: P([4]) },
    build: (g, p) => g.op('Dropout', [p.x, g.constant([0.5], []), g.op('Less', [g.constant([0], []), g.constant([1], [])])]),
  }), /Dropout with a training_mode input.*explicit mask/);
});

test('Pad refuses modes and pads whose gradient it does not implement', async () => {
  await assert.rejects(gradcheck({ params: { x: P([3]) }, build: (g, p) => g.op('Pad', [p.x, g.constInt([1, 1])], { mode: 'reflect' }) }), /Pad in mode "reflect"/);
  await assert.rejects(gradcheck({ params: { x: P([3]) }, build: (g, p) => g.op('Pad', [p.x, g.constInt([-1, 1])]) }), /negative pads/);
});

test('a missing rule names the op', async () => {
  await assert.rejects(gradcheck({ params: { x: P([3]) }, build: (g, p) => g.op('Abs', [p.x]) }), /no gradient rule for op Abs/);
});

test('runGradchecks (doctor) checks every rule with a case and passes; an impossible tolerance fails every case', async () => {
  const ok = await runGradchecks();
  assert.deepEqual(ok.failed, []);
  assert.equal(ok.ops, Object.keys(GRAD_RULES).length);
  assert.ok(ok.max_rel_err < 1e-6 && ok.max_rel_err > 0);
  const strict = await runGradchecks(-1);
  assert.equal(strict.failed.length, Object.values(cases).flat().length);
});
