// lora-studio export, GGUF formats: --run DIR exports the run merged into its base (found from adapter_config.json),
// gguf-adapter defaults to RUN/adapter.gguf, and wrong flags say which flag and how to fix it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model';
import { exportCommand } from '../../../../native/cli/export';
import { resolveTargets } from '../../../../native/model/lora';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { writePeftAdapter } from '../../../../native/model/peft-io';
import { isUserError } from '../../../../native/util/errors';
import { readGguf } from '../export/gguf-read';

function tensorBytes(path: string, name: string, length: number): Buffer {
  const bytes = readFileSync(path);
  const file = readGguf(bytes);
  const at = file.dataStart + file.tensors.find((t) => t.name === name)!.offset;
  return bytes.subarray(at, at + length);
}

test('export --format gguf --run: the run merged into its base; gguf-adapter writes RUN/adapter.gguf; nothing else left behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'export-gguf-'));
  const write = process.stdout.write;
  try {
    const modelDir = makeTinyModel(join(dir, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 2 }).dir;
    const targets = resolveTargets(loadModelFolder(modelDir).config, ['q_proj']);
    const run = join(dir, 'run');
    const weights = new Map(targets.map((t) => [t.baseName, { A: new Float32Array(2 * t.in).fill(0.1), B: new Float32Array(t.out * 2).fill(0.1) }]));
    writePeftAdapter(run, { config: { r: 2, lora_alpha: 4, lora_dropout: 0, use_rslora: false }, baseModel: modelDir, targets, weights, dtype: 'float32' });
    process.stdout.write = () => true;
    const base = await exportCommand({ format: 'gguf', model: modelDir, out: join(dir, 'out', 'base.gguf'), dtype: 'f16' });
    // Into a folder that does not exist yet (the temporary merge folder goes beside the output).
    const merged = await exportCommand({ format: 'gguf', run, out: join(dir, 'new', 'sub', 'merged.gguf'), dtype: 'f16' });
    const adapter = await exportCommand({ format: 'gguf-adapter', run });
    process.stdout.write = write;
    assert.equal(adapter.out, join(run, 'adapter.gguf'));
    assert.ok(existsSync(adapter.out));
    assert.match(adapter.notes.join('\n'), /--lora /);
    // q_proj of layer 0 changed by the merge (F16: 64·64·2 bytes), k_proj did not.
    assert.notDeepEqual(tensorBytes(merged.out, 'blk.0.attn_q.weight', 8192), tensorBytes(base.out, 'blk.0.attn_q.weight', 8192));
    assert.deepEqual(tensorBytes(merged.out, 'blk.0.attn_k.weight', 4096), tensorBytes(base.out, 'blk.0.attn_k.weight', 4096));
    assert.deepEqual(readdirSync(join(dir, 'new', 'sub')), ['merged.gguf'], 'the temporary merge folder is gone');
  } finally {
    process.stdout.write = write;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('export: a missing or wrong flag is a UserError naming the flag and the fix', async () => {
  const fails = async (flags: Parameters<typeof exportCommand>[0], pattern: RegExp) => {
    await assert.rejects(exportCommand(flags), (error: unknown) => isUserError(error) && pattern.test((error as Error).message));
  };
  await fails({ format: 'gguff' }, /unknown --format "gguff" — choose one of: gguf, gguf-adapter/);
  await fails({ format: 'gguf', model: 'm' }, /--format gguf needs --out — lora-studio export/);
  await fails({ format: 'gguf', model: 'm', out: 'x.gguf', dtype: 'q4_0' }, /--dtype must be f16, bf16, q8_0 for GGUF, got "q4_0"/);
  await fails({ format: 'gguf-adapter' }, /needs --run DIR \(or --adapter DIR\)/);
  await fails({ format: 'gguf-adapter', run: 'a', adapter: 'b' }, /--run and --adapter name different folders/);
});
