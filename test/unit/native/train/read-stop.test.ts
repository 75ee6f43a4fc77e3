// A signal while `lora-studio train` reads a large dataset stops it there (the reading checks the run's stop flag
// between chunks): exit 0, the run stopped before tokenizing anything, nothing trained.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerEvent } from '../../../../native/protocol';
import { readRunStatus } from '../../../../native/train/run-dir';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';

const root = mkdtempSync(join(tmpdir(), 'read-stop-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

test('SIGINT while train reads its dataset stops the run before tokenizing: exit 0, status stopped', async () => {
  const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 1 }).dir;
  // 60 MB: seconds to read and parse, so the signal lands while reading.
  const data = join(root, 'data.jsonl');
  writeFileSync(data, `${JSON.stringify({ instruction: 'q'.repeat(200), output: 'a'.repeat(400) })}\n`.repeat(100_000));
  const out = join(root, 'run');
  const child = spawn(process.execPath, ['dist/cli.js', 'train', '--model', model, '--data', data, '--out', out, '--max-steps', '1', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: WorkerEvent[] = [];
  let buffer = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (buffer + chunk.toString()).split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const event = JSON.parse(line) as WorkerEvent;
      events.push(event);
      if (event.type === 'status' && event.message.startsWith('reading ')) child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, stderr);
  const messages = events.flatMap((e) => (e.type === 'status' ? [e.message] : []));
  assert.ok(messages.some((m) => m.startsWith('reading ')), `never read: ${messages.join(' | ')}`);
  assert.equal(messages.some((m) => /^tokenizing \d/.test(m)), false, `the dataset was read to the end after the signal: ${messages.join(' | ')}`);
  const done = events.at(-1);
  assert.deepEqual(done?.type === 'done' && [done.reason, done.step], ['stopped', 0]);
  assert.equal(readRunStatus(out)?.state, 'stopped');
});
