// One set of dtype names for every command's dtype flag (train --save-dtype, merge --dtype): the long spellings
// (float32, float16, bfloat16, as in config.json's torch_dtype) and the short ones (f32, f16, bf16; fp32, fp16) name
// the same dtypes, so a name that works for one command works for all.
import { UserError } from '../util/errors';

export type FloatDtype = 'float32' | 'float16' | 'bfloat16';

const NAMES: Record<string, FloatDtype> = {
  float32: 'float32', f32: 'float32', fp32: 'float32',
  float16: 'float16', f16: 'float16', fp16: 'float16',
  bfloat16: 'bfloat16', bf16: 'bfloat16',
};

/** What the help texts say the flag accepts. */
export const DTYPE_NAMES_HELP = 'float32 (f32), float16 (f16) or bfloat16 (bf16)';

/** The dtype a flag's value names; a UserError naming the flag otherwise. */
export function parseDtypeFlag(flag: string, value: string): FloatDtype {
  const dtype = NAMES[value.toLowerCase()];
  if (!dtype) throw new UserError(`--${flag} must be ${DTYPE_NAMES_HELP}, got "${value}"`, { fix: `pass --${flag} bfloat16, for example` });
  return dtype;
}
