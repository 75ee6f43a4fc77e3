// Hostile and clumsy `generate` calls: a 15,001-token prompt (it segfaulted), a prompt past max_position_embeddings,
// --max-new-tokens 1e9 (it crashed allocating), an empty prompt, numbers out of range, an adapter that is missing, of
// another model, or a folder that is not an adapter, and a chat template that never ends. Each is refused before
// allocating, naming the flag or the file; a correct call prints text (exit 0).
import { test } from 'node:test';
import { join } from 'node:path';
import { assertUnchanged, cli, expectOutcome, hostileFixture, snapshot, trainedRun } from './hostile-cli';

const fx = hostileFixture('generate');
const generate = (...flags: string[]) => cli(['generate', '--model', fx.model, '--device', 'cpu', ...flags]);

test('a 15,001-token prompt, and a prompt that with --max-new-tokens passes max_position_embeddings, are refused', () => {
  expectOutcome(generate('--prompt', 'hello '.repeat(15_001).trim(), '--max-new-tokens', '4'), 1, /max_position_embeddings|4096/, /prompt/);
  expectOutcome(generate('--prompt', 'hello '.repeat(4000).trim(), '--max-new-tokens', '200'), 1, /4096/);
});

test('--max-new-tokens 1000000000, 0, -5 and "abc" are refused before anything is allocated', () => {
  expectOutcome(generate('--prompt', 'Hello', '--max-new-tokens', '1000000000'), 1, /max-new-tokens|max_position_embeddings/, /4096/);
  for (const bad of ['0', '-5', 'abc', '2.5']) expectOutcome(generate('--prompt', 'Hello', '--max-new-tokens', bad), 1, /--max-new-tokens must be a whole number ≥ 1/);
});

test('an empty prompt or instruction, and neither or both of --prompt and --instruction, are named', () => {
  expectOutcome(generate('--prompt', ''), 1, /prompt/, /empty/);
  expectOutcome(generate('--instruction', ''), 1, /--instruction is empty/);
  expectOutcome(generate(), 1, /pass exactly one of --prompt TEXT .* or --instruction TEXT/);
  expectOutcome(generate('--prompt', 'a', '--instruction', 'b'), 1, /pass exactly one of --prompt/);
  expectOutcome(generate('--prompt', 'a', '--input', 'b'), 1, /--input goes with --instruction/);
});

test('--temperature -1 / NaN and --top-p 0 / 2 are refused naming the flag', () => {
  expectOutcome(generate('--prompt', 'Hello', '--temperature', '-1'), 1, /--temperature must be a number ≥ 0 \(0 = greedy\), got "-1"/);
  expectOutcome(generate('--prompt', 'Hello', '--temperature', 'NaN'), 1, /--temperature/);
  expectOutcome(generate('--prompt', 'Hello', '--top-p', '0'), 1, /--top-p/);
  expectOutcome(generate('--prompt', 'Hello', '--top-p', '2'), 1, /--top-p must be a number in \(0, 1\], got "2"/);
});

test('an adapter that is missing, or a folder that is not an adapter, is named; the folder is not written to', () => {
  expectOutcome(generate('--prompt', 'Hello', '--adapter', join(fx.root, 'no-such-adapter')), 1, /adapter_config\.json not found in .*no-such-adapter — choose a folder with a PEFT LoRA adapter/);
  const before = snapshot(fx.model);
  expectOutcome(generate('--prompt', 'Hello', '--adapter', fx.model), 1, /adapter_config\.json/);
  assertUnchanged(before, fx.model);
});

test('a correct prompt with the trained adapter prints text, and --json is one object (exit 0)', () => {
  const adapter = trainedRun(fx);
  const before = snapshot(adapter);
  expectOutcome(generate('--prompt', 'Hello', '--adapter', adapter, '--max-new-tokens', '3'), 0);
  const json = generate('--prompt', 'Hello', '--max-new-tokens', '3', '--json');
  expectOutcome(json, 0, /"prompt_tokens":/);
  JSON.parse(json.stdout);
  assertUnchanged(before, adapter);
});

test('a chat template that never ends is a located error in generate --instruction, in bounded time', () => {
  const model = fx.copyModel('looping', (d) => fx.editJson(join(d, 'tokenizer_config.json'), (t) => (t.chat_template = '{% for i in range(1000000000) %}x{% endfor %}')));
  expectOutcome(cli(['generate', '--model', model, '--device', 'cpu', '--instruction', 'Hi', '--max-new-tokens', '2']), 1, /tokenizer_config\.json: chat_template/);
});

test('--device gpu / cuda:0x1 are refused as devices, not read as a CUDA request; seeds past 32 bits are refused', () => {
  for (const device of ['gpu', 'cuda:0x1', 'CPU', '']) expectOutcome(generate('--prompt', 'Hello', '--device', device), 1, new RegExp(`--device must be auto, cpu, cuda or cuda:N, got "${device}"`));
  // mulberry32 keeps 32 bits: 4294967296 sampled exactly what seed 0 does.
  for (const seed of ['4294967296', '-5', '1e20']) {
    expectOutcome(generate('--prompt', 'Hello', '--temperature', '1', '--seed', seed), 1, new RegExp(`--seed must be a whole number from 0 to 4,294,967,295, got "${seed}"`));
  }
  expectOutcome(generate('--prompt', 'Hello', '--temperature', '1', '--seed', '4294967295', '--max-new-tokens', '2'), 0);
});
