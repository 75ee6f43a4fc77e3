// GGUF LoRA export checked in real llama.cpp: a random r=4 adapter on every linear layer of each architecture's tiny
// fixture (float16 base, seed 3, std 0.1 as in gguf-model.test.ts), exported as a GGUF LoRA and applied at scale 1 on
// the base GGUF by node-llama-cpp, greedy-decodes the same 16 ids as our decoder with the adapter unmerged — plain
// LoRA and rsLoRA (whose alpha/sqrt(r) llama.cpp cannot express, so the export folds it into lora_b). The adapter is
// strong enough to change the base model's ids, so an ignored or mis-scaled adapter fails. DoRA is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model';
import { exportGgufModel } from '../../../../native/export/gguf-model';
import { exportGgufAdapter } from '../../../../native/export/gguf-adapter';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { resolveTargets } from '../../../../native/model/lora';
import { writePeftAdapter } from '../../../../native/model/peft-io';
import { seededRandom } from '../../../../native/data/batch';
import type { Architecture } from '../../../../native/model/hf-config';
import { compareGreedy, llamaCppGreedy, ourGreedy } from './llama-cpp';
import { readGguf } from './gguf-read';

const PROMPT = [5, 17, 300, 42, 999, 7];
const STEPS = 16;

function writeAdapter(dir: string, modelDir: string, useRslora: boolean, useDora = false): void {
  const folder = loadModelFolder(modelDir);
  const targets = resolveTargets(folder.config, 'all-linear');
  const random = seededRandom(11);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const r = 4;
  const weights = new Map(targets.map((t) => [t.baseName, {
    A: Float32Array.from({ length: r * t.in }, () => 0.3 * normal()),
    B: Float32Array.from({ length: t.out * r }, () => 0.3 * normal()),
    ...(useDora ? { m: new Float32Array(t.out).fill(1) } : {}),
  }]));
  writePeftAdapter(dir, { config: { r, lora_alpha: 8, lora_dropout: 0, use_rslora: useRslora, use_dora: useDora }, baseModel: modelDir, targets, weights, dtype: 'float32' });
}

for (const arch of ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM', 'MistralForCausalLM'] as Architecture[]) {
  test(`GGUF LoRA (${arch}): llama.cpp with base + adapter GGUF decodes our ids with the adapter (LoRA and rsLoRA)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gguf-adapter-'));
    try {
      const modelDir = join(dir, 'model');
      makeTinyModel(modelDir, { ...TINY_PRESETS[arch], dtype: 'float16', seed: 3, std: 0.1 });
      const base = join(dir, 'base.gguf');
      await exportGgufModel({ modelDir, outFile: base, dtype: 'f16' });
      const plain = await ourGreedy(modelDir, PROMPT, STEPS);
      for (const rslora of [false, true]) {
        const adapterDir = join(dir, rslora ? 'rslora' : 'lora');
        writeAdapter(adapterDir, modelDir, rslora);
        const out = join(dir, `${rslora ? 'rslora' : 'lora'}.gguf`);
        const result = await exportGgufAdapter({ adapterDir, outFile: out });
        assert.equal(result.modelDir, modelDir, 'the base is found from base_model_name_or_path');
        assert.equal(result.notes.some((n) => n.includes('folded')), rslora);
        const ours = await ourGreedy(modelDir, PROMPT, STEPS, adapterDir);
        assert.notDeepEqual(ours.ids, plain.ids, 'the adapter changes the greedy ids (so an ignored adapter would fail)');
        const theirs = await llamaCppGreedy(base, PROMPT, STEPS, out);
        const { compared, mismatch } = compareGreedy(ours, theirs);
        assert.equal(mismatch, undefined, mismatch);
        console.log(`${arch} ${rslora ? 'rsLoRA' : 'LoRA'} GGUF: ${compared}/${STEPS} ids compared and equal (our smallest top-2 margin ${Math.min(...ours.margins).toFixed(4)})`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('GGUF LoRA file: convert_lora_to_gguf names, shapes and keys; DoRA refused with the merge-then-export way out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gguf-adapter-'));
  try {
    const modelDir = join(dir, 'model');
    makeTinyModel(modelDir, { ...TINY_PRESETS.LlamaForCausalLM, dtype: 'float32', seed: 1 });
    const adapterDir = join(dir, 'lora');
    writeAdapter(adapterDir, modelDir, false);
    const out = join(dir, 'a.gguf');
    await exportGgufAdapter({ adapterDir, modelDir, outFile: out });
    const file = readGguf(readFileSync(out));
    assert.equal(file.kv.get('general.architecture'), 'llama');
    assert.equal(file.kv.get('general.type'), 'adapter');
    assert.equal(file.kv.get('adapter.type'), 'lora');
    assert.equal(file.kv.get('adapter.lora.alpha'), 8);
    const q = (which: string) => file.tensors.find((t) => t.name === `blk.1.attn_q.weight.lora_${which}`)!;
    // GGUF dims are innermost first: lora_a [r, in] → [in, r], lora_b [out, r] → [r, out].
    assert.deepEqual(q('a').dims, [64, 4]);
    assert.deepEqual(q('b').dims, [4, 64]);
    assert.equal(file.tensors.length, 2 * 7 * 2);

    const doraDir = join(dir, 'dora');
    writeAdapter(doraDir, modelDir, false, true);
    await assert.rejects(exportGgufAdapter({ adapterDir: doraDir, modelDir, outFile: join(dir, 'd.gguf') }), /DoRA adapters cannot be exported as a GGUF LoRA.*lora-studio merge .* lora-studio export --format gguf/);

    const elsewhere = join(dir, 'moved');
    writeAdapter(elsewhere, modelDir, false);
    const config = JSON.parse(readFileSync(join(elsewhere, 'adapter_config.json'), 'utf8'));
    writeFileSync(join(elsewhere, 'adapter_config.json'), JSON.stringify({ ...config, base_model_name_or_path: 'Qwen/Qwen2.5-0.5B' }));
    await assert.rejects(exportGgufAdapter({ adapterDir: elsewhere, outFile: join(dir, 'm.gguf') }), /"Qwen\/Qwen2.5-0.5B", not a model folder on this machine — pass --model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
