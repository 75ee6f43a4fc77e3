// Tests native/cli/dtype-flag.ts: one set of dtype names for train --save-dtype and merge --dtype.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDtypeFlag } from '../../../../native/cli/dtype-flag';
import { runConfigFromFlags } from '../../../../native/cli/train-options';
import { mergeCommand } from '../../../../native/cli/merge';

test('long and short dtype names are the same dtypes; anything else names the flag', () => {
  for (const [names, dtype] of [[['float32', 'f32', 'fp32', 'FP32'], 'float32'], [['float16', 'f16', 'fp16'], 'float16'], [['bfloat16', 'bf16', 'BF16'], 'bfloat16']] as const) {
    for (const name of names) assert.equal(parseDtypeFlag('dtype', name), dtype);
  }
  assert.throws(() => parseDtypeFlag('save-dtype', 'int8'), /--save-dtype must be float32 \(f32\), float16 \(f16\) or bfloat16 \(bf16\), got "int8"/);
});

test('train --save-dtype takes the short names merge takes, and merge --dtype the long ones train takes', async () => {
  const base = { model: '/m', data: '/d.jsonl', out: '/o' };
  assert.equal(runConfigFromFlags({ ...base, saveDtype: 'bf16' } as never).save_dtype, 'bfloat16');
  assert.equal(runConfigFromFlags({ ...base, saveDtype: 'float16' } as never).save_dtype, 'float16');
  // merge checks its --dtype before it reads anything: a bad name fails as a usage error, a good one gets as far as the model.
  await assert.rejects(mergeCommand({ model: '/no/model', adapter: '/no/adapter', out: '/tmp/never', dtype: 'int8' }), /--dtype must be/);
  await assert.rejects(mergeCommand({ model: '/no/model', adapter: '/no/adapter', out: '/tmp/never', dtype: 'bfloat16' }), /model folder not found/);
});
