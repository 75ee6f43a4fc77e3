// Sessions (native/engine/session.ts): the options every graph runs with, and the CUDA audit before a CUDA session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSession, sessionOptions } from '../../../../native/engine/session';

test('session options: no memory pattern (its planned block dwarfs a training step\'s live tensors), no prepacking, external data folder, provider by device', () => {
  const cpu = sessionOptions({ externalDataDir: '/models/m' });
  assert.equal(cpu.enableMemPattern, false);
  assert.deepEqual(cpu.extra, { session: { disable_prepacking: '1', model_external_initializers_file_folder_path: '/models/m' } });
  assert.deepEqual(cpu.executionProviders, ['cpu']);
  assert.equal(cpu.graphOptimizationLevel, 'all');
  assert.equal(sessionOptions({ dtype: 'float64' }).graphOptimizationLevel, 'basic');
  assert.deepEqual(sessionOptions({ device: { provider: 'cuda', deviceId: 1 } }).executionProviders, [{ name: 'cuda', deviceId: 1 }]);
});

test('a CUDA session is refused before it is made when a node has no CUDA kernel, naming op, type and node', async () => {
  const nodes = [{ op: 'Gemm', type: 'float' as const, name: 'ok' }, { op: 'LogSoftmax', type: 'bfloat16' as const, name: 'loss/logsoftmax' }];
  await assert.rejects(
    createSession({ bytes: new Uint8Array(0), nodes }, { device: { provider: 'cuda', deviceId: 0 } }),
    /1 node\(s\) of this graph have no CUDA kernel.*LogSoftmax \(bfloat16\) at loss\/logsoftmax/,
  );
});
