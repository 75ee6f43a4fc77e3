// lora-studio compose stopped by a signal (the extension's Cancel sends SIGTERM): it ends between evaluations, writes
// nothing, says so, and exits 128 + the signal's number. Runs the built CLI (dist/cli.js), as the extension does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { resolveTargets } from '../../../../native/model/lora';
import { writePeftAdapter } from '../../../../native/model/peft-io';
import { parseComposeLine } from '../../../../native/train/compose-events';
import { mulberry32 } from '../../../../native/util/random';

const root = mkdtempSync(join(tmpdir(), 'compose-signals-'));
const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 4 }).dir;
const data = join(root, 'few.jsonl');
writeFileSync(data, '{"instruction":"Add the two numbers.","input":"2 and 3","output":"5"}\n');
const targets = resolveTargets(loadModelFolder(model).config, ['q_proj']);
const adapters = [1, 2].map((seed) => {
  const random = mulberry32(seed);
  const values = (n: number) => Float32Array.from({ length: n }, () => (random() - 0.5) * 0.2);
  const dir = join(root, `adapter-${seed}`);
  writePeftAdapter(dir, { config: { r: 2, lora_alpha: 4, lora_dropout: 0, use_rslora: false, use_dora: false }, baseModel: model, targets, weights: new Map(targets.map((t) => [t.baseName, { A: values(2 * t.in), B: values(t.out * 2) }])), dtype: 'float32' });
  return dir;
});

for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`compose --json stopped by ${signal} after its first evaluations: exit ${code}, an error line, no output folder`, async () => {
    const out = join(root, `out-${signal}`);
    const child = spawn(process.execPath, ['dist/cli.js', 'compose', '--model', model, '--adapters', adapters.join(','), '--data', data, '--out', out, '--steps', '100000', '--device', 'cpu', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    let sent = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!sent && /"step":3,/.test(stdout)) {
        sent = true; // once: a second signal after the handlers are gone would kill it, as a second Ctrl-C does
        child.kill(signal);
      }
    });
    assert.equal(await exited, code, stderr);
    const events = stdout.trim().split('\n').map((line) => parseComposeLine(line));
    assert.deepEqual(events.at(-1), { type: 'error', message: `stopped by ${signal}; nothing was written` });
    assert.ok(events.filter((e) => e?.type === 'step').length < 100, 'it stopped between evaluations, long before the end');
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(root).filter((n) => n.includes('composing')), []);
  });
}
