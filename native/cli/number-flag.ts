// One reading of numeric flags for every command (train, generate, merge, export, compose, compare-methods,
// validate): plain decimal only, with the exponent form (1e1, 3e-4) that learning rates are written in. JavaScript's
// Number() also reads 0x10, 0b11, 0o7, ' 10 ', '' (as 0) and Infinity, so `--max-steps 0x10` trained 16 steps: a
// value a user did not mean as a number must be refused, naming the flag and the value, not quietly converted.
import { UserError } from '../util/errors';
import { MAX_SEED } from '../util/random';

/** Plain decimal: an optional minus, digits with an optional fraction (or a bare fraction), an optional exponent. */
const DECIMAL = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

export interface NumberRule {
  /** Whether the number is allowed (a range, a whole number). */
  ok: (n: number) => boolean;
  /** What an allowed value is, after "must be": "a whole number ≥ 1". */
  rule: string;
  /** A value that works, for the fix: "20". */
  example?: string;
}

/** A seed: 32 bits, as train's seed field (a larger one would silently repeat a smaller one's numbers). */
export const SEED_RULE: NumberRule = { ok: (n) => Number.isInteger(n) && n >= 0 && n <= MAX_SEED, rule: `a whole number from 0 to ${MAX_SEED.toLocaleString('en-US')}`, example: '0' };

/** A whole number at least `min`. */
export const wholeAtLeast = (min: number, example?: string): NumberRule => ({ ok: (n) => Number.isInteger(n) && n >= min, rule: `a whole number ≥ ${min}`, example });

/**
 * The number `value` spells for --`flag`; a UserError naming the flag and the value when it is not plain decimal, not
 * finite (1e999), or breaks `rule`.
 */
export function numberFlag(flag: string, value: string, rule?: NumberRule): number {
  const n = DECIMAL.test(value) ? Number(value) : NaN;
  if (Number.isFinite(n) && (!rule || rule.ok(n))) return n;
  const fix = !DECIMAL.test(value) ? notDecimalFix(flag, value, rule) : rule?.example !== undefined ? `pass e.g. --${flag} ${rule.example}` : undefined;
  throw new UserError(`--${flag} must be ${rule?.rule ?? 'a number'}, got "${value}"`, fix ? { fix } : {});
}

/** numberFlag for a flag that may be absent: `fallback` then. */
export function optionalNumberFlag(flag: string, value: string | undefined, fallback: number, rule?: NumberRule): number {
  return value === undefined ? fallback : numberFlag(flag, value, rule);
}

/** For a value that is not plain decimal: what it would be written as, when it is a number in another spelling. */
function notDecimalFix(flag: string, value: string, rule: NumberRule | undefined): string {
  const meant = value.trim() === '' ? NaN : Number(value.trim().replace(/_/g, ''));
  const example = Number.isFinite(meant) ? String(meant) : rule?.example;
  return `write it in plain decimal digits${example !== undefined ? `, e.g. --${flag} ${example}` : ''} (no 0x/0b/0o prefix, "_", "+" or spaces)`;
}
