import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discoverCuda, parseNvidiaSmi, resolveDevice, type DiscoveryIo } from '../../../../native/engine/cuda-discovery';
import { readElfDynamicInfo } from '../../../../native/engine/elf-needed';
import { onnxruntimeBindingDir } from '../../../../native/engine/cuda-io';
import { UserError } from '../../../../native/util/errors';

const BINDING = '/ext/node_modules/onnxruntime-node/bin/napi-v6/linux/x64';
const SMI = '0, NVIDIA H100 80GB HBM3, 81559, 80000\n1, NVIDIA H100 80GB HBM3, 81559, 1200\n';

function fakeIo(files: string[], overrides: Partial<DiscoveryIo> = {}): DiscoveryIo {
  const set = new Set(files);
  return {
    platform: 'linux',
    bindingDir: BINDING,
    ldLibraryPath: [],
    exists: (p) => set.has(p),
    needed: () => ['libcublasLt.so.12', 'libcublas.so.12', 'libcudnn.so.9', 'libcudart.so.12', 'libstdc++.so.6', 'libonnxruntime_providers_shared.so'],
    loaderCache: () => [],
    nvidiaSmi: () => SMI,
    ...overrides,
  };
}

const provider = [`${BINDING}/libonnxruntime_providers_cuda.so`, `${BINDING}/libonnxruntime_providers_shared.so`];
const cudaLibs = (dir: string) => ['libcublasLt.so.12', 'libcublas.so.12', 'libcudnn.so.9', 'libcudart.so.12'].map((l) => `${dir}/${l}`);

test('parseNvidiaSmi reads index, name and memory', () => {
  assert.deepEqual(parseNvidiaSmi(SMI)[1], { index: 1, name: 'NVIDIA H100 80GB HBM3', memoryTotalMb: 81559, memoryFreeMb: 1200 });
  assert.deepEqual(parseNvidiaSmi('NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.'), []);
});

test('no provider: names both files, where it looked and how to install', () => {
  const found = discoverCuda(fakeIo([]));
  assert.equal(found.usable, false);
  assert.match(found.explanation, /libonnxruntime_providers_cuda\.so and libonnxruntime_providers_shared\.so/);
  assert.match(found.explanation, /ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
  assert.ok(found.explanation.includes(BINDING));
});

test('provider outside the binding folder: says to copy it next to libonnxruntime', () => {
  const found = discoverCuda(fakeIo(['/opt/ort/libonnxruntime_providers_cuda.so'], { libraryPath: '/opt/ort' }));
  assert.equal(found.usable, false);
  assert.match(found.explanation, /loads providers only from the folder of its own library/);
});

test('missing CUDA libraries are named with their CUDA version and install hint', () => {
  const found = discoverCuda(fakeIo([...provider, `${BINDING}/libcudart.so.12`]));
  assert.equal(found.usable, false);
  assert.deepEqual(found.missing.map((m) => m.library), ['libcublasLt.so.12', 'libcublas.so.12', 'libcudnn.so.9']);
  assert.match(found.explanation, /cuBLAS from CUDA 12/);
  assert.match(found.explanation, /cuDNN 9/);
  assert.match(found.explanation, /loraStudio\.cuda\.libraryPath/);
});

test('CUDA libraries found through the setting, LD_LIBRARY_PATH or the loader cache', () => {
  assert.equal(discoverCuda(fakeIo([...provider, ...cudaLibs('/cuda')], { libraryPath: '/cuda' })).usable, true);
  assert.equal(discoverCuda(fakeIo([...provider, ...cudaLibs('/usr/local/cuda/lib64')], { ldLibraryPath: ['/usr/local/cuda/lib64'] })).usable, true);
  assert.equal(discoverCuda(fakeIo(provider, { loaderCache: () => ['libcublasLt.so.12', 'libcublas.so.12', 'libcudnn.so.9', 'libcudart.so.12'] })).usable, true);
});

test('no driver: says so', () => {
  const found = discoverCuda(fakeIo([...provider, ...cudaLibs(BINDING)], { nvidiaSmi: () => undefined }));
  assert.equal(found.usable, false);
  assert.match(found.explanation, /NVIDIA driver/);
});

test('resolveDevice: auto falls back with a notice, explicit cuda fails with the explanation', () => {
  const missing = discoverCuda(fakeIo([]));
  const auto = resolveDevice('auto', missing);
  assert.equal(auto.provider, 'cpu');
  // One short line that points to doctor; the explanation stays with doctor and the explicit-cuda error.
  assert.equal(auto.notice, 'Training on the CPU: the CUDA execution provider is not installed (`lora-studio doctor` says how to enable CUDA).');
  assert.ok(!auto.notice.includes('\n') && auto.notice.length < 120);
  assert.throws(() => resolveDevice('cuda', missing), (e: unknown) => e instanceof UserError && /CUDA was requested/.test(e.message) && /ONNXRUNTIME_NODE_INSTALL=cuda12/.test(e.message));
  assert.deepEqual(resolveDevice('cpu', missing), { provider: 'cpu', deviceId: 0 });
});

test('resolveDevice: picks the GPU asked for, rejects one that does not exist', () => {
  const ok = discoverCuda(fakeIo([...provider, ...cudaLibs(BINDING)]));
  assert.deepEqual(resolveDevice('auto', ok), { provider: 'cuda', deviceId: 0 });
  assert.deepEqual(resolveDevice('cuda:1', ok), { provider: 'cuda', deviceId: 1 });
  assert.throws(() => resolveDevice('cuda:2', ok), /GPU 2 does not exist[\s\S]*cuda:0 \(NVIDIA H100/);
});

test('readElfDynamicInfo reads DT_NEEDED of the real onnxruntime binding', () => {
  const info = readElfDynamicInfo(`${onnxruntimeBindingDir()}/onnxruntime_binding.node`);
  assert.ok(info.needed.includes('libonnxruntime.so.1'), `needed: ${info.needed.join(', ')}`);
  assert.throws(() => readElfDynamicInfo(__filename), /not an ELF file/);
});
