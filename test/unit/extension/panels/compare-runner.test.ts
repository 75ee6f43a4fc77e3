// Tests of extension/panels/compare-runner.ts with a stand-in CLI script (no model, no onnxruntime).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateArgs, parseGenerateLine, runGenerate, type GenerateLine } from '../../../../extension/panels/compare-runner';

const dir = mkdtempSync(join(tmpdir(), 'lora-gen-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const settings = { maxNewTokens: 8, temperature: 0, topP: 1, seed: 3 };

test('line parsing: tokens, done (tokens/s derived when missing), errors; junk ignored', () => {
  assert.deepEqual(parseGenerateLine('{"type":"token","text":"Hi"}'), { type: 'token', text: 'Hi' });
  assert.deepEqual(parseGenerateLine('{"type":"done","tokens":10,"seconds":2}'), { type: 'done', tokens: 10, seconds: 2, tokens_per_s: 5 });
  assert.deepEqual(parseGenerateLine('{"type":"done","tokens":10,"seconds":2,"tokens_per_s":4,"memory_mb":900}'), { type: 'done', tokens: 10, seconds: 2, tokens_per_s: 4, memory_mb: 900 });
  assert.deepEqual(parseGenerateLine('{"type":"error","message":"bad"}'), { type: 'error', message: 'bad' });
  // --json's single object is not a stream line.
  assert.equal(parseGenerateLine('{"text":"Hi there","prompt_tokens":[1,2],"tokens":[5,6,7],"tokens_per_s":30}'), undefined);
  assert.equal(parseGenerateLine('loading model…'), undefined);
  assert.equal(parseGenerateLine('{"type":"token"}'), undefined);
});

test('arguments: adapter only when given, settings as flags, --stream-json last', () => {
  const args = generateArgs('/x/cli.js', { model: '/m', prompt: 'p', settings });
  assert.deepEqual(args, ['/x/cli.js', 'generate', '--model', '/m', '--instruction', 'p', '--max-new-tokens', '8', '--temperature', '0', '--top-p', '1', '--seed', '3', '--stream-json']);
  assert.deepEqual(generateArgs('/x/cli.js', { model: '/m', adapter: '/a', prompt: 'p', settings }).slice(4, 6), ['--adapter', '/a']);
  // The base side of a QLoRA adapter's comparison runs on the NF4 base too.
  const nf4 = generateArgs('/x/cli.js', { model: '/m', prompt: 'p', settings, quantization: 'nf4' });
  assert.deepEqual(nf4.slice(nf4.indexOf('--quantization'), nf4.indexOf('--quantization') + 2), ['--quantization', 'nf4']);
  assert.ok(!generateArgs('/x/cli.js', { model: '/m', prompt: 'p', settings, quantization: 'none' }).includes('--quantization'));
});

test('arguments: a whole trained model (LISA\'s <run>/model) on the other side is that side\'s model, not an adapter', () => {
  const trained = join(dir, 'run', 'model');
  mkdirSync(trained, { recursive: true });
  writeFileSync(join(trained, 'config.json'), '{}');
  assert.deepEqual(generateArgs('/x/cli.js', { model: '/base', adapter: trained, prompt: 'p', settings }).slice(2, 5), ['--model', trained, '--instruction']);
  writeFileSync(join(trained, 'adapter_config.json'), '{}'); // an adapter folder that also has a config.json stays an adapter
  assert.deepEqual(generateArgs('/x/cli.js', { model: '/base', adapter: trained, prompt: 'p', settings }).slice(2, 6), ['--model', '/base', '--adapter', trained]);
});

test('streams lines from a child process and resolves on exit 0', async () => {
  const script = join(dir, 'ok.js');
  writeFileSync(script, `for (const t of ['He', 'llo']) console.log(JSON.stringify({ type: 'token', text: t }));
console.log('not json');
console.log(JSON.stringify({ type: 'done', tokens: 2, seconds: 0.5 }));`);
  const lines: GenerateLine[] = [];
  await runGenerate({ node: process.execPath, args: [script], onLine: (l) => lines.push(l) });
  assert.deepEqual(lines.map((l) => l.type), ['token', 'token', 'done']);
});

test('a failing CLI rejects with its stderr message', async () => {
  const script = join(dir, 'fail.js');
  writeFileSync(script, `process.stderr.write('lora-studio: /m/config.json: unsupported architecture X\\n'); process.exit(2);`);
  await assert.rejects(runGenerate({ node: process.execPath, args: [script], onLine: () => undefined }), /^Error: \/m\/config\.json: unsupported architecture X$/);
});

test('abort kills the child and rejects as cancelled', async () => {
  const script = join(dir, 'slow.js');
  writeFileSync(script, `console.log(JSON.stringify({ type: 'token', text: 'a' })); setTimeout(() => {}, 60000);`);
  const controller = new AbortController();
  const lines: GenerateLine[] = [];
  const done = runGenerate({ node: process.execPath, args: [script], signal: controller.signal, onLine: (l) => {
    lines.push(l);
    controller.abort();
  } });
  await assert.rejects(done, /cancelled/);
  assert.equal(lines.length, 1);
});
