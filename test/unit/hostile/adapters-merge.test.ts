// Hostile and clumsy adapters through `merge` (and `generate`, which loads them the same way): adapter_config.json
// without lora_alpha (PEFT's default applies), r = 0, alpha 1e308, NaN tensors, tensors that do not match the config
// or the model, an adapter of another architecture, a missing or non-JSON file, and --out pointing at the model or
// the adapter itself. A bad adapter is refused before anything is written; nothing the user had is changed; a merged
// model never holds a NaN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../fixtures/tiny-model/index';
import { assertUnchanged, cli, expectOutcome, hostileFixture, snapshot, trainedRun } from './hostile-cli';

const fx = hostileFixture('merge');
const adapter = trainedRun(fx);

/** A copy of the trained adapter's PEFT files (no checkpoints), changed by `edit(dir)`. */
function adapterCopy(name: string, edit: (dir: string) => void = () => {}): string {
  const dir = fx.path(name);
  mkdirSync(dir);
  for (const file of ['adapter_config.json', 'adapter_model.safetensors']) cpSync(join(adapter, file), join(dir, file));
  edit(dir);
  return dir;
}
const merge = (model: string, adapterDir: string, out: string, ...flags: string[]) => cli(['merge', '--model', model, '--adapter', adapterDir, '--out', out, ...flags]);

/** Every float32 of every tensor in a folder's safetensors files (the tiny models are float32). */
function floats(dir: string): Float32Array[] {
  return readdirSync(dir).filter((f) => f.endsWith('.safetensors')).map((f) => {
    const bytes = readFileSync(join(dir, f));
    const start = 8 + Number(bytes.readBigUInt64LE(0));
    const data = bytes.subarray(start);
    return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  });
}

/** A bad adapter: refused with exit 1 and `patterns`; no --out folder appears and the inputs are unchanged. */
function refusedMerge(adapterDir: string, ...patterns: RegExp[]) {
  const before = snapshot(fx.model, adapterDir);
  const out = fx.path('merged');
  expectOutcome(merge(fx.model, adapterDir, out), 1, ...patterns);
  assert.ok(!existsSync(out), 'nothing written');
  assertUnchanged(before, fx.model, adapterDir);
}

test('adapter_config.json without lora_alpha merges with PEFT\'s default (8), every weight finite (exit 0)', () => {
  const noAlpha = adapterCopy('no-alpha', (d) => fx.editJson(join(d, 'adapter_config.json'), (c) => delete c.lora_alpha));
  const out = fx.path('merged');
  expectOutcome(merge(fx.model, noAlpha, out), 0, /merged model written to/);
  for (const values of floats(out)) assert.ok(values.every(Number.isFinite), 'no NaN or Infinity in the merged weights');
});

test('r = 0, alpha 1e308, alpha NaN-as-string and a NaN in a tensor are refused before anything is written', () => {
  refusedMerge(adapterCopy('r0', (d) => fx.editJson(join(d, 'adapter_config.json'), (c) => (c.r = 0))), /adapter_config\.json/, /\br\b/);
  refusedMerge(adapterCopy('alpha', (d) => fx.editJson(join(d, 'adapter_config.json'), (c) => (c.lora_alpha = 1e308))), /adapter_config\.json: lora_alpha/);
  refusedMerge(adapterCopy('alpha-str', (d) => fx.editJson(join(d, 'adapter_config.json'), (c) => (c.lora_alpha = 'NaN'))), /lora_alpha/);
  refusedMerge(adapterCopy('nan', (d) => {
    const file = join(d, 'adapter_model.safetensors');
    const bytes = readFileSync(file);
    bytes.writeFloatLE(Number.NaN, 8 + Number(bytes.readBigUInt64LE(0)) + 4);
    writeFileSync(file, bytes);
  }), /adapter_model\.safetensors/, /(NaN|finite)/);
});

test('an adapter whose config says r = 4 over rank-8 tensors, or targets a module the model lacks, is refused', () => {
  refusedMerge(adapterCopy('rank', (d) => fx.editJson(join(d, 'adapter_config.json'), (c) => (c.r = 4))), /(shape|rank|\br\b)/);
  refusedMerge(adapterCopy('module', (d) => fx.editJson(join(d, 'adapter_config.json'), (c) => (c.target_modules = ['c_attn']))), /adapter_config\.json: target_modules: \["c_attn"\] does not select model\.layers\.0\.self_attn\.[qv]_proj/);
});

test('an adapter of another architecture (Qwen2 onto a Mistral) is refused in merge and generate, naming a tensor', () => {
  const mistral = makeTinyModel(join(fx.root, 'mistral'), { ...TINY_PRESETS.MistralForCausalLM, dtype: 'float32', seed: 5 }).dir;
  const before = snapshot(mistral, adapter);
  expectOutcome(merge(mistral, adapter, fx.path('merged')), 1, /v_proj/, /shape|\[/);
  expectOutcome(cli(['generate', '--model', mistral, '--adapter', adapter, '--prompt', 'Hello', '--max-new-tokens', '2']), 1, /v_proj/);
  assertUnchanged(before, mistral, adapter);
});

test('a missing adapter_model.safetensors, a non-JSON adapter_config.json and an empty folder are named', () => {
  refusedMerge(adapterCopy('no-weights', (d) => rmSync(join(d, 'adapter_model.safetensors'))), /adapter_model\.safetensors/);
  refusedMerge(adapterCopy('bad-json', (d) => writeFileSync(join(d, 'adapter_config.json'), '{"r": 8,')), /adapter_config\.json/, /JSON/);
  refusedMerge(adapterCopy('empty', (d) => rmSync(join(d, 'adapter_config.json'))), /adapter_config\.json/);
});

test('--out equal to the model folder, to the adapter folder, or an existing non-empty folder is refused; all intact', () => {
  const before = snapshot(fx.model, adapter);
  expectOutcome(merge(fx.model, adapter, fx.model), 1, /the output folder .*model is not empty — choose a new or empty folder/);
  expectOutcome(merge(fx.model, adapter, adapter), 1, /the output folder .*trained is not empty — choose a new or empty folder/);
  const full = fx.path('full');
  mkdirSync(full);
  writeFileSync(join(full, 'notes.txt'), 'mine');
  expectOutcome(merge(fx.model, adapter, full), 1, /full-\d+/);
  assert.equal(readFileSync(join(full, 'notes.txt'), 'utf8'), 'mine');
  assertUnchanged(before, fx.model, adapter);
});

test('a model folder with a subfolder (Llama 3\'s original/) merges; the subfolder is not copied (exit 0)', () => {
  const withOriginal = fx.copyModel('with-original', (d) => {
    mkdirSync(join(d, 'original'));
    writeFileSync(join(d, 'original', 'consolidated.00.pth'), 'not ours');
  });
  const out = fx.path('merged');
  expectOutcome(merge(withOriginal, adapter, out), 0, /merged model written to/);
  assert.ok(!existsSync(join(out, 'original')));
  assert.ok(existsSync(join(out, 'config.json')) && existsSync(join(out, 'tokenizer.json')));
});

test('--dtype int4 is refused naming the choices', () => {
  expectOutcome(merge(fx.model, adapter, fx.path('merged'), '--dtype', 'int4'), 1, /--dtype must be float32 \(f32\), float16 \(f16\) or bfloat16 \(bf16\), got "int4"/);
});
