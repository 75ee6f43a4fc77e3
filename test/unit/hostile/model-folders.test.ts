// Hostile and clumsy model folders: shard paths that leave the folder, corrupt safetensors headers, config.json values
// that are zero, inconsistent or absurd, files that are not JSON, a file where the folder should be, a tokenizer that
// does not fit the config, symlinks out of the folder, and chat templates that never end. Each is refused with the
// file and the field before any training work, and the model folder is never written to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertUnchanged, cli, expectOutcome, hostileFixture, snapshot, TINY_TRAIN } from './hostile-cli';

const fx = hostileFixture('model');
const trainWith = (model: string, ...flags: string[]) => cli(['train', '--model', model, '--data', fx.data, '--out', fx.path('run'), ...TINY_TRAIN, ...flags]);
/** Trains on a corrupted copy: refused with exit 1 and `patterns`, and the copy is not written to. */
const refusedModel = (name: string, edit: (dir: string) => void, ...patterns: RegExp[]) => {
  const dir = fx.copyModel(name, edit);
  const before = snapshot(dir);
  expectOutcome(trainWith(dir), 1, ...patterns);
  assertUnchanged(before, dir);
  return dir;
};

/** Rewrites the JSON header of a safetensors file (offsets are relative to the data area, so its length may change). */
function editHeader(file: string, edit: (header: Record<string, { dtype: string; shape: unknown; data_offsets: number[] }>) => void): void {
  const bytes = readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8'));
  edit(header);
  const text = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(text.length));
  writeFileSync(file, Buffer.concat([prefix, text, bytes.subarray(8 + length)]));
}

/** Splits the single model.safetensors into an index pointing at it (then the index entries can be corrupted). */
function indexed(dir: string, entry: (name: string) => unknown): void {
  const bytes = readFileSync(join(dir, 'model.safetensors'));
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, unknown>;
  const names = Object.keys(header).filter((n) => n !== '__metadata__');
  renameSync(join(dir, 'model.safetensors'), join(dir, 'model-00001-of-00001.safetensors'));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: Object.fromEntries(names.map((n) => [n, entry(n)])) }));
}

test('an index entry ../outside/x.safetensors, an absolute path or a number is refused; nothing outside is opened', () => {
  mkdirSync(join(fx.root, 'outside'));
  writeFileSync(join(fx.root, 'outside', 'x.safetensors'), readFileSync(join(fx.model, 'model.safetensors')));
  const first = (n: string) => n === 'model.embed_tokens.weight';
  refusedModel('dotdot', (d) => indexed(d, (n) => (first(n) ? '../outside/x.safetensors' : 'model-00001-of-00001.safetensors')), /weight_map/, /\.\.\/outside\/x\.safetensors/);
  refusedModel('absolute', (d) => indexed(d, (n) => (first(n) ? join(fx.root, 'outside', 'x.safetensors') : 'model-00001-of-00001.safetensors')), /weight_map/, /outside\/x\.safetensors/);
  refusedModel('number', (d) => indexed(d, (n) => (first(n) ? 7 : 'model-00001-of-00001.safetensors')), /weight_map/, /model\.embed_tokens\.weight/);
});

test('a safetensors header with "shape": "abc" or an offset inside the header is refused as corrupt, naming the tensor', () => {
  refusedModel('shape', (d) => editHeader(join(d, 'model.safetensors'), (h) => (h['model.norm.weight'].shape = 'abc')), /model\.safetensors/, /model\.norm\.weight/);
  refusedModel('offset', (d) => editHeader(join(d, 'model.safetensors'), (h) => (h['model.norm.weight'].data_offsets = [-64, 192])), /model\.safetensors/, /model\.norm\.weight/);
});

test('a safetensors file cut short (a download that stopped) is refused naming the file, not read past its end', () => {
  refusedModel('truncated', (d) => truncateSync(join(d, 'model.safetensors'), 20_000), /model\.safetensors/, /(truncated|shorter|ends|bytes)/i);
});

test('config.json: vocab_size 0, hidden_size not a multiple of the heads, num_hidden_layers 1e8, and not JSON', () => {
  const config = (edit: (c: Record<string, unknown>) => void) => (d: string) => fx.editJson(join(d, 'config.json'), edit);
  refusedModel('vocab0', config((c) => (c.vocab_size = 0)), /config\.json: vocab_size: must be a whole number > 0, got 0/);
  refusedModel('heads', config((c) => (c.hidden_size = 66)), /config\.json: head_dim: is missing and hidden_size \(66\) is not a multiple of num_attention_heads \(4\)/);
  refusedModel('layers', config((c) => (c.num_hidden_layers = 1e8)), /config\.json: num_hidden_layers: must be at most 1024, got 100000000/);
  refusedModel('layers3', config((c) => (c.num_hidden_layers = 3)), /weights do not match config\.json: tensor "model\.layers\.2\./);
  refusedModel('notjson', (d) => writeFileSync(join(d, 'config.json'), '{"architectures": ["Qwen2ForCausalLM"],'), /config\.json: is not valid JSON/);
  refusedModel('noconfig', (d) => renameSync(join(d, 'config.json'), join(d, 'config.json.bak')), /config\.json/, /(not found|no config\.json)/);
});

test('a file, or a missing path, as the model folder is named', () => {
  expectOutcome(trainWith(fx.data), 1, /model: .*data\.jsonl/);
  expectOutcome(trainWith(join(fx.root, 'nowhere')), 1, /model: folder not found: .*nowhere/);
  expectOutcome(cli(['generate', '--model', fx.data, '--prompt', 'hi']), 1, /model folder not found: .*data\.jsonl/);
});

test('a tokenizer.json that is not JSON, or with its vocabulary gutted, is refused naming tokenizer.json', () => {
  refusedModel('tokjson', (d) => writeFileSync(join(d, 'tokenizer.json'), '{"model": {"vocab": '), /tokenizer\.json/);
  refusedModel('gutted', (d) => fx.editJson(join(d, 'tokenizer.json'), (t) => {
    const model = t.model as { vocab: Record<string, number>; merges: unknown[] };
    model.vocab = Object.fromEntries(Object.entries(model.vocab).slice(0, 5));
    model.merges = [];
  }), /tokenizer\.json/, /vocab/i);
});

test('a config.json that is a symlink out of the model folder is refused', () => {
  writeFileSync(join(fx.root, 'elsewhere.json'), readFileSync(join(fx.model, 'config.json')));
  refusedModel('link', (d) => {
    renameSync(join(d, 'config.json'), join(d, 'config.orig'));
    symlinkSync(join(fx.root, 'elsewhere.json'), join(d, 'config.json'));
  }, /config\.json/, /(link|outside)/i);
});

test('a Hugging Face cache snapshot (files linked to ../../blobs) trains: the layout the hub itself makes (exit 0)', () => {
  const cache = join(fx.root, 'hub', 'models--tiny');
  mkdirSync(join(cache, 'blobs'), { recursive: true });
  mkdirSync(join(cache, 'snapshots', 'abc123'), { recursive: true });
  for (const name of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    writeFileSync(join(cache, 'blobs', `blob-${name}`), readFileSync(join(fx.model, name)));
    symlinkSync(`../../blobs/blob-${name}`, join(cache, 'snapshots', 'abc123', name));
  }
  expectOutcome(trainWith(join(cache, 'snapshots', 'abc123')), 0, /done after 2 steps/);
});

test('a chat template looping 1e9 times, or nested loops, ends with a located error in bounded time', () => {
  const template = (body: string) => (d: string) => fx.editJson(join(d, 'tokenizer_config.json'), (t) => (t.chat_template = body));
  const started = Date.now();
  refusedModel('range', template('{% for i in range(1000000000) %}x{% endfor %}'), /tokenizer_config\.json: chat_template/);
  refusedModel('nested', template('{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}'), /tokenizer_config\.json: chat_template/);
  assert.ok(Date.now() - started < 100_000, 'both end within the template budget, not the case limit');
});

test('--allow-outside-links trains on a model whose weights are a link out of the folder (exit 0)', () => {
  writeFileSync(join(fx.root, 'weights-elsewhere.safetensors'), readFileSync(join(fx.model, 'model.safetensors')));
  const dir = fx.copyModel('linked-weights', (d) => {
    renameSync(join(d, 'model.safetensors'), join(d, 'weights.orig'));
    symlinkSync(join(fx.root, 'weights-elsewhere.safetensors'), join(d, 'model.safetensors'));
  });
  expectOutcome(trainWith(dir), 1, /model\.safetensors/, /--allow-outside-links/);
  expectOutcome(trainWith(dir, '--allow-outside-links'), 0, /done after 2 steps/);
});

test('a chat template cannot read files or the environment: include is refused, process and Python internals render empty', () => {
  const template = (body: string) => (d: string) => fx.editJson(join(d, 'tokenizer_config.json'), (t) => (t.chat_template = body));
  refusedModel('include', template("{% include '/etc/passwd' %}{{ messages[0]['content'] }}"), /tokenizer_config\.json: chat_template: .*include/);
  const probing = fx.copyModel('probing', template("{{ process.env.HOME }}{{ cycler.__init__.__globals__ }}{{ ''.__class__ }}x"));
  const result = cli(['generate', '--model', probing, '--device', 'cpu', '--instruction', 'hi', '--max-new-tokens', '1', '--json']);
  expectOutcome(result, 0);
  const { prompt_tokens } = JSON.parse(result.stdout) as { prompt_tokens: number[] };
  assert.equal(prompt_tokens.length, 1, 'the prompt is the template\'s "x" alone: nothing from the process leaked into it');
});
