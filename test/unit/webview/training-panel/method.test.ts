// Tests of webview/training-panel/method.ts (with form.ts): the config each Method choice sends, the method a config
// shows, and where validation problems land.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../../../native/protocol';
import { validateRunConfig } from '../../../../native/train/config';
import { formFromConfig, mergePreset, problemsByField, validateForm, type FormValues } from '../../../../webview/training-panel/form';
import {
  adaptsModules, applyMethod, fieldShown, formForMethod, initOptions, METHOD_FIELDS, methodOfConfig, methodOfOldForm, PANEL_METHODS, problemField, type PanelMethod,
} from '../../../../webview/training-panel/method';

const paths = { model: '/models/qwen', data: '/w/train.jsonl', out: '/w/.lora-studio/runs/x' };
const filled = () => formFromConfig(paths);
const choose = (method: PanelMethod, form: FormValues = filled()) => validateForm(formForMethod(form, method));
const methodKeys = (c: Partial<RunConfig>) => Object.keys(c).filter((k) => Object.values(METHOD_FIELDS).flat().includes(k as keyof RunConfig)).sort();

test('eight methods, each with a one-line explanation', () => {
  assert.deepEqual(PANEL_METHODS.map((m) => m.label), ['LoRA', 'DoRA', 'PiSSA-initialized LoRA', 'AdaLoRA', 'ReLoRA', 'Prompt tuning', 'Prefix tuning', 'LISA']);
  for (const m of PANEL_METHODS) assert.ok(m.help.length > 20 && !m.help.includes('\n'), m.value);
});

test('LISA sends method lisa with its layers and period (the paper\'s defaults filled in), dropout 0, and shows no LoRA field', () => {
  const { config, problems } = choose('lisa');
  assert.deepEqual(problems, []);
  assert.equal(config.method, 'lisa');
  assert.equal(config.lisa_layers, 2);
  assert.equal(config.lisa_period, 20);
  assert.equal(config.lora_dropout, 0);
  assert.deepEqual(methodKeys(config), ['lisa_layers', 'lisa_period']);
  assert.deepEqual(validateRunConfig({ ...DEFAULT_RUN_OPTIONS, ...config } as RunConfig), []);
  for (const key of ['r', 'lora_alpha', 'use_rslora', 'num_virtual_tokens']) assert.equal(fieldShown(key, 'lisa'), false, key);
  assert.equal(fieldShown('lisa_layers', 'lisa'), true);
  assert.equal(fieldShown('lisa_layers', 'lora'), false);
  assert.equal(adaptsModules('lisa'), false);
  assert.equal(methodOfConfig(config), 'lisa');
});

test('LoRA sends the defaults: method lora, use_dora false, no other method\'s keys', () => {
  const { config, problems } = choose('lora');
  assert.deepEqual(problems, []);
  assert.deepEqual(config, { ...DEFAULT_RUN_OPTIONS, ...paths });
});

test('DoRA sends use_dora: true and nothing else of another method', () => {
  const { config, problems } = choose('dora');
  assert.deepEqual(problems, []);
  assert.equal(config.use_dora, true);
  assert.equal(config.method, 'lora');
  assert.deepEqual(methodKeys(config), []);
});

test('PiSSA sends init_lora_weights: pissa_niter_4 by default, or the chosen pissa / olora', () => {
  const { config, problems } = choose('pissa');
  assert.deepEqual(problems, []);
  assert.equal(config.init_lora_weights, 'pissa_niter_4');
  assert.equal(config.use_dora, false);
  for (const init of ['pissa', 'olora', 'pissa_niter_16'] as const) {
    const form = { ...formForMethod(filled(), 'pissa'), init_lora_weights: init };
    assert.equal(validateForm(form).config.init_lora_weights, init);
  }
  assert.deepEqual(initOptions('pissa').map((o) => o.value), ['pissa_niter_4', 'pissa', 'olora']);
  assert.deepEqual(initOptions('pissa_niter_16').map((o) => o.value), ['pissa_niter_4', 'pissa', 'olora', 'pissa_niter_16']);
});

test('ReLoRA sends relora_steps / relora_prune / relora_warmup_steps, started at four cycles of max_steps (else 200) and a tenth for warmup', () => {
  const { config, problems } = choose('relora');
  assert.deepEqual(problems, []);
  assert.deepEqual([config.relora_steps, config.relora_prune, config.relora_warmup_steps], [200, 0.99, 20]);
  const bounded = choose('relora', { ...filled(), max_steps: '100' }).config;
  assert.deepEqual([bounded.relora_steps, bounded.relora_warmup_steps], [25, 2]);
  // Typed values are kept when switching back and forth.
  const typed = { ...formForMethod(filled(), 'relora'), relora_steps: '50', relora_warmup_steps: '5' };
  assert.equal(validateForm(formForMethod(formForMethod(typed, 'lora'), 'relora')).config.relora_steps, 50);
  // Without relora_steps ReLoRA would silently be LoRA: required.
  const empty = validateForm({ ...formForMethod(filled(), 'relora'), relora_steps: '' });
  assert.match(problemsByField(empty.problems).get('relora_steps')?.[0] ?? '', /is required for ReLoRA/);
});

test('AdaLoRA sends method adalora with PEFT\'s defaults filled in; init_r replaces r (sent as r too) and rsLoRA is off', () => {
  const form = { ...filled(), use_rslora: true, r: '32' };
  const { config, problems } = choose('adalora', form);
  assert.deepEqual(problems, []);
  assert.equal(config.method, 'adalora');
  assert.deepEqual([config.init_r, config.target_r, config.tinit, config.tfinal, config.deltaT, config.beta1, config.beta2, config.orth_reg_weight],
    [12, 8, 0, 0, 1, 0.85, 0.85, 0.5]);
  assert.equal(config.total_step, undefined, 'empty: the run\'s own steps');
  assert.equal(config.r, 12);
  assert.equal(config.use_rslora, false);
  assert.equal(config.use_dora, false);
  // r is neither shown nor read: junk in it does not block AdaLoRA, and comes back when LoRA is chosen again.
  const junk = formForMethod({ ...form, r: 'x' }, 'adalora');
  assert.deepEqual(validateForm(junk).problems, []);
  assert.equal(validateForm({ ...junk, init_r: '16' }).config.r, 16);
  assert.equal(fieldShown('r', 'adalora'), false);
  assert.equal(fieldShown('use_rslora', 'adalora'), false);
  assert.equal(fieldShown('init_r', 'adalora'), true);
  assert.equal(fieldShown('init_r', 'lora'), false);
  assert.equal(fieldShown('learning_rate', 'relora'), true);
});

test('another method\'s text is neither read nor sent', () => {
  const form = { ...formForMethod(filled(), 'adalora'), init_r: 'junk', relora_steps: 'junk', init_lora_weights: 'olora', method: 'dora' };
  const { config, problems } = validateForm(form);
  assert.deepEqual(problems, []);
  assert.equal(config.use_dora, true);
  assert.deepEqual(methodKeys(config), []);
});

test('a config shows the method it trains: each choice round-trips through training_config.json', () => {
  for (const method of PANEL_METHODS.map((m) => m.value)) {
    const { config } = choose(method);
    assert.equal(methodOfConfig(config), method);
    const reopened = formFromConfig(JSON.parse(JSON.stringify(config)) as RunConfig);
    assert.equal(reopened.method, method);
    assert.deepEqual(validateForm(reopened).config, config, method);
  }
  assert.equal(methodOfConfig({ init_lora_weights: 'olora' }), 'pissa');
  // A run written by the CLI with absent AdaLoRA fields shows PEFT's defaults.
  const cli = formFromConfig({ ...paths, method: 'adalora', init_r: 6 });
  assert.deepEqual([cli.method, cli.init_r, cli.target_r, cli.deltaT], ['adalora', '6', '8', '1']);
});

test('validation problems land on the field that shows them; keys with no control land on the selector', () => {
  const ada = formForMethod(filled(), 'adalora');
  assert.deepEqual(validateForm({ ...ada, target_r: '20' }).problems.map((p) => p.field), ['target_r']);
  assert.deepEqual(validateForm({ ...ada, beta1: '1.5' }).problems.map((p) => p.field), ['beta1']);
  // init_r 0: its own range, and target_r (8) now above it.
  assert.deepEqual(validateForm({ ...ada, init_r: '0' }).problems.map((p) => p.field), ['init_r', 'target_r']);
  assert.deepEqual(validateForm({ ...ada, max_steps: '10', tinit: '10' }).problems.map((p) => p.field), ['tinit']);
  const relora = formForMethod(filled(), 'relora');
  assert.deepEqual(validateForm({ ...relora, relora_warmup_steps: '300' }).problems.map((p) => p.field), ['relora_warmup_steps']);
  assert.deepEqual(validateForm({ ...relora, relora_prune: '2' }).problems.map((p) => p.field), ['relora_prune']);
  // A combination only a hand-written config can hold (validateRunConfig refuses it at use_dora): said at the selector.
  const mixed = validateRunConfig({ ...DEFAULT_RUN_OPTIONS, ...paths, method: 'adalora', use_dora: true });
  assert.deepEqual(mixed.map((p) => problemField(p.field, 'adalora')), ['method']);
  assert.equal(problemField('relora_steps', 'lora'), 'method');
  assert.equal(problemField('relora_steps', 'relora'), 'relora_steps');
  assert.equal(problemField('config', 'lora'), 'config');
  assert.equal(problemField('model', 'pissa'), 'model');
});

test('a preset that names a method replaces the current one; applyMethod sends one method', () => {
  const current = choose('relora').config;
  const merged = mergePreset(current, { use_dora: true, r: 4 });
  assert.equal(methodOfConfig(merged), 'dora');
  assert.equal(merged.relora_steps, undefined);
  assert.equal(methodOfConfig(mergePreset(current, { r: 4 })), 'relora', 'a preset without method keys keeps the method');
  assert.deepEqual(applyMethod({ use_dora: true, relora_steps: 5, init_lora_weights: 'olora', init_r: 4 }, 'relora'), { method: 'lora', use_dora: false, relora_steps: 5 });
});

test('a form saved before the selector keeps its DoRA / PiSSA / ReLoRA / AdaLoRA', () => {
  const old = filled();
  assert.equal(methodOfOldForm({ ...old, method: 'lora', use_dora: true }), 'dora');
  assert.equal(methodOfOldForm({ ...old, method: 'lora', init_lora_weights: 'pissa' }), 'pissa');
  assert.equal(methodOfOldForm({ ...old, method: 'lora', relora_steps: '10' }), 'relora');
  assert.equal(methodOfOldForm({ ...old, method: 'adalora' }), 'adalora');
  assert.equal(methodOfOldForm({ ...old, method: 'lora' }), 'lora');
});
