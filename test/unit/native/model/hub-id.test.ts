// Tests native/model/hub-id.ts: a model folder's Hugging Face id from a note, the HF cache path or config.json's
// _name_or_path (only when it is an id, not a path), and writePeftAdapter recording it as base_model_name_or_path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseModelName, hubIdOf, isHubId, MODEL_NOTE } from '../../../../native/model/hub-id';
import { initLora, resolveTargets } from '../../../../native/model/lora';
import { ADAPTER_CONFIG, writePeftAdapter } from '../../../../native/model/peft-io';
import { TINY_CONFIGS } from './tiny-configs';

function folder(root: string, name: string, config: object): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

test('isHubId: org/name only, never a path', () => {
  for (const id of ['Qwen/Qwen2.5-0.5B', 'meta-llama/Llama-3.2-1B', 'a/b.c_d']) assert.equal(isHubId(id), true, id);
  for (const path of ['/models/qwen', './qwen/x', '../a/b', '~/a/b', 'C:\\models\\x', 'C:/m/x', 'a/b/c', 'qwen', 'a/..', 'a\\b']) assert.equal(isHubId(path), false, path);
});

test('hubIdOf: the note first, then the HF cache path, then _name_or_path when it is an id; else undefined', () => {
  const root = mkdtempSync(join(tmpdir(), 'hub-id-'));
  try {
    const noted = folder(root, 'noted', { _name_or_path: 'other/id' });
    writeFileSync(join(noted, MODEL_NOTE), JSON.stringify({ hub_id: 'Qwen/Qwen2.5-0.5B' }));
    assert.equal(hubIdOf(noted), 'Qwen/Qwen2.5-0.5B');
    const cached = folder(root, 'hub/models--meta-llama--Llama-3.2-1B/snapshots/0123abc', {});
    assert.equal(hubIdOf(cached), 'meta-llama/Llama-3.2-1B');
    assert.equal(hubIdOf(folder(root, 'named', { _name_or_path: 'HuggingFaceTB/SmolLM2-135M' })), 'HuggingFaceTB/SmolLM2-135M');
    assert.equal(hubIdOf(folder(root, 'local', { _name_or_path: '/home/me/models/qwen' })), undefined);
    assert.equal(hubIdOf(folder(root, 'none', {})), undefined);
    // "models/x" that exists beside the folder is a relative path, not an id.
    folder(root, 'models/x', {});
    assert.equal(hubIdOf(folder(root, 'relative', { _name_or_path: 'models/x' })), undefined);
    assert.equal(baseModelName(join(root, 'local')), join(root, 'local'));
    assert.equal(baseModelName('org/not-a-folder'), 'org/not-a-folder');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('writePeftAdapter records the Hub id of the model folder as base_model_name_or_path, else its path', () => {
  const root = mkdtempSync(join(tmpdir(), 'hub-id-'));
  try {
    const targets = resolveTargets(TINY_CONFIGS.llama, ['q_proj']);
    const options = { r: 2, lora_alpha: 4, lora_dropout: 0, use_rslora: false };
    const write = (model: string) => {
      const out = join(root, 'adapter');
      writePeftAdapter(out, { config: options, baseModel: model, targets, weights: initLora(targets, 2, 1), dtype: 'float32' });
      return JSON.parse(readFileSync(join(out, ADAPTER_CONFIG), 'utf8')).base_model_name_or_path;
    };
    assert.equal(write(folder(root, 'named', { _name_or_path: 'org/tiny-llama' })), 'org/tiny-llama');
    const local = folder(root, 'local', { _name_or_path: join(root, 'elsewhere') });
    assert.equal(write(local), local);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
