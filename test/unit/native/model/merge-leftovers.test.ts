// A merge killed before its rename leaves its staging folder (`.<out>.merging-<pid>-<hex>`) beside the output folder:
// the next merge into that folder's parent removes it, and never the staging folder of a merge still running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { removeMergeLeftovers } from '../../../../native/model/merge';
import { writePeftAdapter } from '../../../../native/model/peft-io';
import { resolveTargets } from '../../../../native/model/lora';
import { loadModelFolder } from '../../../../native/model/model-folder';

const root = mkdtempSync(join(tmpdir(), 'merge-leftovers-'));

test('only staging folders of merges whose process is gone are removed', () => {
  const parent = join(root, 'unit');
  for (const name of ['.out.merging-111-a1b2c3', '.out.merging-222-d4e5f6', '.other.merging-a1b2c3', 'out', '.out.merging-notes']) mkdirSync(join(parent, name), { recursive: true });
  const removed = removeMergeLeftovers(parent, (pid) => pid === 222);
  assert.deepEqual(removed, [join(parent, '.out.merging-111-a1b2c3')]);
  assert.deepEqual(readdirSync(parent).sort(), ['.other.merging-a1b2c3', '.out.merging-222-d4e5f6', '.out.merging-notes', 'out']);
  assert.deepEqual(removeMergeLeftovers(join(root, 'missing')), []);
});

test('a merge killed mid-write (SIGKILL) leaves its staging folder; the next merge into that folder removes it and says so', async () => {
  const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.LlamaForCausalLM, layers: 24, dtype: 'float32', seed: 6 }).dir;
  const adapter = join(root, 'adapter');
  const targets = resolveTargets(loadModelFolder(model).config, 'all-linear');
  writePeftAdapter(adapter, { config: { r: 4, lora_alpha: 8, lora_dropout: 0, use_rslora: false }, baseModel: model, targets,
    weights: new Map(targets.map((t) => [t.baseName, { A: new Float32Array(4 * t.in).fill(0.01), B: new Float32Array(t.out * 4).fill(0.01) }])), dtype: 'float32' });
  const parent = join(root, 'merged');
  const out = join(parent, 'model-merged');
  const args = ['dist/cli.js', 'merge', '--model', model, '--adapter', adapter, '--out', out, '--json'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve) => child.stdout.on('data', (chunk: Buffer) => {
    if (chunk.toString().includes('"type":"progress"')) resolve();
  }));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  const left = readdirSync(parent).filter((name) => name.startsWith('.model-merged.merging-'));
  assert.deepEqual(left, [`.model-merged.merging-${child.pid}-${left[0]?.split('-').at(-1)}`], 'the killed merge left its staging folder, named with its pid');
  assert.equal(existsSync(out), false);

  const again = spawnSync(process.execPath, args.slice(0, -1), { encoding: 'utf8', timeout: 300_000 });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`removed .*${left[0].replace(/\./g, '\\.')}, left by a merge that was killed`));
  assert.deepEqual(readdirSync(parent), ['model-merged']);
});
