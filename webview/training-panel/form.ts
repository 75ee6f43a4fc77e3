// The training form's values ⇄ RunConfig (pure). Inputs hold text; this parses each field by its kind, reports
// unparsable text against its field, then runs the same validateRunConfig the host and the CLI run, so a problem
// reads the same everywhere. Presets (*.lora.json) are the RunConfig subset minus run-specific paths. The form's
// `method` holds the panel's method choice (method.ts), which decides the method keys sent.
import { DEFAULT_RUN_OPTIONS, type RunConfig } from '../../native/protocol';
import { validateRunConfig } from '../../native/train/config';
import type { FieldProblem } from '../protocol';
import { applyMethod, fieldShown, formForMethod, isPanelMethod, METHOD_KEYS, methodOfConfig, methodProblems } from './method';

type Kind = 'int' | 'float' | 'text' | 'optional-text' | 'optional-int' | 'optional-float' | 'bool' | 'targets';

/** Every field the form edits, with how its text is read. */
export const FIELD_KINDS: Readonly<Record<keyof RunConfig, Kind>> = {
  model: 'text', data: 'text', eval_data: 'optional-text', eval_split: 'float', out: 'text', method: 'text',
  r: 'int', lora_alpha: 'float', lora_dropout: 'float', target_modules: 'targets', use_rslora: 'bool', use_dora: 'bool', loraplus_lr_ratio: 'float',
  init_lora_weights: 'optional-text', relora_steps: 'optional-int', relora_prune: 'optional-float', relora_warmup_steps: 'optional-int',
  init_r: 'optional-int', target_r: 'optional-int', tinit: 'optional-int', tfinal: 'optional-int', deltaT: 'optional-int', beta1: 'optional-float', beta2: 'optional-float', orth_reg_weight: 'optional-float', total_step: 'optional-int',
  num_virtual_tokens: 'optional-int', prompt_tuning_init: 'optional-text', prompt_tuning_init_text: 'optional-text',
  lisa_layers: 'optional-int', lisa_period: 'optional-int',
  learning_rate: 'float', weight_decay: 'float', warmup_steps: 'int', lr_scheduler_type: 'text', micro_batch_size: 'int',
  gradient_accumulation_steps: 'int', max_grad_norm: 'float', num_epochs: 'int', max_steps: 'optional-int', eval_every: 'int',
  save_every: 'int', save_total_limit: 'int', seed: 'int', device: 'text', max_seq_len: 'int', allow_long_context: 'bool', train_on_prompt: 'bool', gradient_checkpointing: 'bool', precision: 'text', quantization: 'text', save_dtype: 'text',
};

/** The form's raw state: text for inputs, booleans for checkboxes, the module list for targets. */
export type FormValues = { [K in keyof RunConfig]?: K extends 'target_modules' ? string[] | 'all-linear' : string | boolean };

/** Text for the inputs from config values (defaults filled in), with the method the config trains chosen. */
export function formFromConfig(values: Partial<RunConfig>): FormValues {
  const merged: Partial<RunConfig> = { ...DEFAULT_RUN_OPTIONS, ...values };
  const form: FormValues = {};
  for (const key of Object.keys(FIELD_KINDS) as (keyof RunConfig)[]) {
    const value = merged[key];
    const kind = FIELD_KINDS[key];
    if (kind === 'targets') form.target_modules = Array.isArray(value) ? [...value] : value === 'all-linear' ? 'all-linear' : [];
    else if (kind === 'bool') (form as Record<string, string | boolean>)[key] = value === true;
    else (form as Record<string, string | boolean>)[key] = value === undefined ? '' : String(value);
  }
  return formForMethod(form, methodOfConfig(merged));
}

/** "3e-4", "0.0003", " 16 " → number; "" and junk → undefined. */
function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (t === '' || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return undefined;
  return Number(t);
}

/**
 * Parses the form into config values; text that is not a number is a problem of its field. Only the chosen method's
 * fields are read (another method's text is kept in the form, not sent), then applyMethod sets the method's keys.
 */
export function configFromForm(form: FormValues): { values: Partial<RunConfig>; problems: FieldProblem[] } {
  const values: Record<string, unknown> = {};
  const problems: FieldProblem[] = [];
  const method = isPanelMethod(form.method) ? form.method : 'lora';
  for (const key of Object.keys(FIELD_KINDS) as (keyof RunConfig)[]) {
    if (key === 'method' || !fieldShown(key, method)) continue;
    const kind = FIELD_KINDS[key];
    const raw = form[key];
    if (kind === 'targets') {
      values[key] = raw === 'all-linear' ? 'all-linear' : Array.isArray(raw) ? [...raw] : [];
      continue;
    }
    if (kind === 'bool') {
      values[key] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw : '';
    if (kind === 'text') values[key] = text.trim();
    else if (kind === 'optional-text') values[key] = text.trim() === '' ? undefined : text.trim();
    else if ((kind === 'optional-int' || kind === 'optional-float') && text.trim() === '') values[key] = undefined;
    else {
      const n = parseNumber(text);
      if (n === undefined) problems.push({ field: key, message: text.trim() === '' ? 'is required' : `must be a number, got "${text.trim()}"` });
      else values[key] = n;
    }
  }
  // init_lora_weights is PEFT's `true` or a name: the text "true" (or nothing) is the default.
  if (values.init_lora_weights === 'true') values.init_lora_weights = undefined;
  const sent = applyMethod(values as Partial<RunConfig>, method);
  const parsed = new Set(problems.map((p) => p.field));
  for (const p of methodProblems(sent, method)) if (!parsed.has(p.field)) problems.push(p);
  return { values: sent, problems };
}

/**
 * Everything wrong with the form, by field: parse problems first, then validateRunConfig's (without file checks,
 * which the host adds on Start). A field with a parse problem gets no second message about the same value.
 */
export function validateForm(form: FormValues): { config: RunConfig; problems: FieldProblem[] } {
  const { values, problems } = configFromForm(form);
  const config = { ...DEFAULT_RUN_OPTIONS, ...dropUndefined(values) } as RunConfig;
  if (values.max_steps === undefined) delete config.max_steps;
  if (values.eval_data === undefined) delete config.eval_data;
  const parsed = new Set(problems.map((p) => p.field));
  for (const p of validateRunConfig(config)) if (!parsed.has(p.field)) problems.push({ field: p.field, message: p.message });
  return { config, problems };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Problems grouped by field, for showing each under its input. */
export function problemsByField(problems: readonly FieldProblem[]): Map<string, string[]> {
  const byField = new Map<string, string[]>();
  for (const p of problems) byField.set(p.field, [...(byField.get(p.field) ?? []), p.message]);
  return byField;
}

/** Preset files keep the method and hyper-parameters, not this workspace's paths (so they can be shared). */
export const PRESET_EXCLUDED: readonly (keyof RunConfig)[] = ['data', 'eval_data', 'out'];

/**
 * The values a loaded preset gives the form: the current ones with the preset's on top; when the preset names any
 * method key, the current method's keys go first, so the preset's method is the one shown (not a mix of two).
 */
export function mergePreset(current: Partial<RunConfig>, preset: Partial<RunConfig>): Partial<RunConfig> {
  const base: Partial<RunConfig> = { ...current };
  if (METHOD_KEYS.some((key) => key in preset)) for (const key of METHOD_KEYS) delete base[key];
  return { ...base, ...preset };
}

export function presetFromConfig(values: Partial<RunConfig>): Partial<RunConfig> {
  const preset: Record<string, unknown> = { ...values };
  for (const key of PRESET_EXCLUDED) delete preset[key];
  return preset as Partial<RunConfig>;
}

/** Keeps only known RunConfig keys of a loaded preset; unknown keys are reported so typos are not silently lost. */
export function readPreset(json: unknown): { values: Partial<RunConfig>; unknown: string[] } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { values: {}, unknown: [] };
  const values: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (key in FIELD_KINDS) values[key] = value;
    else unknown.push(key);
  }
  return { values: values as Partial<RunConfig>, unknown };
}
