// `lora-studio train` (and `generate`) with hostile chat templates and a signal while tokenizing (issue 19, items 4 and 7): an endless
// range, nested loops and a huge string end with exit 1 and a message naming the template's file, the limit and the
// fix, within seconds; SIGINT during the tokenizing of a large dataset stops within a few seconds with exit 0, a
// run folder saying "stopped while tokenizing" and nothing half-written. Runs the built CLI (dist/cli.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerEvent } from '../../../../native/protocol';
import { readRunStatus } from '../../../../native/train/run-dir';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';

const root = mkdtempSync(join(tmpdir(), 'train-templates-'));
const data = join(root, 'data.jsonl');
writeFileSync(data, '{"instruction":"Say hi.","output":"hi"}\n{"instruction":"Say bye.","output":"bye"}\n');

/** A tiny model whose tokenizer_config.json carries `template` as chat_template. */
function modelWithTemplate(name: string, template: string): string {
  const dir = makeTinyModel(join(root, name), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 1 }).dir;
  const configFile = join(dir, 'tokenizer_config.json');
  writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, 'utf8')), chat_template: template }));
  return dir;
}

const trainArgs = (model: string, dataFile: string, out: string) =>
  ['dist/cli.js', 'train', '--model', model, '--data', dataFile, '--out', out, '--max-steps', '2', '--batch-size', '2', '--max-seq-len', '32'];

for (const [name, template, limit] of [
  ['an endless range', '{% for i in range(1000000000) %}{{ i }}{% endfor %}', /used more than \d+ MB of memory|did not finish within 5 s/],
  ['nested loops', '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}', /did not finish within 5 s/],
  ['a huge string', '{% set s = namespace(t="xy") %}{% for i in range(40) %}{% set s.t = s.t + s.t %}{% endfor %}{{ s.t }}', /output is longer than/],
] as const) {
  test(`train with a chat template with ${name}: exit 1 and a message naming the template, the limit and the fix`, () => {
    const model = modelWithTemplate(name.replace(/ /g, '-'), template);
    const started = performance.now();
    const result = spawnSync(process.execPath, trainArgs(model, data, join(root, `out-${name.replace(/ /g, '-')}`)), { encoding: 'utf8', timeout: 120_000 });
    assert.equal(result.status, 1, `exit ${result.status} ${result.signal ?? ''}\n${result.stderr}`);
    assert.ok(result.stderr.includes(`${join(model, 'tokenizer_config.json')}: chat_template: the chat template`), result.stderr);
    assert.match(result.stderr, limit);
    assert.match(result.stderr, /rendering the record on line 1 of .*data\.jsonl/);
    assert.match(result.stderr, /fix the chat template/);
    assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
    assert.ok(performance.now() - started < 100_000);
  });
}

test('generate --instruction with a chat template with nested loops: exit 1 naming the template and the limit', () => {
  const model = modelWithTemplate('generate-loops', '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}');
  const result = spawnSync(process.execPath, ['dist/cli.js', 'generate', '--model', model, '--instruction', 'Say hi.', '--max-new-tokens', '2', '--device', 'cpu'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(result.status, 1, `exit ${result.status} ${result.signal ?? ''}\n${result.stderr}`);
  assert.ok(result.stderr.includes(`${join(model, 'tokenizer_config.json')}: chat_template: the chat template did not finish within 5 s`), result.stderr);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
});

test('SIGINT while tokenizing a large dataset stops promptly: exit 0, status "stopped while tokenizing", nothing half-written', async (t) => {
  const model = makeTinyModel(join(root, 'plain-model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 2 }).dir;
  const big = join(root, 'big.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < 300_000; i += 1) lines.push(JSON.stringify({ instruction: `Summarize note ${i} about the release.`, input: `Note ${i}: the build moved to Thursday.`, output: `Thursday (note ${i}).` }));
  writeFileSync(big, lines.join('\n') + '\n');
  const out = join(root, 'out-sigint');
  const child = spawn(process.execPath, [...trainArgs(model, big, out), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: WorkerEvent[] = [];
  let buffer = '';
  let stderr = '';
  let sentAt: number | undefined;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) {
      const event = JSON.parse(line) as WorkerEvent;
      events.push(event);
      // The progress line comes once tokenizing has run for a second: the signal lands inside it.
      if (sentAt === undefined && event.type === 'status' && /^tokenizing records: [\d,]+ of 300,000/.test(event.message)) {
        sentAt = performance.now();
        child.kill('SIGINT');
      }
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.ok(sentAt !== undefined, `no tokenizing progress was reported; events: ${JSON.stringify(events)}; stderr: ${stderr}`);
  const seconds = (performance.now() - sentAt) / 1000;
  t.diagnostic(`exited ${seconds.toFixed(2)} s after SIGINT`);
  assert.equal(code, 0, stderr);
  // 2 s on an idle machine; generous here because the test machine's two cores are shared.
  assert.ok(seconds < 15, `stopped in ${seconds.toFixed(1)} s`);
  assert.equal(events.some((e) => e.type === 'status' && /^tokenized /.test(e.message)), false, 'tokenizing did not finish');
  const done = events.at(-1);
  assert.equal(done?.type === 'done' && done.reason, 'stopped');
  assert.match(readRunStatus(out)?.message ?? '', /stopped while tokenizing/);
  const names = readdirSync(out);
  assert.deepEqual(names.filter((n) => /\.tmp$|^\.staging-|checkpoints|adapter_model|metrics/.test(n)), [], `run folder holds ${names.join(', ')}`);
  assert.equal(existsSync(join(out, 'worker.json')), false);
});
