// native/cli/number-flag.ts: plain decimal (and the exponent form) is read; every other spelling Number() would
// accept (hex, binary, octal, separators, signs, spaces, empty, Infinity) is refused naming the flag and the value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { numberFlag, optionalNumberFlag, SEED_RULE, wholeAtLeast } from '../../../../native/cli/number-flag';
import { UserError } from '../../../../native/util/errors';

test('plain decimal, fractions, negatives and the exponent form are the numbers they spell', () => {
  for (const [text, n] of [['10', 10], ['0', 0], ['-1', -1], ['0.5', 0.5], ['.5', 0.5], ['5.', 5], ['1e1', 10], ['3e-4', 3e-4], ['2E+2', 200], ['007', 7]] as const) {
    assert.equal(numberFlag('lr', text), n, text);
  }
});

test('hex, binary, octal, "_", "+", spaces, trailing letters, empty, NaN and Infinity are refused naming flag and value', () => {
  for (const text of ['0x10', '0b11', '0o7', '1_000', ' 10 ', '10 ', '+5', '10abc', '', ' ', 'NaN', 'Infinity', '-Infinity', '1e999', '1e', 'e1', '--5', '1.2.3']) {
    assert.throws(() => numberFlag('max-steps', text), (e: unknown) => e instanceof UserError && e.message.startsWith(`--max-steps must be a number, got "${text}"`), JSON.stringify(text));
  }
});

test('the fix shows the plain spelling of what was meant, when there is one', () => {
  assert.throws(() => numberFlag('max-steps', '0x10'), /plain decimal digits, e\.g\. --max-steps 16/);
  assert.throws(() => numberFlag('max-steps', '1_000'), /e\.g\. --max-steps 1000/);
  assert.throws(() => numberFlag('seed', '+5'), /e\.g\. --seed 5/);
  assert.throws(() => numberFlag('steps', '10abc', wholeAtLeast(2, '20')), /--steps must be a whole number ≥ 2, got "10abc".*e\.g\. --steps 20/s);
});

test('a rule is checked after the spelling, and an absent optional flag is its fallback', () => {
  assert.equal(numberFlag('rank', '8', wholeAtLeast(1)), 8);
  assert.throws(() => numberFlag('rank', '1.5', wholeAtLeast(1, '8')), /--rank must be a whole number ≥ 1, got "1\.5".*pass e\.g\. --rank 8/s);
  assert.throws(() => numberFlag('rank', '0', wholeAtLeast(1)), /--rank must be a whole number ≥ 1, got "0"/);
  assert.equal(optionalNumberFlag('seed', undefined, 42), 42);
  assert.equal(optionalNumberFlag('seed', '7', 42), 7);
  assert.throws(() => optionalNumberFlag('seed', '0x7', 42), /--seed must be a number, got "0x7"/);
});

test('a seed is a whole number in 32 bits: 2^32 would repeat seed 0', () => {
  assert.equal(numberFlag('seed', '4294967295', SEED_RULE), 4294967295);
  assert.equal(numberFlag('seed', '0', SEED_RULE), 0);
  for (const text of ['4294967296', '-1', '1.5', '1e20']) assert.throws(() => numberFlag('seed', text, SEED_RULE), /--seed must be a whole number from 0 to 4,294,967,295/, text);
});
