// Tests native/export/cluster/: every key a cluster export writes is one its trainer accepts — Axolotl's schema,
// LLaMA-Factory's arguments and dataset_info.json, TRL's SFTConfig, PEFT's LoraConfig, transformers'
// BitsAndBytesConfig, accelerate's config file and launch options, DeepSpeed's keys as LLaMA-Factory ships them — taken
// from their sources into test/fixtures/cluster-schemas/ (extract.py, with the commit or version); every setting of the
// run is carried over or listed in the README; the YAML reads back in PyYAML as written and train.py parses in Python.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../../../../native/protocol';
import type { DatasetRecord } from '../../../../../native/data/records';
import { buildClusterExport, CLUSTER_TRAINERS, PARALLELISMS, type ClusterExportInput } from '../../../../../native/export/cluster/bundle';
import { axolotlConfig } from '../../../../../native/export/cluster/axolotl';
import { llamafactoryConfig } from '../../../../../native/export/cluster/llamafactory';
import { accelerateFsdpConfig } from '../../../../../native/export/cluster/parallel';
import type { YamlValue } from '../../../../../native/export/cluster/yaml';

const SCHEMAS = 'test/fixtures/cluster-schemas';
const schema = (name: string) => JSON.parse(readFileSync(join(SCHEMAS, `${name}.json`), 'utf8'));
const axolotl = schema('axolotl');
const lf = schema('llamafactory');
const trl = schema('trl');
const accelerate = schema('accelerate');
const deepspeed = schema('deepspeed');

const base: RunConfig = { ...DEFAULT_RUN_OPTIONS, model: '/models/qwen', data: '/data/train.jsonl', out: '/runs/x' };
/** Run configs that together use every method and option the mapping treats specially. */
const VARIANTS: Record<string, RunConfig> = {
  plain: base,
  'qlora+dora+rslora+lora+': { ...base, quantization: 'nf4', use_dora: true, use_rslora: true, loraplus_lr_ratio: 16, target_modules: 'all-linear', precision: 'fp16', max_steps: 500, eval_every: 50, save_every: 0, save_total_limit: 0 },
  pissa: { ...base, init_lora_weights: 'pissa_niter_4', eval_split: 0.1, train_on_prompt: true, lr_scheduler_type: 'constant' },
  olora: { ...base, init_lora_weights: 'olora', precision: 'fp32' },
  relora: { ...base, relora_steps: 100, relora_prune: 0.9, relora_warmup_steps: 10, lr_scheduler_type: 'cosine' },
  adalora: { ...base, method: 'adalora', init_r: 12, target_r: 4, tinit: 10, tfinal: 10, deltaT: 5, total_step: 200 },
  'long-context': { ...base, max_seq_len: 65536, allow_long_context: true },
};

const records: DatasetRecord[] = [
  { format: 'alpaca', instruction: 'Translate to Spanish', input: 'good morning', output: 'buenos días', system: 'Be brief.' },
  { format: 'chat', messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: 'Bye' }, { role: 'assistant', content: 'Adiós.' }] },
];

/** Without a chat template only alpaca records can be exported (as LoRA Studio trains only those then). */
function build(trainer: ClusterExportInput['trainer'], parallelism: ClusterExportInput['parallelism'], config: RunConfig, hasChatTemplate = true) {
  const train = hasChatTemplate ? records : records.slice(0, 1);
  return buildClusterExport({ trainer, parallelism, config, model: { name: 'Qwen/Qwen2.5-0.5B', isPath: false, hasChatTemplate }, train, eval: config.eval_split > 0 ? train.slice(0, 1) : [], source: '/runs/x' });
}

function notAccepted(keys: Iterable<string>, accepted: readonly string[]): string[] {
  const set = new Set(accepted);
  return [...keys].filter((key) => !set.has(key));
}

function jsonPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, sub]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...jsonPaths(sub, path)];
  });
}

test('the fixtures name where the field names come from', () => {
  assert.match(axolotl.source.commit, /^[0-9a-f]{40}$/);
  assert.equal(axolotl.source.repo, 'axolotl-ai-cloud/axolotl');
  assert.match(lf.source.commit, /^[0-9a-f]{40}$/);
  assert.ok(trl.source.trl && trl.source.transformers && trl.source.peft && accelerate.source.accelerate);
  // The fields the mapping relies on most are there (a broken extraction would list nothing).
  for (const key of ['base_model', 'lora_r', 'peft_use_dora', 'load_in_4bit', 'loraplus_lr_ratio', 'sequence_len']) assert.ok(axolotl.config.includes(key), key);
  for (const key of ['lora_rank', 'cutoff_len', 'per_device_train_batch_size', 'deepspeed']) assert.ok(lf.arguments.includes(key), key);
  for (const key of ['max_length', 'completion_only_loss', 'learning_rate']) assert.ok(trl.sft_config.includes(key), key);
});

test('Axolotl: every key of config.yaml, its datasets and its FSDP options is in Axolotl\'s schema', () => {
  for (const [name, config] of Object.entries(VARIANTS)) {
    for (const parallelism of PARALLELISMS) {
      for (const hasChatTemplate of [true, false]) {
        if (!hasChatTemplate && name !== 'plain') continue;
        const { yaml } = axolotlConfig({ config, model: 'm', shape: hasChatTemplate ? 'messages' : 'alpaca', parallelism, hasEval: config.eval_split > 0 });
        assert.deepEqual(notAccepted(Object.keys(yaml), axolotl.config), [], `${name}/${parallelism}`);
        for (const list of [yaml.datasets, yaml.test_datasets ?? []] as { [k: string]: YamlValue }[][]) {
          for (const dataset of list) assert.deepEqual(notAccepted(Object.keys(dataset), axolotl.dataset), [], `${name} dataset`);
        }
        if (yaml.fsdp_config) assert.deepEqual(notAccepted(Object.keys(yaml.fsdp_config as object), axolotl.fsdp_config), [], name);
      }
    }
  }
});

test('LLaMA-Factory: every key of config.yaml is an argument it parses; dataset_info.json uses its keys, columns and tags', () => {
  for (const [name, config] of Object.entries(VARIANTS)) {
    for (const parallelism of PARALLELISMS) {
      for (const hasChatTemplate of [true, false]) {
        const shape = hasChatTemplate ? 'messages' : 'alpaca';
        const { yaml } = llamafactoryConfig({ config, model: 'm', shape, parallelism, hasEval: true });
        assert.deepEqual(notAccepted(Object.keys(yaml), lf.arguments), [], `${name}/${parallelism}`);
        const info = JSON.parse(build('llamafactory', parallelism, { ...config, eval_split: 0.5 }, hasChatTemplate).files['data/dataset_info.json']);
        for (const entry of Object.values(info) as Record<string, Record<string, string>>[]) {
          assert.deepEqual(notAccepted(Object.keys(entry), lf.dataset_info.entry), []);
          assert.deepEqual(notAccepted(Object.keys(entry.columns ?? {}), lf.dataset_info.columns), []);
          assert.deepEqual(notAccepted(Object.keys(entry.tags ?? {}), lf.dataset_info.tags), []);
        }
      }
    }
  }
});

test('TRL: train_config.json\'s sft, lora and bnb keys are SFTConfig, LoraConfig and BitsAndBytesConfig fields', () => {
  for (const [name, config] of Object.entries(VARIANTS)) {
    for (const parallelism of PARALLELISMS) {
      const settings = JSON.parse(build('trl', parallelism, config).files['train_config.json']);
      assert.deepEqual(notAccepted(Object.keys(settings.sft), trl.sft_config), [], `${name}/${parallelism} sft`);
      assert.deepEqual(notAccepted(Object.keys(settings.lora), trl.lora_config), [], `${name} lora`);
      if (settings.bnb) assert.deepEqual(notAccepted(Object.keys(settings.bnb), trl.bits_and_bytes_config), [], `${name} bnb`);
      // The script reads these and nothing else at the top level.
      assert.deepEqual(Object.keys(settings).sort(), ['bnb', 'convert_residual_adapter', 'eval_file', 'lora', 'loraplus_lr_ratio', 'model', 'sft', 'train_file']);
      assert.equal(settings.bnb !== null, config.quantization === 'nf4');
    }
  }
});

test('DeepSpeed JSON keys, the accelerate FSDP config and the launch scripts\' accelerate options are known to them', () => {
  for (const trainer of CLUSTER_TRAINERS) {
    for (const parallelism of PARALLELISMS) {
      const files = build(trainer, parallelism, base).files;
      if (files['deepspeed.json']) assert.deepEqual(notAccepted(jsonPaths(JSON.parse(files['deepspeed.json'])), deepspeed.paths), [], `${trainer}/${parallelism}`);
      assert.equal('deepspeed.json' in files, parallelism === 'zero2' || parallelism === 'zero3');
      for (const script of ['launch.sh', 'launch-multinode.sh']) {
        for (const line of files[script].split('\n').filter((l) => l.startsWith('accelerate launch'))) {
          const options = [...line.matchAll(/ --([a-z_]+)/g)].map((m) => m[1]);
          assert.deepEqual(notAccepted(options, accelerate.launch_options), [], line);
        }
      }
      assert.match(files['launch-multinode.sh'], /MASTER_ADDR[\s\S]*NNODES[\s\S]*NODE_RANK[\s\S]*MASTER_PORT/);
    }
  }
  const fsdp = accelerateFsdpConfig('bf16');
  assert.deepEqual(notAccepted(Object.keys(fsdp), accelerate.config_file), []);
  assert.deepEqual(notAccepted(Object.keys(fsdp.fsdp_config as object), accelerate.launch_options), []);
});

test('every setting of the run is carried over or listed with its reason in the README, per trainer', () => {
  const expectUnmapped: Record<string, Record<string, string[]>> = {
    axolotl: { relora: [], adalora: ['method', 'init_r', 'target_r', 'tinit', 'tfinal', 'deltaT', 'total_step'], olora: [], 'long-context': ['allow_long_context'] },
    llamafactory: { relora: ['relora_steps', 'relora_prune', 'relora_warmup_steps'], adalora: ['method', 'init_r', 'target_r', 'tinit', 'tfinal', 'deltaT', 'total_step'], olora: ['init_lora_weights'], 'long-context': ['allow_long_context'] },
    trl: { relora: ['relora_steps', 'relora_prune', 'relora_warmup_steps'], adalora: ['method', 'init_r', 'target_r', 'tinit', 'tfinal', 'deltaT', 'total_step'], olora: [], 'long-context': ['allow_long_context'] },
  };
  for (const trainer of CLUSTER_TRAINERS) {
    for (const [name, config] of Object.entries(VARIANTS)) {
      const result = build(trainer, 'zero2', config);
      const fields = result.unmapped.map((u) => u.field).sort();
      // device and save_dtype never map; the rest as expected for the variant.
      assert.deepEqual(fields, ['device', 'save_dtype', ...(expectUnmapped[trainer][name] ?? [])].sort(), `${trainer}/${name}`);
      for (const u of result.unmapped) assert.ok(result.files['README.md'].includes(`| \`${u.field}\` |`), `${trainer}/${name}: README lists ${u.field}`);
      assert.ok(!result.unmapped.some((u) => u.why.startsWith('no equivalent')), `${trainer}/${name}: a field nobody mapped: ${JSON.stringify(result.unmapped)}`);
    }
  }
  // A run past the model's positions: the README says so, with the length the trainer is given.
  const readme = build('axolotl', 'zero2', VARIANTS['long-context']).files['README.md'];
  assert.match(readme, /\| `allow_long_context` \| `true` \| the trainers have no such switch: max_seq_len 65536 is passed as it is, past the model's max_position_embeddings/);
});

test('the mapping carries the numbers: rank, alpha, schedule, batch, length, steps, eval and save cadence', () => {
  const config = VARIANTS['qlora+dora+rslora+lora+'];
  const ax = axolotlConfig({ config, model: 'm', shape: 'messages', parallelism: 'fsdp', hasEval: true }).yaml;
  assert.deepEqual([ax.adapter, ax.load_in_4bit, ax.lora_r, ax.lora_alpha, ax.lora_target_linear, ax.peft_use_dora, ax.peft_use_rslora, ax.loraplus_lr_ratio], ['qlora', true, 8, 16, true, true, true, 16]);
  assert.deepEqual([ax.max_steps, ax.eval_steps, ax.save_strategy, ax.save_total_limit, ax.fp16, ax.fsdp_version], [500, 50, 'no', undefined, true, 2]);
  const lfy = llamafactoryConfig({ config: VARIANTS.pissa, model: 'm', shape: 'messages', parallelism: 'zero3', hasEval: true }).yaml;
  assert.deepEqual([lfy.pissa_init, lfy.pissa_iter, lfy.pissa_convert, lfy.lr_scheduler_type, lfy.train_on_prompt, lfy.deepspeed], [true, 4, true, 'constant_with_warmup', true, 'deepspeed.json']);
  const settings = JSON.parse(build('trl', 'zero3', config).files['train_config.json']);
  assert.deepEqual([settings.lora.r, settings.lora.target_modules, settings.lora.use_dora, settings.loraplus_lr_ratio, settings.bnb.bnb_4bit_quant_storage], [8, 'all-linear', true, 16, 'float16']);
  assert.deepEqual([settings.sft.max_length, settings.sft.completion_only_loss, settings.sft.per_device_train_batch_size], [512, true, 4]);
  const relora = axolotlConfig({ config: VARIANTS.relora, model: 'm', shape: 'messages', parallelism: 'ddp', hasEval: false }).yaml;
  assert.deepEqual([relora.relora, relora.jagged_restart_steps, relora.jagged_restart_warmup_steps, relora.relora_prune_ratio], [true, 100, 10, 0.9]);
});

test('records become the text LoRA Studio trains on: conversations with a chat template, Alpaca prompts without', () => {
  const chat = build('axolotl', 'ddp', base).files['data/train.jsonl'].trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(chat[0].messages, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Translate to Spanish\n\ngood morning' }, { role: 'assistant', content: 'buenos días' }]);
  const trlLines = build('trl', 'ddp', base);
  const split = JSON.parse(trlLines.files['data/train.jsonl'].split('\n')[1]);
  assert.deepEqual([split.prompt.length, split.completion], [3, [{ role: 'assistant', content: 'Adiós.' }]]);
  assert.ok(trlLines.notes.some((n) => n.includes('1 conversation(s)')));
  const alpaca = buildClusterExport({ trainer: 'trl', parallelism: 'ddp', config: base, model: { name: 'm', isPath: true, hasChatTemplate: false }, train: records.slice(0, 1), eval: [], source: 's' });
  assert.match(JSON.parse(alpaca.files['data/train.jsonl']).prompt, /^Be brief\.\n\nBelow is an instruction[\s\S]*### Input:\ngood morning\n\n### Response:\n$/);
  assert.throws(() => buildClusterExport({ trainer: 'axolotl', parallelism: 'ddp', config: base, model: { name: 'm', isPath: true, hasChatTemplate: false }, train: records, eval: [], source: 's' }), /no chat template/);
});

const hasPython = spawnSync('python3', ['-c', 'import ast'], { encoding: 'utf8' });
const hasYaml = spawnSync('python3', ['-c', 'import yaml'], { encoding: 'utf8' });
const why = (run: ReturnType<typeof spawnSync>) => String(run.stderr || run.error?.message || '').trim().split('\n').pop();

/** Runs python3 on the export's files: .py files are parsed (ast), .yaml files loaded with PyYAML and returned. */
function checkInPython(files: Record<string, string>, label: string, withYaml: boolean): Record<string, unknown> {
  const chosen = Object.keys(files).filter((f) => f.endsWith('.py') || (withYaml && f.endsWith('.yaml')));
  const script = 'import ast, json, sys\nfiles = json.load(sys.stdin)\nout = {}\nfor name, text in files.items():\n    if name.endswith(".py"):\n        ast.parse(text, filename=name)\n    else:\n        import yaml\n        out[name] = yaml.safe_load(text)\nprint(json.dumps(out))\n';
  const run = spawnSync('python3', ['-c', script], { input: JSON.stringify(Object.fromEntries(chosen.map((f) => [f, files[f]]))), encoding: 'utf8' });
  assert.equal(run.status, 0, `${label}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

test('train.py (TRL) and lf_train.py (LLaMA-Factory with FSDP) parse as Python', (t) => {
  if (hasPython.status !== 0) {
    t.skip(`python3 is not available (${why(hasPython)}); the Python syntax check needs it`);
    return;
  }
  checkInPython(build('trl', 'zero3', base).files, 'trl', false);
  const lfFiles = build('llamafactory', 'fsdp', base).files;
  assert.ok('lf_train.py' in lfFiles);
  checkInPython(lfFiles, 'llamafactory', false);
});

test('config.yaml and accelerate.yaml read back in PyYAML (as Axolotl and LLaMA-Factory read them) as the values written', (t) => {
  if (hasYaml.status !== 0) {
    t.skip(`python3 with PyYAML is not available (${why(hasYaml)}); the YAML read-back needs it`);
    return;
  }
  const small = { ...base, learning_rate: 1e-5, weight_decay: 1e-7, lora_dropout: 0.1 };
  const ax = checkInPython(build('axolotl', 'fsdp', small).files, 'axolotl', true);
  const expected = axolotlConfig({ config: small, model: 'Qwen/Qwen2.5-0.5B', shape: 'messages', parallelism: 'fsdp', hasEval: false }).yaml;
  assert.deepEqual(ax['config.yaml'], JSON.parse(JSON.stringify(expected)));
  assert.equal(typeof (ax['config.yaml'] as { weight_decay: unknown }).weight_decay, 'number', '1e-7 is a float in YAML 1.1 (written 1.0e-07)');
  const lfy = checkInPython(build('llamafactory', 'fsdp', VARIANTS['qlora+dora+rslora+lora+']).files, 'llamafactory', true);
  assert.equal((lfy['accelerate.yaml'] as { distributed_type: string }).distributed_type, 'FSDP');
  assert.equal((lfy['config.yaml'] as { lora_target: string }).lora_target, 'all');
});
