// media/schemas/run-config.schema.json (the editor's completion and checks for *.lora.json presets and run configs)
// must describe exactly the RunConfig the trainer reads: the same fields, the same defaults, the same choices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../../native/protocol';
import { validateRunConfig } from '../../../native/train/config';
import { FIELD_KINDS } from '../../../webview/training-panel/form';

interface PropertySchema { default?: unknown; enum?: unknown[]; minimum?: number; maximum?: number; type?: string }
const schema = JSON.parse(readFileSync('media/schemas/run-config.schema.json', 'utf8')) as { properties: Record<string, PropertySchema>; additionalProperties: boolean };
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { contributes: { jsonValidation: { fileMatch: string[]; url: string }[] } };

test('the schema has exactly the RunConfig fields, and refuses others (typos)', () => {
  assert.deepEqual(Object.keys(schema.properties).sort(), Object.keys(FIELD_KINDS).sort());
  assert.equal(schema.additionalProperties, false);
});

test('its defaults are the trainer\'s defaults', () => {
  for (const [key, value] of Object.entries(DEFAULT_RUN_OPTIONS)) {
    assert.deepEqual(schema.properties[key]?.default, value, key);
  }
});

test('its choices, minimums and maximums agree with validateRunConfig', () => {
  const lora: RunConfig = { ...DEFAULT_RUN_OPTIONS, model: '/m', data: '/d.jsonl', out: '/o' };
  // AdaLoRA's fields are checked when its method is on (validateAdaLora).
  const adalora = new Set(['init_r', 'target_r', 'tinit', 'tfinal', 'deltaT', 'beta1', 'beta2', 'orth_reg_weight', 'total_step']);
  // Prompt tuning's fields with its method (validatePromptLearning refuses them on the LoRA methods).
  const virtualTokens = new Set(['num_virtual_tokens', 'prompt_tuning_init', 'prompt_tuning_init_text']);
  for (const [key, property] of Object.entries(schema.properties)) {
    const base: RunConfig = adalora.has(key) ? { ...lora, method: 'adalora' } : virtualTokens.has(key) ? { ...lora, method: 'prompt-tuning' }
      : key.startsWith('lisa_') ? { ...lora, method: 'lisa' } : lora;
    for (const choice of property.enum ?? []) {
      assert.deepEqual(validateRunConfig({ ...base, [key]: choice } as RunConfig).filter((p) => p.field === key), [], `${key}: ${String(choice)}`);
    }
    if (property.type === 'integer' && property.minimum !== undefined) {
      assert.ok(validateRunConfig({ ...base, [key]: property.minimum - 1 } as RunConfig).some((p) => p.field === key), `${key} below ${property.minimum} passes validation`);
      assert.deepEqual(validateRunConfig({ ...base, [key]: property.minimum } as RunConfig).filter((p) => p.field === key), [], `${key} at ${property.minimum}`);
    }
    // The upper bounds of issue 19 (a typo of 1e9 epochs must not start): the editor flags what the trainer refuses.
    if (property.maximum !== undefined && property.maximum > 1) {
      const above = property.type === 'integer' ? property.maximum + 1 : property.maximum * 1.5;
      assert.ok(validateRunConfig({ ...base, [key]: above } as RunConfig).some((p) => p.field === key), `${key} above ${property.maximum} passes validation`);
      assert.deepEqual(validateRunConfig({ ...base, [key]: property.maximum } as RunConfig).filter((p) => p.field === key), [], `${key} at ${property.maximum}`);
    }
  }
});

test('the manifest applies it to presets and run configs', () => {
  const entry = manifest.contributes.jsonValidation.find((v) => v.url === './media/schemas/run-config.schema.json');
  assert.ok(entry);
  assert.ok(entry.fileMatch.includes('*.lora.json'));
});
