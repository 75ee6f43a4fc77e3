// The Ollama export: the Modelfile for each chat-template family (ChatML with Qwen2.5's default system prompt, Llama 3,
// an unknown one left to the user, none), and the folder a run exports to (model.gguf, adapter.gguf, Modelfile).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportOllama, modelfileText, ollamaName } from '../../../../native/export/ollama';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model';
import { resolveTargets } from '../../../../native/model/lora';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { writePeftAdapter } from '../../../../native/model/peft-io';

const QWEN25 = "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
const LLAMA3 = "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

test('Modelfile: ChatML with the default system prompt, Llama 3, an unknown family, no template', () => {
  assert.equal(modelfileText({ from: 'model.gguf', adapter: 'adapter.gguf', chatTemplate: QWEN25, eosTexts: ['<|im_end|>', '<|endoftext|>'], source: 'm + a' }), [
    '# Ollama Modelfile written by LoRA Studio from m + a',
    'FROM ./model.gguf',
    'ADAPTER ./adapter.gguf',
    '# ChatML chat format, translated from the model\'s chat template',
    'TEMPLATE """{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n"""',
    'SYSTEM """You are Qwen, created by Alibaba Cloud. You are a helpful assistant."""',
    'PARAMETER stop "<|im_start|>"',
    'PARAMETER stop "<|im_end|>"',
    'PARAMETER stop "<|endoftext|>"',
    '',
  ].join('\n'));
  const llama = modelfileText({ from: 'model.gguf', chatTemplate: LLAMA3, eosTexts: ['<|eot_id|>', '<|end_of_text|>'], source: 'm' });
  assert.match(llama, /^TEMPLATE """\{\{- range \.Messages \}\}<\|start_header_id\|>\{\{ \.Role \}\}<\|end_header_id\|>\n\n\{\{ \.Content \}\}<\|eot_id\|>\{\{ end \}\}<\|start_header_id\|>assistant<\|end_header_id\|>\n\n"""$/m);
  assert.doesNotMatch(llama, /ADAPTER|SYSTEM/);
  assert.deepEqual(llama.split('\n').filter((l) => l.startsWith('PARAMETER')), ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>', '<|end_of_text|>'].map((s) => `PARAMETER stop "${s}"`));
  const unknown = modelfileText({ from: 'model.gguf', chatTemplate: '{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}', eosTexts: ['</s>'], source: 'm' });
  assert.match(unknown, /# TEMPLATE must be written by hand/);
  assert.match(unknown, /^# {3}\{% for m in messages %\}\[\{\{ m\.role \}\}\] \{\{ m\.content \}\}$/m);
  assert.doesNotMatch(unknown, /^TEMPLATE/m);
  assert.match(unknown, /^PARAMETER stop "<\/s>"$/m);
  assert.match(modelfileText({ from: 'model.gguf', eosTexts: [], source: 'm' }), /no chat template/);
  assert.equal(ollamaName('My Run (3)'), 'my-run-3');
});

test('Ollama folder from a run: model.gguf, adapter.gguf and a Modelfile that names both; the real Qwen template is ChatML', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ollama-'));
  try {
    const modelDir = makeTinyModel(join(dir, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 4 }).dir;
    const targets = resolveTargets(loadModelFolder(modelDir).config, ['q_proj', 'v_proj']);
    const run = join(dir, 'My Run');
    writePeftAdapter(run, {
      config: { r: 2, lora_alpha: 4, lora_dropout: 0, use_rslora: false }, baseModel: modelDir, targets, dtype: 'float32',
      weights: new Map(targets.map((t) => [t.baseName, { A: new Float32Array(2 * t.in).fill(0.1), B: new Float32Array(t.out * 2).fill(0.1) }])),
    });
    const out = join(dir, 'exports', 'ollama'); // its parent does not exist yet
    const result = await exportOllama({ outDir: out, modelDir, adapterDir: run, dtype: 'q8_0' });
    assert.equal(result.name, 'my-run');
    assert.deepEqual(readdirSync(out).sort(), ['Modelfile', 'adapter.gguf', 'model.gguf']);
    const modelfile = readFileSync(join(out, 'Modelfile'), 'utf8');
    assert.match(modelfile, /^FROM \.\/model\.gguf\nADAPTER \.\/adapter\.gguf\n# ChatML/m);
    assert.match(modelfile, /^PARAMETER stop "<\|im_end\|>"$/m);
    assert.match(modelfile, /^PARAMETER stop "<\|endoftext\|>"$/m);
    assert.deepEqual(readdirSync(join(dir, 'exports')), ['ollama'], 'no staging folder left');
    assert.ok(existsSync(join(out, 'model.gguf')));
    // What Ollama's template expands to for a system and a user message is what the model's own template renders.
    const ollamaPrompt = '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n';
    assert.equal(loadModelFolder(modelDir).tokenizer.applyChatTemplate([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], true), ollamaPrompt);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
