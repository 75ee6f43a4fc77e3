// Clumsy --out paths for `export`: the model's own weights file, the dataset, the model or run folder, a folder
// where a file goes. `--out model/model.safetensors` replaced the model's weights with the GGUF and `--format
// ollama --out MODEL_DIR` replaced the whole model folder with the export (exit 0 both). Each is now refused before
// any work, naming the path, and the user's files are byte-identical; an earlier export at the path is replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertUnchanged, cli, expectOutcome, hostileFixture, snapshot, trainedRun } from './hostile-cli';

const fx = hostileFixture('export-out');
const run = trainedRun(fx);
const exportTo = (...flags: string[]) => cli(['export', ...flags]);

test('a GGUF --out that is the model\'s weights, the dataset or the adapter\'s weights is refused; nothing changes', () => {
  const before = snapshot(fx.model, fx.data, run);
  expectOutcome(exportTo('--format', 'gguf', '--model', fx.model, '--out', join(fx.model, 'model.safetensors')), 1, /model\.safetensors exists and is not a GGUF file: writing the GGUF would replace it/, /choose a new path/);
  expectOutcome(exportTo('--format', 'gguf', '--run', run, '--out', fx.data), 1, /data\.jsonl exists and is not a GGUF file/);
  expectOutcome(exportTo('--format', 'gguf-adapter', '--run', run, '--out', join(run, 'adapter_model.safetensors')), 1, /adapter_model\.safetensors exists and is not a GGUF file/);
  assertUnchanged(before, fx.model, fx.data, run);
});

test('a GGUF --out that is a folder is named as one, with a file path to use, and leaves no temp file beside it', () => {
  const folder = fx.path('out-folder');
  mkdirSync(folder);
  expectOutcome(exportTo('--format', 'gguf', '--model', fx.model, '--out', folder), 1, /out-folder-\d+ is a folder, not a file/, /out-folder-\d+\/model\.gguf/);
  assert.deepEqual(readdirSync(fx.root).filter((name) => name.endsWith('.tmp')), [], 'no temp file left');
});

test('an earlier GGUF at --out is replaced (exit 0): exporting again is not refused', () => {
  const out = fx.path('model.gguf');
  expectOutcome(exportTo('--format', 'gguf', '--model', fx.model, '--out', out), 0, /GGUF model written/);
  expectOutcome(exportTo('--format', 'gguf', '--model', fx.model, '--out', out, '--dtype', 'q8_0'), 0, /GGUF model written/);
});

test('an Ollama --out that is the model folder, the run folder or a file is refused; an earlier Ollama export is replaced', () => {
  const before = snapshot(fx.model, fx.data, run);
  expectOutcome(exportTo('--format', 'ollama', '--model', fx.model, '--out', fx.model), 1, /is not empty and is not an earlier Ollama export \(it holds config\.json/, /choose a new or empty folder/);
  expectOutcome(exportTo('--format', 'ollama', '--run', run, '--out', run), 1, /is not an earlier Ollama export \(it holds adapter_config\.json/);
  expectOutcome(exportTo('--format', 'ollama', '--run', run, '--out', fx.data), 1, /data\.jsonl is a file, not a folder/);
  assertUnchanged(before, fx.model, fx.data, run);
  const out = fx.path('ollama');
  for (let i = 0; i < 2; i++) expectOutcome(exportTo('--format', 'ollama', '--run', run, '--out', out), 0, /Ollama folder written/);
  assert.deepEqual(readdirSync(out).sort(), ['Modelfile', 'adapter.gguf', 'model.gguf']);
});
