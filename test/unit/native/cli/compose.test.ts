// lora-studio compose (native/cli/compose.ts): NDJSON with --json (the lines the extension parses), text progress on
// stderr without it, an error line before a failure, and flags checked before any work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../../fixtures/tiny-model/index';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { resolveTargets } from '../../../../native/model/lora';
import { writePeftAdapter } from '../../../../native/model/peft-io';
import { composeCommand, composeQuantization, type ComposeFlags } from '../../../../native/cli/compose';
import { buildProgram } from '../../../../native/cli';
import { parseComposeLine, type ComposeEvent } from '../../../../native/train/compose-events';
import { mulberry32 } from '../../../../native/util/random';
import { UserError } from '../../../../native/util/errors';
import { writeJsonAtomic } from '../../../../native/util/atomic-write';

const root = mkdtempSync(join(tmpdir(), 'compose-cli-'));
const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS.Qwen2ForCausalLM, dtype: 'float32', seed: 2 }).dir;
const data = join(root, 'few.jsonl');
writeFileSync(data, '{"instruction":"Add the two numbers.","input":"2 and 3","output":"5"}\n{"instruction":"Is 7 prime?","output":"Yes."}\n');
const targets = resolveTargets(loadModelFolder(model).config, ['q_proj', 'v_proj']);
const adapters = [1, 2].map((seed) => {
  const random = mulberry32(seed);
  const values = (n: number) => Float32Array.from({ length: n }, () => (random() - 0.5) * 0.2);
  const dir = join(root, `adapter-${seed}`);
  writePeftAdapter(dir, { config: { r: 2, lora_alpha: 4, lora_dropout: 0, use_rslora: false, use_dora: false }, baseModel: model, targets, weights: new Map(targets.map((t) => [t.baseName, { A: values(2 * t.in), B: values(t.out * 2) }])), dtype: 'float32' });
  return dir;
});
const flags = (over: Partial<ComposeFlags>): ComposeFlags => ({ model, adapters: adapters.join(','), data, out: join(root, 'out'), steps: '4', l1: '0.05', seed: '0', maxSeqLen: '64', device: 'cpu', ...over });

async function run(f: ComposeFlags): Promise<{ stdout: string; stderr: string; error?: unknown }> {
  let stdout = '', stderr = '';
  try {
    await composeCommand(f, (l) => { stdout += l; }, (l) => { stderr += l; });
    return { stdout, stderr };
  } catch (error) {
    return { stdout, stderr, error };
  }
}

test('compose --json: status lines, a step line per evaluation, then done — every line an event the extension parses', async () => {
  const { stdout, stderr, error } = await run(flags({ json: true, out: join(root, 'json') }));
  assert.equal(error, undefined);
  assert.equal(stderr, '');
  const events = stdout.trim().split('\n').map((line) => parseComposeLine(line));
  assert.ok(events.every((e) => e !== undefined), stdout);
  const typed = events as ComposeEvent[];
  assert.deepEqual(typed.filter((e) => e.type === 'step').map((e) => (e as { step: number }).step), [1, 2, 3, 4]);
  const done = typed.at(-1)!;
  assert.equal(done.type, 'done');
  assert.equal((done as { out: string }).out, join(root, 'json'));
});

test('compose without --json: progress on stderr, the result on stdout', async () => {
  const { stdout, stderr, error } = await run(flags({ out: join(root, 'text') }));
  assert.equal(error, undefined);
  assert.match(stderr, /^step 1\/4: loss \d+\.\d{4} at \[0\.000, 0\.000\] · best/m);
  assert.match(stderr, /^step 4\/4: /m);
  assert.match(stdout, /^composed adapter written to .*text: weights \[.*\], few-shot loss \d+\.\d{4} \(uniform weights \d+\.\d{4}, base model \d+\.\d{4}\)\n$/);
});

test('compose --json: a failure is an error line, then the error (for the exit code)', async () => {
  const { stdout, error } = await run(flags({ json: true, adapters: adapters[0] }));
  assert.ok(error instanceof UserError);
  assert.deepEqual(parseComposeLine(stdout.trim().split('\n').at(-1)!), { type: 'error', message: error.message });
  assert.match(error.message, /at least two adapters, got 1/);
});

test('compose: bad flags are refused with the flag named', async () => {
  for (const [over, pattern] of [
    [{ device: 'gpu' }, /--device must be auto, cpu, cuda or cuda:N, got "gpu"/],
    [{ seed: '1.5' }, /--seed must be a whole number from 0 to 4,294,967,295, got "1\.5"/],
    [{ steps: 'many' }, /--steps must be a number, got "many"/],
    [{ steps: '1' }, /--steps must be a whole number ≥ 2, got 1/],
    [{ l1: '-1' }, /--l1 must be a number ≥ 0, got -1/],
    [{ maxSeqLen: '0' }, /--max-seq-len must be a whole number ≥ 2, got "0"/],
    [{ maxSeqLen: '5000' }, /--max-seq-len 5000 is past the 4096 positions .* — pass --max-seq-len 4096 or less/],
  ] as const) {
    const { error } = await run(flags(over));
    assert.ok(error instanceof UserError && pattern.test(error.message), `${JSON.stringify(over)}: ${error}`);
  }
});

test('compose is a subcommand of lora-studio, its required flags marked and its defaults LoRAHub\'s', () => {
  const compose = buildProgram().commands.find((c) => c.name() === 'compose');
  assert.ok(compose, 'registered in native/cli.ts');
  const option = (long: string) => compose.options.find((o) => o.long === long)!;
  for (const flag of ['--model', '--adapters', '--data', '--out']) assert.equal(option(flag).mandatory, true, flag);
  assert.equal(option('--steps').defaultValue, '40');
  assert.equal(option('--l1').defaultValue, '0.05');
});

test('compose --quantization: given, it is used; absent, NF4 when every adapter comes from a QLoRA run, else the stored weights', () => {
  const notes: string[] = [];
  const note = (text: string) => notes.push(text);
  assert.equal(composeQuantization('nf4', adapters, note), 'nf4');
  assert.throws(() => composeQuantization('int8', adapters, note), /--quantization must be none or nf4, got "int8"/);
  assert.equal(composeQuantization(undefined, adapters, note), 'none', 'adapters from elsewhere');
  assert.deepEqual(notes, []);
  const qlora = [1, 2].map((i) => {
    const dir = join(root, `qlora-run-${i}`);
    writeJsonAtomic(join(dir, 'training_config.json'), { quantization: 'nf4' });
    return dir;
  });
  assert.equal(composeQuantization(undefined, qlora, note), 'nf4');
  assert.match(notes.pop()!, /trained on the NF4 base \(QLoRA\): the few-shot loss uses it too/);
  assert.equal(composeQuantization(undefined, [qlora[0], adapters[0]], note), 'none');
  assert.match(notes.pop()!, /some adapters were trained on the NF4 base, some not/);
});

test('compose --quantization nf4: the loss runs on the base\'s NF4 copy (another loss than the stored weights\'), recorded in lorahub.json', async () => {
  process.env.LORA_STUDIO_CACHE = join(root, 'nf4-cache');
  try {
    const lines = async (quantization: string, out: string) => {
      const { stdout, error } = await run(flags({ json: true, quantization, out: join(root, out), steps: '2' }));
      assert.equal(error, undefined);
      return stdout.trim().split('\n').map((l) => parseComposeLine(l)!);
    };
    const done = (events: ComposeEvent[]) => events.at(-1) as Extract<ComposeEvent, { type: 'done' }>;
    const nf4 = await lines('nf4', 'nf4'), stored = await lines('none', 'stored');
    assert.ok(nf4.some((e) => e.type === 'status' && /NF4 copy of the base/.test(e.message)));
    assert.ok(Number.isFinite(done(nf4).base_loss));
    assert.notEqual(done(nf4).base_loss, done(stored).base_loss);
    assert.ok(Math.abs(done(nf4).base_loss - done(stored).base_loss) < 0.5, 'NF4 is close to the stored weights');
    assert.equal(JSON.parse(readFileSync(join(root, 'nf4', 'lorahub.json'), 'utf8')).quantization, 'nf4');
  } finally {
    delete process.env.LORA_STUDIO_CACHE;
  }
});

test('compose: when no weighting beats the base model, the empty result (all weights 0) is said, not only written', async () => {
  // An L1 penalty far above any loss difference the adapters make: every nonzero weight loses to w = 0.
  const { stdout, stderr, error } = await run(flags({ l1: '100', out: join(root, 'empty'), steps: '3' }));
  assert.equal(error, undefined);
  assert.match(stdout, /weights \[0\.000, 0\.000\]/);
  assert.match(stderr, /no weighting of these adapters beat the base model on these examples in 3 evaluations: the composed adapter is empty/);
});
