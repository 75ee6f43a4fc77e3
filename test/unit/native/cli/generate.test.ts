// lora-studio generate (native/cli/generate.ts) on a tiny model folder: --json and --stream-json output, --instruction templating, flag errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeSafetensors } from '../../../../native/model/safetensors';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel } from '../../../fixtures/tiny-model/index';
import { generateCommand } from '../../../../native/cli/generate';
import type { GenerateStreamLine } from '../../../../native/protocol';
import { isUserError } from '../../../../native/util/errors';

test('generate --json prints text, prompt and generated ids, tokens/s; flags are checked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'p1-cli-gen-'));
  try {
    makeTinyModel(dir, { architecture: 'Qwen2ForCausalLM', layers: 1, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, vocab: 600, tie: true, dtype: 'float32', seed: 2, std: 0.3 });
    let out = '';
    await generateCommand({ model: dir, prompt: 'Hello', maxNewTokens: '5', seed: '0', device: 'cpu', json: true }, (t) => { out += t; });
    const result = JSON.parse(out.trim()) as { text: string; prompt_tokens: number[]; tokens: number[]; tokens_per_s: number };
    assert.ok(result.prompt_tokens.length > 0);
    assert.ok(result.tokens.length <= 5);
    assert.equal(typeof result.text, 'string');
    assert.ok(result.tokens_per_s >= 0);

    let templated = '';
    await generateCommand({ model: dir, instruction: 'Say hi', maxNewTokens: '3', seed: '0', device: 'cpu', json: true }, (t) => { templated += t; });
    const t = JSON.parse(templated.trim()) as { prompt_tokens: number[] };
    assert.ok(t.prompt_tokens.length > result.prompt_tokens.length, 'the template wraps the instruction');

    const rejects = async (flags: Parameters<typeof generateCommand>[0], pattern: RegExp) =>
      assert.rejects(generateCommand(flags, () => undefined), (e: unknown) => isUserError(e) && pattern.test((e as Error).message));
    await rejects({ model: dir, seed: '0', device: 'cpu' }, /exactly one of --prompt/);
    await rejects({ model: dir, prompt: 'x', instruction: 'y', seed: '0', device: 'cpu' }, /exactly one of --prompt/);
    await rejects({ model: dir, prompt: 'x', maxNewTokens: '0', seed: '0', device: 'cpu' }, /--max-new-tokens/);
    await rejects({ model: dir, prompt: 'x', topP: '2', seed: '0', device: 'cpu' }, /--top-p/);
    await rejects({ model: dir, prompt: 'x', seed: '0', device: 'cpu', compare: true }, /--compare needs --adapter/);

    // --compare: base and adapter on the same prompt; a zero-B adapter must reproduce the base exactly.
    const adapter = join(dir, 'adapter');
    mkdirSync(adapter);
    writeSafetensors(join(adapter, 'adapter_model.safetensors'), [
      { name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', dtype: 'F32', shape: [2, 32], data: new Float32Array(64).fill(0.1) },
      { name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', dtype: 'F32', shape: [32, 2], data: new Float32Array(64) },
    ], { format: 'pt' });
    writeFileSync(join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4 }));
    let compared = '';
    await generateCommand({ model: dir, prompt: 'Hello', maxNewTokens: '5', seed: '0', device: 'cpu', json: true, compare: true, adapter }, (t) => { compared += t; });
    const both = JSON.parse(compared.trim()) as { base: { tokens: number[]; peak_rss_mb: number }; adapter: { tokens: number[] } };
    assert.deepEqual(both.adapter.tokens, both.base.tokens);
    assert.deepEqual(both.base.tokens, result.tokens);
    assert.ok(both.base.peak_rss_mb > 0);
    let side = '';
    await generateCommand({ model: dir, prompt: 'Hello', maxNewTokens: '3', seed: '0', device: 'cpu', compare: true, adapter }, (t) => { side += t; });
    assert.match(side, /── base model \(.*tokens\/s, peak RSS \d+ MiB\)[\s\S]*── with adapter/);

    // --stream-json (what the Compare view reads): a token line per piece, then done with timing and memory; the
    // pieces add up to the --json text.
    let streamed = '';
    await generateCommand({ model: dir, prompt: 'Hello', maxNewTokens: '5', seed: '0', device: 'cpu', streamJson: true, adapter }, (t) => { streamed += t; });
    const lines = streamed.trim().split('\n').map((l) => JSON.parse(l) as GenerateStreamLine);
    const done = lines.at(-1)!;
    assert.equal(done.type, 'done');
    const pieces = lines.slice(0, -1);
    assert.ok(pieces.every((l) => l.type === 'token'), 'only token lines before done');
    assert.equal(pieces.map((l) => (l.type === 'token' ? l.text : '')).join(''), result.text);
    if (done.type === 'done') {
      assert.equal(done.tokens, result.tokens.length);
      assert.ok(done.seconds > 0 && done.memory_mb !== undefined && done.memory_mb > 0 && done.tokens_per_s >= 0);
    }
    await rejects({ model: dir, prompt: 'x', seed: '0', device: 'cpu', streamJson: true, json: true }, /--stream-json goes alone/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('generate refuses an empty prompt and a length past the model\'s positions before allocating (unless --allow-long-context); a default length shrinks to fit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'p1-cli-gen-len-'));
  try {
    makeTinyModel(dir, { architecture: 'Qwen2ForCausalLM', layers: 1, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, vocab: 600, tie: true, dtype: 'float32', seed: 2, std: 0.3 });
    const flags = { model: dir, seed: '0', device: 'cpu', json: true };
    await assert.rejects(generateCommand({ ...flags, prompt: '', maxNewTokens: '5' }, () => {}), /the prompt is empty/);
    await assert.rejects(generateCommand({ ...flags, instruction: ' \n', maxNewTokens: '5' }, () => {}), /--instruction is empty/);
    await assert.rejects(generateCommand({ ...flags, prompt: 'Hello', maxNewTokens: '1000000000' }, () => {}),
      /the prompt \(\d+ tokens\) plus 1000000000 new tokens is past the 4096 positions .* \(max_position_embeddings\) — pass --max-new-tokens \d+ or less, or shorten the prompt, or pass --allow-long-context/);
    // Insisting does not lift the ceiling: the KV cache would be allocated for a billion positions.
    await assert.rejects(generateCommand({ ...flags, prompt: 'Hello', maxNewTokens: '1000000000', allowLongContext: true }, () => {}), /past the 1,048,576 LoRA Studio allows even with --allow-long-context/);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, max_position_embeddings: 8 }));
    let out = '';
    await generateCommand({ ...flags, prompt: 'Hello there' }, (t) => { out += t; }); // default 128 new tokens: shrinks
    const result = JSON.parse(out.trim()) as { prompt_tokens: number[]; tokens: number[] };
    assert.ok(result.prompt_tokens.length + result.tokens.length <= 8);
    // --allow-long-context: past the 8 positions, said once on stderr (--compare generates twice), stdout stays JSON.
    const stderr: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => stderr.push(text) > 0) as typeof process.stderr.write;
    let long = '';
    try {
      await generateCommand({ ...flags, prompt: 'Hello there', maxNewTokens: '12', allowLongContext: true }, (t) => { long += t; });
    } finally {
      process.stderr.write = write;
    }
    const past = JSON.parse(long.trim()) as { prompt_tokens: number[]; tokens: number[] };
    assert.ok(past.tokens.length >= 1);
    assert.equal(stderr.filter((line) => /^warning: the prompt \(\d+ tokens\) plus 12 new tokens is past the 8 positions/.test(line)).length, 1, stderr.join(''));
    await assert.rejects(generateCommand({ ...flags, prompt: 'Hello there', maxNewTokens: '12' }, () => {}), /or pass --allow-long-context if the model handles longer contexts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
