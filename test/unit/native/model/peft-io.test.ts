// Tests native/model/peft-io.ts: adapter_config.json keys as PEFT writes them, tensor names/shapes/dtypes, read-back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initLora, resolveTargets } from '../../../../native/model/lora';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, peftTensorName, readPeftAdapter, writePeftAdapter } from '../../../../native/model/peft-io';
import { openSafetensors, writeSafetensors } from '../../../../native/model/safetensors';
import { UserError } from '../../../../native/util/errors';
import { TINY_CONFIGS } from './tiny-configs';

const targets = resolveTargets(TINY_CONFIGS.llama, ['q_proj', 'v_proj']);
const cfg = { r: 4, lora_alpha: 8, lora_dropout: 0.05, use_rslora: false };

function weights() {
  const w = initLora(targets, 4, 1);
  for (const v of w.values()) v.B.forEach((_, i) => (v.B[i] = (i % 5) * 0.125 - 0.25));
  return w;
}

test('writes PEFT names, shapes and config keys; reads back the same weights', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peft-'));
  try {
    const w = weights();
    writePeftAdapter(dir, { config: cfg, baseModel: 'org/tiny-llama', targets, weights: w, dtype: 'float32' });
    const json = JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG), 'utf8'));
    assert.equal(json.peft_type, 'LORA');
    assert.equal(json.task_type, 'CAUSAL_LM');
    assert.equal(json.base_model_name_or_path, 'org/tiny-llama');
    assert.deepEqual([json.r, json.lora_alpha, json.lora_dropout, json.bias, json.fan_in_fan_out], [4, 8, 0.05, 'none', false]);
    assert.deepEqual(json.target_modules, ['q_proj', 'v_proj']);
    assert.deepEqual([json.rank_pattern, json.alpha_pattern, json.inference_mode, json.modules_to_save], [{}, {}, true, null]);
    // Keys newer than PEFT 0.6 at their default are left out, so older PEFT (which refused unknown keys) loads it.
    for (const key of ['use_rslora', 'use_dora', 'layer_replication', 'loftq_config', 'megatron_config', 'megatron_core']) assert.equal(key in json, false, key);
    const st = openSafetensors(join(dir, ADAPTER_WEIGHTS));
    assert.equal(st.entries.size, 2 * targets.length);
    const q = 'model.layers.0.self_attn.q_proj';
    assert.equal(peftTensorName(q, 'A'), `base_model.model.${q}.lora_A.weight`);
    assert.deepEqual(st.entries.get(peftTensorName(q, 'A'))!.shape, [4, 16]);
    assert.deepEqual(st.entries.get(peftTensorName('model.layers.1.self_attn.v_proj', 'B'))!.shape, [8, 4]);
    const back = readPeftAdapter(dir);
    assert.equal(back.scaling, 2);
    for (const t of targets) {
      assert.deepEqual(back.weights.get(t.baseName)!.A, w.get(t.baseName)!.A);
      assert.deepEqual(back.weights.get(t.baseName)!.B, w.get(t.baseName)!.B);
      assert.deepEqual([back.weights.get(t.baseName)!.in, back.weights.get(t.baseName)!.out], [t.in, t.out]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bf16 save dtype stores BF16 tensors that read back within bf16 precision', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peft-'));
  try {
    const w = weights();
    writePeftAdapter(dir, { config: cfg, baseModel: 'x', targets, weights: w, dtype: 'bfloat16' });
    const st = openSafetensors(join(dir, ADAPTER_WEIGHTS));
    assert.ok([...st.entries.values()].every((e) => e.dtype === 'BF16'));
    const back = readPeftAdapter(dir);
    const a = w.get(targets[0].baseName)!.A;
    const b = back.weights.get(targets[0].baseName)!.A;
    for (let i = 0; i < a.length; i += 1) assert.ok(Math.abs(a[i] - b[i]) <= Math.abs(a[i]) / 128);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reads .default. names; refuses use_dora without magnitudes, rank_pattern and unexpected tensors with UserErrors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peft-'));
  try {
    const base = { peft_type: 'LORA', r: 2, lora_alpha: 4, use_rslora: true, bias: 'none', target_modules: ['q_proj'], rank_pattern: {}, alpha_pattern: {} };
    const A = new Float32Array([1, 2, 3, 4]);
    const B = new Float32Array([5, 6, 7, 8, 9, 10]);
    writeSafetensors(join(dir, ADAPTER_WEIGHTS), [
      { name: 'base_model.model.m.q_proj.lora_A.default.weight', dtype: 'F32', shape: [2, 2], data: A },
      { name: 'base_model.model.m.q_proj.lora_B.default.weight', dtype: 'F32', shape: [3, 2], data: B },
    ]);
    writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify(base));
    const back = readPeftAdapter(dir);
    assert.equal(back.scaling, 4 / Math.sqrt(2));
    assert.deepEqual(back.weights.get('m.q_proj'), { A, B, r: 2, in: 2, out: 3 });
    for (const bad of [{ use_dora: true }, { rank_pattern: { q_proj: 8 } }, { peft_type: 'IA3' }, { target_modules: ['c_attn'] }]) {
      writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify({ ...base, ...bad }));
      assert.throws(() => readPeftAdapter(dir), (e: unknown) => e instanceof UserError && e.message.includes(ADAPTER_CONFIG));
    }
    // A config that does not name the adapted module (PEFT would not load it) names the module; a regex string or
    // all-linear is not checked here.
    writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify({ ...base, target_modules: ['k_proj'] }));
    assert.throws(() => readPeftAdapter(dir), /target_modules: \["k_proj"\] does not select m\.q_proj/);
    for (const target_modules of ['all-linear', '.*q_proj', ['m.q_proj']]) {
      writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify({ ...base, target_modules }));
      assert.doesNotThrow(() => readPeftAdapter(dir), JSON.stringify(target_modules));
    }
    writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify(base));
    writeSafetensors(join(dir, ADAPTER_WEIGHTS), [{ name: 'base_model.model.lm_head.weight', dtype: 'F32', shape: [2], data: new Float32Array(2) }]);
    assert.throws(() => readPeftAdapter(dir), (e: unknown) => e instanceof UserError && /unexpected tensor/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('adapter_config.json: the keys of PEFT 0.6 always, rsLoRA and DoRA only when on; read back, absent booleans are false', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peft-'));
  try {
    // PEFT 0.6.0's LoraConfig and PeftConfig fields (huggingface/peft v0.6.0, src/peft/tuners/lora/config.py, src/peft/config.py).
    const peft06 = new Set(['r', 'target_modules', 'lora_alpha', 'lora_dropout', 'fan_in_fan_out', 'bias', 'modules_to_save', 'init_lora_weights',
      'layers_to_transform', 'layers_pattern', 'rank_pattern', 'alpha_pattern', 'peft_type', 'auto_mapping', 'base_model_name_or_path', 'revision', 'task_type', 'inference_mode']);
    writePeftAdapter(dir, { config: cfg, baseModel: 'x', targets, weights: weights(), dtype: 'float32' });
    const plain = JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG), 'utf8'));
    assert.deepEqual(Object.keys(plain).filter((key) => !peft06.has(key)), []);
    const back = readPeftAdapter(dir);
    assert.deepEqual([back.config.use_rslora, back.config.use_dora], [false, false]);
    writePeftAdapter(dir, { config: { ...cfg, use_rslora: true }, baseModel: 'x', targets, weights: weights(), dtype: 'float32' });
    const rs = JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG), 'utf8'));
    assert.deepEqual([rs.use_rslora, 'use_dora' in rs], [true, false]);
    assert.equal(readPeftAdapter(dir).scaling, 8 / Math.sqrt(4));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a LISA run folder read as an adapter says to use its model folder instead', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peft-lisa-'));
  try {
    assert.throws(() => readPeftAdapter(dir), (e: unknown) => e instanceof UserError && /adapter_config\.json not found/.test(e.message) && /PEFT LoRA adapter/.test(e.fix ?? ''));
    mkdirSync(join(dir, 'model'));
    writeFileSync(join(dir, 'model', 'config.json'), '{}');
    assert.throws(() => readPeftAdapter(dir), (e: unknown) => e instanceof UserError && (e.fix ?? '').includes(`--model ${join(dir, 'model')}`) && /LISA/.test(e.fix ?? ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
