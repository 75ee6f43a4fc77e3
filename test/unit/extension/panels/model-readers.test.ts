// Tests of extension/panels/model-readers.ts on tiny real-architecture folders (test/fixtures/tiny-model): the panel's
// description of a model, and estimate.ts's parameter formula checked against the actual safetensors shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { inspectModel } from '../../../../extension/panels/model-inspect';
import { computeParams, modelReaders } from '../../../../extension/panels/model-readers';
import { modelParameterCount } from '../../../../native/train/estimate';

const root = mkdtempSync(join(tmpdir(), 'lora-inspect-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

for (const preset of Object.values(TINY_PRESETS)) {
  test(`${preset.architecture}: modules, layer templates, and the parameter formula equals the weights' count`, () => {
    const dir = join(root, preset.architecture);
    makeTinyModel(dir, { ...preset, dtype: 'bfloat16', seed: 1 });
    const info = inspectModel(dir, modelReaders, computeParams);
    assert.equal(info.architecture, preset.architecture);
    assert.equal(info.dtype, 'bfloat16');
    assert.deepEqual(info.modules.map((m) => m.name), ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
    assert.deepEqual(info.modules.map((m) => m.group), ['attention', 'attention', 'attention', 'attention', 'mlp', 'mlp', 'mlp']);
    assert.equal(info.modules[0].pathTemplate, 'model.layers.{layer}.self_attn.q_proj');
    const headDim = preset.headDim ?? preset.hidden / preset.heads;
    assert.deepEqual([info.modules[0].in, info.modules[0].out], [preset.hidden, preset.heads * headDim]);
    assert.equal(info.modules[1].out, preset.kvHeads * headDim);
    // totalParams comes from the safetensors headers; the config-only formula must agree exactly.
    assert.equal(modelParameterCount(info.shape), info.totalParams);
  });
}

test('an unsupported architecture is refused with the supported list', () => {
  const dir = join(root, 'bad');
  makeTinyModel(dir, { ...TINY_PRESETS.LlamaForCausalLM, dtype: 'float32', seed: 1 });
  const readers = { ...modelReaders, parseConfig: (json: unknown, file: string) =>
    modelReaders.parseConfig({ ...(json as object), architectures: ['GPT2LMHeadModel'] }, file) };
  assert.throws(() => inspectModel(dir, readers, computeParams), /GPT2LMHeadModel/);
});
