// How the CLI ends: 1 for wrong input and ordinary I/O errors (the path and the cause, no stack), 2 for usage, 70
// only for real bugs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFailure } from '../../../../native/cli/exit';
import { UserError } from '../../../../native/util/errors';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { writePeftAdapter } from '../../../../native/model/peft-io';
import { resolveTargets } from '../../../../native/model/lora';
import { loadModelFolder } from '../../../../native/model/model-folder';

const errno = (code: string, syscall: string, path: string) => Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });

test('describeFailure: a UserError and errno errors exit 1 with the path and the cause; anything else is an internal error', () => {
  assert.deepEqual(describeFailure(new UserError('bad', { fix: 'fix it' })), { code: 1, message: 'bad — fix it' });
  assert.deepEqual(describeFailure(errno('ENOSPC', 'write', '/runs/a/metrics.jsonl')), {
    code: 1, message: '/runs/a/metrics.jsonl: no space left on the device (ENOSPC in write) — free some disk space (or choose a folder on another disk) and run again',
  });
  assert.match(describeFailure(errno('EACCES', 'open', '/x')).message, /^\/x: permission denied \(EACCES in open\)/);
  // A read-only disk (makeDirs reports mkdir's own EROFS, not Node's recursive ENOENT): said in words, with what to do.
  assert.deepEqual(describeFailure(errno('EROFS', 'mkdir', '/mnt/ro/runs')), {
    code: 1, message: '/mnt/ro/runs: the file system is read-only (EROFS in mkdir) — choose a folder on a writable disk',
  });
  const bug = describeFailure(new TypeError('x is undefined'));
  assert.equal(bug.code, 70);
  assert.match(bug.message, /^internal error \(a bug in LoRA Studio; please report it\): TypeError: x is undefined/);
});

test('an everyday I/O error in a command (an --out below a file) exits 1 naming the path and the cause, with no stack', () => {
  const root = mkdtempSync(join(tmpdir(), 'cli-exit-'));
  const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 3 }).dir;
  const targets = resolveTargets(loadModelFolder(model).config, ['q_proj']);
  const adapter = join(root, 'adapter');
  writePeftAdapter(adapter, { config: { r: 2, lora_alpha: 4, lora_dropout: 0, use_rslora: false }, baseModel: model, targets, dtype: 'float32',
    weights: new Map(targets.map((t) => [t.baseName, { A: new Float32Array(2 * t.in), B: new Float32Array(t.out * 2) }])) });
  writeFileSync(join(root, 'a-file'), 'x');
  const result = spawnSync(process.execPath, ['dist/cli.js', 'merge', '--model', model, '--adapter', adapter, '--out', join(root, 'a-file', 'merged')], { encoding: 'utf8' });
  assert.match(result.stderr, /a-file.*: a part of this path is a file, not a folder \(ENOTDIR in mkdir\)/);
  assert.equal(result.status, 1, result.stderr);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  const usage = spawnSync(process.execPath, ['dist/cli.js', 'merge', '--model', model], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
});
