// Tests native/cli/export-cluster.ts with native/export/cluster/write.ts: `lora-studio export --format
// axolotl|llamafactory|trl` from a run folder or a .lora.json preset writes the whole folder in one piece, with the
// eval split LoRA Studio would use, and refuses what it cannot do with the flag and the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUN_OPTIONS } from '../../../../native/protocol';
import { FORMATS, type ExportFlags } from '../../../../native/cli/export';
import { parallelismOf } from '../../../../native/cli/export-cluster';
import { MODEL_NOTE } from '../../../../native/model/hub-id';
import { UserError } from '../../../../native/util/errors';

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'export-cluster-'));
  const model = join(root, 'model');
  mkdirSync(model);
  writeFileSync(join(model, 'config.json'), JSON.stringify({ architectures: ['Qwen2ForCausalLM'] }));
  writeFileSync(join(model, 'tokenizer_config.json'), JSON.stringify({ chat_template: '{{ messages }}' }));
  writeFileSync(join(model, MODEL_NOTE), JSON.stringify({ hub_id: 'Qwen/Qwen2.5-0.5B' }));
  const data = join(root, 'data.jsonl');
  writeFileSync(data, Array.from({ length: 10 }, (_, i) => JSON.stringify({ instruction: `q${i}`, output: `a${i}` })).join('\n') + '\n');
  const run = join(root, 'run');
  mkdirSync(run);
  writeFileSync(join(run, 'training_config.json'), JSON.stringify({ ...DEFAULT_RUN_OPTIONS, model, data, out: run, eval_split: 0.2, seed: 7 }));
  return { root, model, data, run };
}

/** The format's entry as exportCommand runs it, without printing (stdout carries the test runner's reports). */
const quiet = (flags: ExportFlags & { format: string }) => FORMATS[flags.format].run(flags);

test('export --format trl --run DIR --deepspeed zero3 writes data, config, script, DeepSpeed JSON, launch scripts and README', async () => {
  const { root, run } = setup();
  try {
    const out = join(root, 'cluster');
    const result = await quiet({ format: 'trl', run, out, deepspeed: 'zero3' });
    assert.equal(result.out, out);
    assert.deepEqual(readdirSync(out).sort(), ['README.md', 'data', 'deepspeed.json', 'launch-multinode.sh', 'launch.sh', 'requirements.txt', 'train.py', 'train_config.json']);
    const train = readFileSync(join(out, 'data/train.jsonl'), 'utf8').trim().split('\n');
    const evalLines = readFileSync(join(out, 'data/eval.jsonl'), 'utf8').trim().split('\n');
    assert.deepEqual([train.length, evalLines.length], [8, 2]);
    const settings = JSON.parse(readFileSync(join(out, 'train_config.json'), 'utf8'));
    assert.equal(settings.model, 'Qwen/Qwen2.5-0.5B', 'the Hub id from the model folder\'s note');
    assert.equal(settings.sft.seed, 7);
    assert.ok(statSync(join(out, 'launch.sh')).mode & 0o100, 'launch.sh is executable');
    assert.match(readFileSync(join(out, 'README.md'), 'utf8'), /\| `device` \|/);
    assert.equal(readdirSync(root).some((name) => name.includes('.partial-')), false, 'no staging folder left');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('export --config preset.lora.json with --model/--data for each trainer; FSDP writes the accelerate config where needed', async () => {
  const { root, model, data } = setup();
  try {
    const preset = join(root, 'preset.lora.json');
    writeFileSync(preset, JSON.stringify({ r: 16, lora_alpha: 32, target_modules: 'all-linear' }));
    for (const format of ['axolotl', 'llamafactory', 'trl']) {
      const out = join(root, `out-${format}`);
      await quiet({ format, config: preset, model, data, out, fsdp: true });
      assert.equal(existsSync(join(out, 'accelerate.yaml')), format !== 'axolotl', format);
      assert.equal(existsSync(join(out, format === 'trl' ? 'train_config.json' : 'config.yaml')), true, format);
    }
    assert.match(readFileSync(join(root, 'out-axolotl', 'config.yaml'), 'utf8'), /^lora_r: 16$/m);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('refusals name the flag and the fix: no source, a preset without data, a non-empty --out, a bad --deepspeed, both shardings', async () => {
  const { root, run, model } = setup();
  try {
    await assert.rejects(quiet({ format: 'axolotl', out: join(root, 'x') }), /needs --run RUN_DIR or --config/);
    const preset = join(root, 'p.lora.json');
    writeFileSync(preset, '{}');
    await assert.rejects(quiet({ format: 'axolotl', config: preset, model, out: join(root, 'y') }), (e: unknown) => e instanceof UserError && /data: is required/.test(e.message));
    const full = join(root, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep.txt'), 'x');
    await assert.rejects(quiet({ format: 'trl', run, out: full }), /is not empty/);
    assert.equal(readFileSync(join(full, 'keep.txt'), 'utf8'), 'x');
    assert.throws(() => parallelismOf({ deepspeed: 'zero1' }), /zero2 or zero3/);
    assert.throws(() => parallelismOf({ deepspeed: 'zero2', fsdp: true }), /choose one/);
    assert.equal(parallelismOf({}), 'ddp');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
