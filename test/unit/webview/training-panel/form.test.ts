// Tests of webview/training-panel/form.ts: form text → RunConfig, and problems reported by field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RUN_OPTIONS } from '../../../../native/protocol';
import { configFromForm, formFromConfig, presetFromConfig, problemsByField, readPreset, validateForm } from '../../../../webview/training-panel/form';

const filled = () => formFromConfig({ model: '/models/qwen', data: '/w/train.jsonl', out: '/w/.lora-studio/runs/x' });

test('defaults round-trip: form from defaults parses back to the same config with no problems', () => {
  const { config, problems } = validateForm(filled());
  assert.deepEqual(problems, []);
  assert.deepEqual(config, { ...DEFAULT_RUN_OPTIONS, model: '/models/qwen', data: '/w/train.jsonl', out: '/w/.lora-studio/runs/x' });
  assert.equal(filled().r, '8');
  assert.equal(filled().learning_rate, '0.0003');
  assert.equal(filled().use_rslora, false);
});

test('text fields parse by kind: scientific notation, trimming, optional fields left empty', () => {
  const form = { ...filled(), learning_rate: ' 2e-4 ', r: '16', max_steps: '', eval_data: '  ', use_rslora: true, target_modules: 'all-linear' as const };
  const { values, problems } = configFromForm(form);
  assert.deepEqual(problems, []);
  assert.equal(values.learning_rate, 2e-4);
  assert.equal(values.r, 16);
  assert.equal(values.max_steps, undefined);
  assert.equal(values.eval_data, undefined);
  assert.equal(values.use_rslora, true);
  assert.equal(values.target_modules, 'all-linear');
  const { config } = validateForm({ ...form, max_steps: '200' });
  assert.equal(config.max_steps, 200);
  assert.equal('max_steps' in validateForm(form).config, false);
});

test('junk and out-of-range values are reported at their field, once each', () => {
  const form = { ...filled(), r: 'sixteen', lora_dropout: '1.5', learning_rate: '', model: '', micro_batch_size: '2.5', target_modules: [] };
  const { problems } = validateForm(form);
  const byField = problemsByField(problems);
  assert.deepEqual(byField.get('r'), ['must be a number, got "sixteen"']);
  assert.deepEqual(byField.get('learning_rate'), ['is required']);
  assert.match(byField.get('lora_dropout')?.[0] ?? '', /must be in \[0, 1\), got 1\.5/);
  assert.match(byField.get('model')?.[0] ?? '', /is required/);
  assert.match(byField.get('micro_batch_size')?.[0] ?? '', /whole number ≥ 1, got 2\.5/);
  assert.match(byField.get('target_modules')?.[0] ?? '', /non-empty list/);
  assert.equal(byField.get('r')?.length, 1, 'no second message for an unparsable value');
  assert.equal(byField.has('seed'), false);
});

test('eval_data and eval_split together are refused at eval_split', () => {
  const { problems } = validateForm({ ...filled(), eval_data: '/w/eval.jsonl', eval_split: '0.1' });
  assert.deepEqual(problems.map((p) => p.field), ['eval_split']);
});

test('presets drop workspace paths; loading keeps known keys and names unknown ones', () => {
  const preset = presetFromConfig({ ...DEFAULT_RUN_OPTIONS, model: '/m', data: '/d', out: '/o', eval_data: '/e' });
  assert.equal('data' in preset, false);
  assert.equal('out' in preset, false);
  assert.equal(preset.model, '/m');
  const read = readPreset({ r: 32, lora_alpha: 64, lorra_alpha: 1 });
  assert.deepEqual(read.values, { r: 32, lora_alpha: 64 });
  assert.deepEqual(read.unknown, ['lorra_alpha']);
  assert.deepEqual(readPreset([1, 2]), { values: {}, unknown: [] });
});

test('the "past the model\'s positions" checkbox reaches the config as allow_long_context, for every method, and back', () => {
  assert.equal(filled().allow_long_context, false);
  assert.equal(validateForm(filled()).config.allow_long_context, false);
  for (const method of ['lora', 'adalora', 'prompt-tuning', 'lisa'] as const) {
    const { config, problems } = validateForm({ ...formFromConfig({ model: '/m', data: '/d.jsonl', out: '/o', method }), max_seq_len: '65536', allow_long_context: true });
    assert.deepEqual(problems, [], method);
    assert.equal(config.allow_long_context, true, method);
    assert.equal(config.max_seq_len, 65536);
    assert.equal(formFromConfig(config).allow_long_context, true, `${method}: a saved run or preset shows it ticked`);
  }
});
