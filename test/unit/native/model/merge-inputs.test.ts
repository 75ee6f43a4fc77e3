// Merge under clumsy or hostile inputs: a model folder with a subfolder, a config with a stale `dtype` key, an
// adapter without lora_alpha (PEFT's default), with a NaN tensor or an absurd alpha, and a cancel mid-merge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { mergeAdapter } from '../../../../native/model/merge';
import { writePeftAdapter } from '../../../../native/model/peft-io';
import { resolveTargets } from '../../../../native/model/lora';
import { loadModelFolder } from '../../../../native/model/model-folder';

const root = mkdtempSync(join(tmpdir(), 'merge-inputs-'));
const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.LlamaForCausalLM, dtype: 'float32', seed: 5 }).dir;

function adapter(name: string, edit: (config: Record<string, unknown>) => void = () => {}, poison = false): string {
  const dir = join(root, name);
  const resolved = resolveTargets(loadModelFolder(model).config, ['q_proj']);
  const weights = new Map(resolved.map((t) => [t.baseName, { A: new Float32Array(4 * t.in).fill(0.01), B: new Float32Array(t.out * 4).fill(poison ? NaN : 0.01) }]));
  writePeftAdapter(dir, { config: { r: 4, lora_alpha: 8, lora_dropout: 0, use_rslora: false }, baseModel: model, targets: resolved, weights, dtype: 'float32' });
  const configPath = join(dir, 'adapter_config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  edit(config);
  writeFileSync(configPath, JSON.stringify(config));
  return dir;
}

test('a model folder with a subfolder (Llama 3\'s original/) merges; the subfolder is not copied; --dtype updates both dtype keys', async () => {
  mkdirSync(join(model, 'original'));
  writeFileSync(join(model, 'original', 'consolidated.00.pth'), 'meta weights');
  const config = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8'));
  writeFileSync(join(model, 'config.json'), JSON.stringify({ ...config, dtype: 'float32' }));
  const out = join(root, 'merged-sub');
  await mergeAdapter({ modelDir: model, adapterDir: adapter('plain'), outDir: out, dtype: 'bf16' });
  assert.equal(existsSync(join(out, 'original')), false);
  const merged = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual([merged.torch_dtype, merged.dtype], ['bfloat16', 'bfloat16']);
});

test('adapter numbers: absent lora_alpha is PEFT\'s default 8; NaN tensors, r = 0 and alpha 1e308 are refused before anything is written', async () => {
  const out = join(root, 'merged-default-alpha');
  await mergeAdapter({ modelDir: model, adapterDir: adapter('no-alpha', (c) => delete c.lora_alpha), outDir: out });
  assert.ok(existsSync(join(out, 'model.safetensors')));
  const cases: [string, string, RegExp][] = [
    ['nan', adapter('nan', () => {}, true), /lora_B holds NaN at element 0 .*use an earlier checkpoint/],
    ['r0', adapter('r0', (c) => (c.r = 0)), /r must be a whole number ≥ 1, got 0/],
    ['huge', adapter('huge', (c) => (c.lora_alpha = 1e308)), /lora_alpha must be a finite number, got 1e\+308/],
  ];
  for (const [name, dir, message] of cases) {
    const target = join(root, `merged-${name}`);
    await assert.rejects(mergeAdapter({ modelDir: model, adapterDir: dir, outDir: target }), message);
    assert.equal(existsSync(target), false, `${name}: nothing written`);
  }
});

test('SIGINT stops a merge promptly and leaves no output and no staging folder', async () => {
  const big = makeTinyModel(join(root, 'big'), { ...TINY_PRESETS.LlamaForCausalLM, layers: 24, dtype: 'float32', seed: 6 }).dir;
  const dir = join(root, 'for-big');
  const resolved = resolveTargets(loadModelFolder(big).config, 'all-linear');
  writePeftAdapter(dir, { config: { r: 4, lora_alpha: 8, lora_dropout: 0, use_rslora: false }, baseModel: big, targets: resolved,
    weights: new Map(resolved.map((t) => [t.baseName, { A: new Float32Array(4 * t.in).fill(0.01), B: new Float32Array(t.out * 4).fill(0.01) }])), dtype: 'float32' });
  const out = join(root, 'merged-cancelled');
  const child = spawn(process.execPath, ['dist/cli.js', 'merge', '--model', big, '--adapter', dir, '--out', out, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve) => child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes('"type":"progress"')) resolve();
  }));
  const signalled = Date.now();
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 1, stderr);
  assert.match(stdout, /"type":"error","message":"merge cancelled/);
  assert.ok(Date.now() - signalled < 10_000, `stopped after ${Date.now() - signalled} ms`);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(root).filter((name) => name.includes('merging')), []);
});
