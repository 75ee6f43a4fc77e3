// Tests of extension/panels/devices.ts: nvidia-smi output parsing and the fallback to the CPU alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listDevices, parseGpus, NVIDIA_SMI_ARGS } from '../../../../extension/panels/devices';

test('parses GPUs with free and total memory in bytes', () => {
  const gpus = parseGpus('0, NVIDIA H100 80GB HBM3, 81559, 80100\n1, Tesla T4, 15360, 100\n\n');
  assert.deepEqual(gpus[0], { id: 'cuda:0', label: 'NVIDIA H100 80GB HBM3 (cuda:0)', totalBytes: 81559 * 2 ** 20, freeBytes: 80100 * 2 ** 20 });
  assert.equal(gpus[1].id, 'cuda:1');
  assert.equal(gpus.length, 2);
});

test('a name with a comma and junk lines', () => {
  const gpus = parseGpus('No devices were found\n0, Weird, Name, 1000, 500\n');
  assert.equal(gpus.length, 1);
  assert.equal(gpus[0].label, 'Weird, Name (cuda:0)');
  assert.equal(gpus[0].freeBytes, 500 * 2 ** 20);
});

test('listDevices: GPUs then the CPU; only the CPU when nvidia-smi fails', async () => {
  let asked: string[] = [];
  const withGpu = await listDevices(async (file, args) => {
    asked = [file, ...args];
    return '0, A100, 40000, 39000\n';
  });
  assert.deepEqual(asked, ['nvidia-smi', ...NVIDIA_SMI_ARGS]);
  assert.deepEqual(withGpu.map((d) => d.id), ['cuda:0', 'cpu']);
  assert.ok((withGpu[1].freeBytes ?? 0) > 0);
  const none = await listDevices(() => Promise.reject(new Error('ENOENT')));
  assert.deepEqual(none.map((d) => d.id), ['cpu']);
});
