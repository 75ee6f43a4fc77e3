// The cluster exports write LoRA trainings (native/export/cluster/mapping.ts): a prompt or prefix tuning or LISA run is
// refused for every trainer, naming the method, instead of being exported as a LoRA run of the same r.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../../../../native/protocol';
import { buildClusterExport, CLUSTER_TRAINERS } from '../../../../../native/export/cluster/bundle';
import { UserError } from '../../../../../native/util/errors';

test('a prompt-tuning or prefix-tuning run is refused by every cluster export, with the field and the fix', () => {
  for (const method of ['prompt-tuning', 'prefix-tuning'] as const) {
    const config: RunConfig = { ...DEFAULT_RUN_OPTIONS, model: '/m', data: '/d.jsonl', out: '/o', method, num_virtual_tokens: 8 };
    for (const trainer of CLUSTER_TRAINERS) {
      assert.throws(
        () => buildClusterExport({ trainer, parallelism: 'ddp', config, model: { name: 'm', isPath: true, hasChatTemplate: false }, train: [{ format: 'alpaca', instruction: 'a', output: 'b' }], eval: [], source: 's' }),
        (e: unknown) => e instanceof UserError && e.message.includes(`a ${method} run cannot be exported`) && /PromptTuningConfig/.test(e.fix ?? ''),
        `${method} on ${trainer}`,
      );
    }
  }
});

test('a LISA run is refused by every cluster export (it trains whole layers, not LoRA), pointing to LMFlow', () => {
  const config: RunConfig = { ...DEFAULT_RUN_OPTIONS, model: '/m', data: '/d.jsonl', out: '/o', method: 'lisa', lisa_layers: 2, lisa_period: 20 };
  for (const trainer of CLUSTER_TRAINERS) {
    assert.throws(
      () => buildClusterExport({ trainer, parallelism: 'ddp', config, model: { name: 'm', isPath: true, hasChatTemplate: false }, train: [{ format: 'alpaca', instruction: 'a', output: 'b' }], eval: [], source: 's' }),
      (e: unknown) => e instanceof UserError && e.message.includes('a lisa run cannot be exported') && /LMFlow/.test(e.fix ?? ''),
      trainer,
    );
  }
});
