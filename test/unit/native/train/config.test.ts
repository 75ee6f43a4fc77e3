import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertValidRunConfig, resolveRunConfig } from '../../../../native/train/config';

test('defaults resolve to a valid config', () => {
  const { config, problems } = resolveRunConfig({ model: '/m', data: '/d.jsonl', out: '/o' });
  assert.deepEqual(problems, []);
  assert.equal(config.r, 8);
  assert.equal(config.lora_alpha, 16);
  assert.deepEqual(config.target_modules, ['q_proj', 'v_proj']);
});

test('every problem is reported at once, with its field', () => {
  const { problems } = resolveRunConfig({ model: '', data: '/d.jsonl', out: '/o', r: 0, lora_dropout: 1, device: 'gpu' as never, target_modules: [] });
  assert.deepEqual(problems.map((p) => p.field).sort(), ['device', 'lora_dropout', 'model', 'r', 'target_modules']);
});

test('file checks name the missing file and the fix', () => {
  const { problems } = resolveRunConfig({ model: '/m', data: '/d.jsonl', out: '/o' }, { exists: (p) => p === '/m' });
  assert.match(problems.find((p) => p.field === 'model')!.message, /no config\.json/);
  assert.match(problems.find((p) => p.field === 'data')!.message, /file not found: \/d\.jsonl/);
  const folder = resolveRunConfig({ model: '/m', data: '/data', out: '/o' }, { exists: (p, kind) => p === '/m' || (p === '/data' && kind === 'dir') });
  assert.match(folder.problems.find((p) => p.field === 'data')!.message, /\/data is a folder, not a file — choose the \.jsonl file in it/);
});

test('a dataset path that is there but not a file (a pipe, a device, a broken or looping link) is named as such, not "not found"', () => {
  const { problems } = resolveRunConfig({ model: '/m', data: '/dev/fd/63', out: '/o' }, { exists: (p, kind) => p === '/m' || (p === '/dev/fd/63' && kind === 'any') });
  assert.deepEqual(problems.filter((p) => p.field === 'data').map((p) => p.message), ['/dev/fd/63 is not a regular file (a pipe, a device, or a link that leads nowhere or in a loop) — save the data as a .jsonl file and pass that']);
});

test('lora_alpha is bounded as adapters are when read: positive and at most 1e6 (1e308 overflowed the float32 scale)', () => {
  for (const lora_alpha of [1e308, 1e7, 0, -2]) {
    const { problems } = resolveRunConfig({ model: '/m', data: '/d', out: '/o', lora_alpha });
    assert.match(problems.find((p) => p.field === 'lora_alpha')?.message ?? '', /positive number up to 1,000,000/, String(lora_alpha));
  }
  assert.deepEqual(resolveRunConfig({ model: '/m', data: '/d', out: '/o', lora_alpha: 1e6 }).problems, []);
});

test('weight decay that would zero or flip the weights each step (lr × wd ≥ 1, LoRA+ ratio included) is refused; 0.01–1 pass', () => {
  const problemsOf = (over: object) => resolveRunConfig({ model: '/m', data: '/d.jsonl', out: '/o', ...over }).problems.filter((p) => p.field === 'weight_decay');
  assert.match(problemsOf({ weight_decay: 1e6 })[0].message, /learning_rate × weight_decay is 300, so each step would multiply the weights by 1 − that/);
  assert.match(problemsOf({ weight_decay: 100, learning_rate: 1e-3, loraplus_lr_ratio: 16 })[0].message, /learning_rate × loraplus_lr_ratio × weight_decay is 1\.6/);
  for (const weight_decay of [0, 0.01, 0.1, 1]) assert.deepEqual(problemsOf({ weight_decay }), [], String(weight_decay));
  assert.deepEqual(problemsOf({ weight_decay: 100, learning_rate: 1e-3 }), [], 'lr × wd = 0.1: strong, but it neither zeroes nor flips');
});

test('assertValidRunConfig throws one UserError listing all problems', () => {
  const { config } = resolveRunConfig({ model: '/m', data: '/d', out: '/o', learning_rate: -1, micro_batch_size: 0 });
  assert.throws(() => assertValidRunConfig(config), /invalid training options \(2\):[\s\S]*learning_rate[\s\S]*micro_batch_size/);
});

test('quantization: none or nf4; nf4 needs gradient checkpointing; it is part of the resume fingerprint', async () => {
  const { fingerprintMismatches, fingerprintOf } = await import('../../../../native/train/checkpoint');
  assert.deepEqual(resolveRunConfig({ model: '/m', data: '/d', out: '/o', quantization: 'nf4' }).problems, []);
  const bad = resolveRunConfig({ model: '/m', data: '/d', out: '/o', quantization: 'int8' as never }).problems;
  assert.match(bad.find((p) => p.field === 'quantization')!.message, /none or nf4/);
  const off = resolveRunConfig({ model: '/m', data: '/d', out: '/o', quantization: 'nf4', gradient_checkpointing: false }).problems;
  assert.match(off.find((p) => p.field === 'quantization')!.message, /gradient_checkpointing on/);
  const { config } = resolveRunConfig({ model: '/m', data: '/d', out: '/o' });
  // A checkpoint saved before the option existed (no key) resumes a plain run, not a QLoRA one.
  assert.deepEqual(fingerprintMismatches(fingerprintOf(config), config), []);
  assert.deepEqual(fingerprintMismatches(fingerprintOf(config), { ...config, quantization: 'nf4' }), ['quantization']);
});
