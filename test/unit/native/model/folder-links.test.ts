// Tests native/model/folder-links.ts: symbolic links in a model folder may not lead out of it (config, tokenizer
// files, the chat template, the index and its shards, and the files merge copies), except inside the Hugging Face
// cache's repository folder; --allow-outside-links (allowOutsideLinks) lets them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { allowOutsideLinks, checkModelFileLinks, linkRoot } from '../../../../native/model/folder-links';
import { mergeAdapter } from '../../../../native/model/merge';
import { generate } from '../../../../native/model/generate';
import { writePeftAdapter } from '../../../../native/model/peft-io';
import { resolveTargets } from '../../../../native/model/lora';
import { UserError } from '../../../../native/util/errors';
import { inspectModel } from '../../../../extension/panels/model-inspect';
import { loadPreviewModel } from '../../../../extension/datasets/preview-model';

const root = mkdtempSync(join(tmpdir(), 'folder-links-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const tiny = (dir: string, sharded = false) => makeTinyModel(dir, { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 3, sharded }).dir;

/** Moves every file of `dir` out to `elsewhere` and leaves a relative link in its place. */
function linkOut(dir: string, name: string, elsewhere: string): string {
  mkdirSync(elsewhere, { recursive: true });
  const target = join(elsewhere, name);
  renameSync(join(dir, name), target);
  symlinkSync(relative(dir, target), join(dir, name));
  return target;
}

/** A Hugging Face cache repository: models--org--tiny/blobs/<sha256> and snapshots/<rev>/<file> -> ../../blobs/<sha256>. */
function hfCache(model: string, name: string): string {
  const repo = join(root, 'hub', `models--org--${name}`);
  const snapshot = join(repo, 'snapshots', '0123abcd');
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  for (const name of readdirSync(model)) {
    const bytes = readFileSync(join(model, name));
    const sha = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(repo, 'blobs', sha), bytes);
    symlinkSync(join('..', '..', 'blobs', sha), join(snapshot, name));
  }
  return snapshot;
}

function refused(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    for (const part of parts) assert.ok(e.message.includes(part), `"${e.message}" lacks "${part}"`);
    return true;
  });
}

test('a Hugging Face cache snapshot (every file a link into ../../blobs) loads, and merge copies the linked files as files', async () => {
  const snapshot = hfCache(tiny(join(root, 'plain'), true), 'tiny');
  assert.ok(lstatSync(join(snapshot, 'config.json')).isSymbolicLink());
  assert.equal(linkRoot(snapshot), join(root, 'hub', 'models--org--tiny'));
  const folder = loadModelFolder(snapshot);
  assert.equal(folder.weights.files.length, 2);
  const targets = resolveTargets(folder.config, ['q_proj']);
  const weights = new Map(targets.map((t) => [t.baseName, { A: new Float32Array(2 * t.in).fill(0.01), B: new Float32Array(t.out * 2).fill(0.01) }]));
  writePeftAdapter(join(root, 'adapter'), { config: { r: 2, lora_alpha: 4, lora_dropout: 0, use_rslora: false }, baseModel: snapshot, targets, weights, dtype: 'float32' });
  const out = join(root, 'merged');
  await mergeAdapter({ modelDir: snapshot, adapterDir: join(root, 'adapter'), outDir: out });
  // Before, a link was no file to merge: config.json and the tokenizer were silently left out of the merged model.
  assert.deepEqual(readdirSync(out).sort(), readdirSync(snapshot).sort());
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    assert.ok(lstatSync(join(out, name)).isFile());
    assert.deepEqual(readFileSync(join(out, name)), readFileSync(join(snapshot, name)));
  }
  loadModelFolder(out);
});

test('a model in a Hugging Face cache snapshot runs in onnxruntime, whose external-data check resolves the links to ../../blobs', async () => {
  const plain = tiny(join(root, 'plain3'), true);
  const snapshot = hfCache(plain, 'runs');
  const run = async (dir: string) => {
    let text = '';
    for await (const piece of generate({ model: loadModelFolder(dir), prompt: 'Hello', maxNewTokens: 4, temperature: 0, topP: 1, seed: 0 })) text += piece;
    return text;
  };
  // Before, onnxruntime refused the shards (external data outside the model's folder) and generate, train and
  // compare ended with an internal error.
  assert.equal(await run(snapshot), await run(plain));
});

test('a link out of a cache repository is refused even in the cache layout', () => {
  const snapshot = hfCache(tiny(join(root, 'plain2')), 'other');
  const outside = join(root, 'elsewhere-cache');
  mkdirSync(outside);
  writeFileSync(join(outside, 'generation_config.json'), readFileSync(join(snapshot, 'generation_config.json')));
  rmSync(join(snapshot, 'generation_config.json'));
  symlinkSync(relative(snapshot, join(outside, 'generation_config.json')), join(snapshot, 'generation_config.json'));
  refused(() => loadModelFolder(snapshot), 'generation_config.json is a symbolic link to ../', 'outside the Hugging Face cache folder', '--allow-outside-links');
});

test('each file read from a folder is refused when its link leads out, naming the link, its target and the way on', () => {
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'model.safetensors']) {
    const dir = tiny(join(root, `out-${name}`));
    if (name === 'chat_template.jinja') writeFileSync(join(dir, name), '{{ messages }}');
    const target = linkOut(dir, name, join(root, `secret-${name}`));
    refused(() => loadModelFolder(dir), `${name} is a symbolic link to ../secret-${name}/${name}, which leads to ${target}`, `outside the model folder`, 'cp --remove-destination', '--allow-outside-links');
  }
  // A shard named by the index, and the index itself.
  const sharded = tiny(join(root, 'out-shard'), true);
  const shard = readdirSync(sharded).find((name) => name.endsWith('.safetensors'))!;
  linkOut(sharded, shard, join(root, 'secret-shard'));
  refused(() => loadModelFolder(sharded), `${shard} is a symbolic link`);
  const indexed = tiny(join(root, 'out-index'), true);
  linkOut(indexed, 'model.safetensors.index.json', join(root, 'secret-index'));
  refused(() => loadModelFolder(indexed), 'model.safetensors.index.json is a symbolic link');
});

test('links inside the folder are fine; allowOutsideLinks (the --allow-outside-links flag) lets outside ones be read', () => {
  const dir = tiny(join(root, 'inside'));
  mkdirSync(join(dir, 'files'));
  renameSync(join(dir, 'tokenizer.json'), join(dir, 'files', 'tokenizer.json'));
  symlinkSync(join('files', 'tokenizer.json'), join(dir, 'tokenizer.json'));
  // A name that merely starts with two dots is still inside.
  renameSync(join(dir, 'generation_config.json'), join(dir, '..generation.json'));
  symlinkSync('..generation.json', join(dir, 'generation_config.json'));
  loadModelFolder(dir);
  linkOut(dir, 'config.json', join(root, 'trusted'));
  refused(() => loadModelFolder(dir), 'config.json is a symbolic link');
  allowOutsideLinks();
  try {
    assert.equal(loadModelFolder(dir).config.architecture, 'Qwen2ForCausalLM');
  } finally {
    allowOutsideLinks(false);
  }
  checkModelFileLinks(dir, [join(dir, 'config.json')], true);
});

test('lora-studio inspect refuses an outside link (exit 1) and reads it with --allow-outside-links', () => {
  const dir = tiny(join(root, 'cli'));
  linkOut(dir, 'tokenizer_config.json', join(root, 'cli-elsewhere'));
  const run = (...flags: string[]) => spawnSync(process.execPath, ['dist/cli.js', 'inspect', '--model', dir, ...flags], { encoding: 'utf8' });
  const refusedRun = run();
  assert.equal(refusedRun.status, 1, refusedRun.stderr);
  assert.match(refusedRun.stderr, /tokenizer_config\.json is a symbolic link to .*cli-elsewhere\/tokenizer_config\.json.*--allow-outside-links/s);
  const allowed = run('--allow-outside-links');
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.match(allowed.stdout, /Qwen2ForCausalLM/);
});

test('the extension host reads no file through an outside link either: model inspection, Dataset Preview, token counts', async () => {
  const dir = tiny(join(root, 'host'));
  linkOut(dir, 'config.json', join(root, 'host-elsewhere'));
  linkOut(dir, 'tokenizer_config.json', join(root, 'host-elsewhere'));
  const readers = { parseConfig: () => { throw new Error('config.json was read'); }, linearModules: () => [] };
  refused(() => inspectModel(dir, readers, () => 0), 'config.json is a symbolic link');
  await assert.rejects(loadPreviewModel(dir), /tokenizer_config\.json is a symbolic link/);
  // A folder that does not exist is still said as before (no link to judge).
  await assert.rejects(loadPreviewModel(join(root, 'nope')), /no tokenizer_config\.json in the chosen folder/);
});
