// Tests native/cli/inspect.ts: the report of a tiny Qwen2 folder (JSON and text) and its error for a non-model folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { register, inspectModel, formatInspect } from '../../../../native/cli/inspect';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { UserError } from '../../../../native/util/errors';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model';

const root = mkdtempSync(join(tmpdir(), 'inspect-test-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

test('inspect reports architecture, sizes, dtype, parameters and LoRA targets', () => {
  const dir = makeTinyModel(join(root, 'qwen2'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'bfloat16', seed: 1 }).dir;
  const r = inspectModel(loadModelFolder(dir));
  assert.equal(r.architecture, 'Qwen2ForCausalLM');
  assert.deepEqual([r.layers, r.hidden_size, r.attention_heads, r.kv_heads, r.head_dim, r.vocab_size], [2, 64, 4, 2, 16, 1024]);
  assert.equal(r.dtype, 'bfloat16');
  assert.deepEqual(r.stored_dtypes, ['BF16']);
  // Tied Qwen2, 2 layers: embed 1024×64; per layer 2 norms, q/k/v/o (+ q/k/v bias), gate/up/down; final norm.
  const perLayer = 2 * 64 + (64 * 64 + 64) + 2 * (64 * 32 + 32) + 64 * 64 + 3 * 64 * 128;
  assert.equal(r.parameters, 1024 * 64 + 2 * perLayer + 64);
  assert.deepEqual(r.linear_modules.map((m) => [m.name, m.out, m.in]), [
    ['q_proj', 64, 64], ['k_proj', 32, 64], ['v_proj', 32, 64], ['o_proj', 64, 64], ['gate_proj', 128, 64], ['up_proj', 128, 64], ['down_proj', 64, 128],
  ]);
  assert.equal(r.chat_template, true);
  // Stored bf16: 2 bytes a parameter. NF4: linear weights 0.5 byte + a float32 absmax per 64, the rest (with biases) as stored.
  assert.equal(r.weight_bytes, 2 * r.parameters);
  const linear = 2 * (2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 128);
  assert.equal(r.nf4_bytes, linear * (0.5 + 4 / 64) + 2 * (r.parameters - linear));
  const text = formatInspect(r);
  assert.match(text, /weights\s+0\.00 GB as stored; 0\.00 GB with --quantization nf4/);
  assert.match(text, /Qwen2ForCausalLM/);
  assert.match(text, /4 query, 2 key\/value \(grouped-query\)/);
  assert.match(text, /k_proj\s+\[32, 64\]\s+× 2 layers/);
});

test('the command prints JSON with --json, and a UserError for a folder without config.json', async () => {
  const dir = makeTinyModel(join(root, 'llama'), { ...TINY_PRESETS.LlamaForCausalLM, dtype: 'float32', seed: 1 }).dir;
  const program = new Command().exitOverride();
  register(program);
  const chunks: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => { chunks.push(s); return true; }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'cli', 'inspect', '--model', dir, '--json']);
  } finally {
    process.stdout.write = write;
  }
  const report = JSON.parse(chunks.join('')) as { architecture: string; rope_scaling: string; linear_modules: unknown[] };
  assert.equal(report.architecture, 'LlamaForCausalLM');
  assert.equal(report.rope_scaling, 'llama3 ×8');
  assert.equal(report.linear_modules.length, 7);
  await assert.rejects(program.parseAsync(['node', 'cli', 'inspect', '--model', root]), (e: unknown) => e instanceof UserError && e.message.includes('config.json'));
});
