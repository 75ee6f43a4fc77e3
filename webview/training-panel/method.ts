// The training panel's Method selector (pure, tested): LoRA, DoRA, PiSSA-initialized LoRA, AdaLoRA, ReLoRA, prompt
// tuning, prefix tuning and LISA — each shown with only its own fields and mapped onto PEFT's RunConfig keys (use_dora, init_lora_weights,
// relora_*, method 'adalora' and AdaLoraConfig's fields). The form keeps every method's text, so switching back
// restores it, but only the chosen method's keys are sent; the others are absent or neutral, so validation passes and
// training_config.json names one method. A config read back (a run to resume, a preset) shows the method it trains.
import type { RunConfig } from '../../native/protocol';
import { ADALORA_DEFAULTS } from '../../native/model/adalora-settings';
import { methodOfRun } from '../../native/train/estimate';
import { DEFAULT_VIRTUAL_TOKENS } from '../../native/model/prompt-learning';
import { LISA_DEFAULT_LAYERS, LISA_DEFAULT_PERIOD } from '../../native/train/lisa-config';
import type { FieldProblem } from '../protocol';
import type { FormValues } from './form';

export type PanelMethod = 'lora' | 'dora' | 'pissa' | 'adalora' | 'relora' | 'prompt-tuning' | 'prefix-tuning' | 'lisa';

/** The selector's entries, each with its one-line explanation. */
export const PANEL_METHODS: readonly { value: PanelMethod; label: string; help: string }[] = [
  { value: 'lora', label: 'LoRA', help: 'Trains low-rank A and B beside each frozen weight: W + (α/r)·B·A (Hu et al. 2021)' },
  { value: 'dora', label: 'DoRA', help: 'LoRA gives the direction and a trained magnitude per output feature the length (Liu et al. 2024; PEFT use_dora)' },
  { value: 'pissa', label: 'PiSSA-initialized LoRA', help: 'A and B start from W\'s top-r singular vectors and train against the rest of W (Meng et al. 2024); saved as a rank-2r LoRA of the original base' },
  { value: 'adalora', label: 'AdaLoRA', help: 'An SVD-form adapter whose ranks are reallocated by importance, from init_r down to target_r per module on average (Zhang et al. 2023)' },
  { value: 'relora', label: 'ReLoRA', help: 'Merges LoRA into the frozen base and restarts it every relora_steps: high-rank training from low-rank updates (Lialin et al. 2023); saved as one LoRA of rank cycles × r' },
  { value: 'prompt-tuning', label: 'Prompt tuning', help: 'Trains num_virtual_tokens embeddings put before every input; the whole model stays frozen (Lester et al. 2021); saved as PEFT PROMPT_TUNING' },
  { value: 'prefix-tuning', label: 'Prefix tuning', help: 'Trains num_virtual_tokens keys and values put before every layer\'s attention; the whole model stays frozen (Li & Liang 2021); saved as PEFT PREFIX_TUNING' },
  { value: 'lisa', label: 'LISA', help: 'Trains the embeddings, the head and lisa_layers decoder layers in full, sampled anew every lisa_period steps; the rest stays frozen (Pan et al. 2024); saved as a whole model folder, not an adapter' },
];

/** Prompt tuning's initializations (PEFT prompt_tuning_init). */
export const PROMPT_INITS: readonly { value: string; label: string }[] = [
  { value: 'RANDOM', label: 'Random, N(0, 1) (RANDOM)' },
  { value: 'TEXT', label: 'From the embeddings of a text\'s tokens (TEXT)' },
];

/** PiSSA's initializations (PEFT init_lora_weights), the fast one first: it is the default. */
export const PISSA_INITS: readonly { value: string; label: string }[] = [
  { value: 'pissa_niter_4', label: 'PiSSA, randomized SVD with 4 power iterations (pissa_niter_4: fast, recommended)' },
  { value: 'pissa', label: 'PiSSA, exact SVD (pissa: minutes per large module)' },
  { value: 'olora', label: 'OLoRA, from W\'s QR decomposition (olora)' },
];

/** The keys only one method uses: shown, parsed and sent only when it is chosen. */
export const METHOD_FIELDS: Readonly<Record<PanelMethod, readonly (keyof RunConfig)[]>> = {
  lora: [],
  dora: [],
  pissa: ['init_lora_weights'],
  adalora: ['init_r', 'target_r', 'tinit', 'tfinal', 'deltaT', 'beta1', 'beta2', 'orth_reg_weight', 'total_step'],
  relora: ['relora_steps', 'relora_prune', 'relora_warmup_steps'],
  'prompt-tuning': ['num_virtual_tokens', 'prompt_tuning_init', 'prompt_tuning_init_text'],
  'prefix-tuning': ['num_virtual_tokens'],
  lisa: ['lisa_layers', 'lisa_period'],
};

/**
 * LoRA's own fields a method does not use: AdaLoRA starts every module at init_r (r is unused, as in PEFT; the panel
 * sends r = init_r so the run's r reads as its starting rank) and scales by α/init_r, so rsLoRA does not apply.
 */
const LORA_ONLY: readonly (keyof RunConfig)[] = ['r', 'lora_alpha', 'lora_dropout', 'use_rslora', 'loraplus_lr_ratio'];
const UNUSED_FIELDS: Readonly<Partial<Record<PanelMethod, readonly (keyof RunConfig)[]>>> = { adalora: ['r', 'use_rslora'], 'prompt-tuning': LORA_ONLY, 'prefix-tuning': LORA_ONLY, lisa: LORA_ONLY };

/** Prompt and prefix tuning train virtual tokens: the LoRA fields and the target modules do not apply. */
export const trainsVirtualTokens = (method: PanelMethod): boolean => method === 'prompt-tuning' || method === 'prefix-tuning';

/** Whether the method adapts target modules (LISA trains whole layers; prompt/prefix tuning virtual tokens). */
export const adaptsModules = (method: PanelMethod): boolean => !trainsVirtualTokens(method) && method !== 'lisa';

/** Every key a method choice decides (the selector's own, use_dora, and each method's fields). */
export const METHOD_KEYS: readonly (keyof RunConfig)[] = ['method', 'use_dora', ...Object.values(METHOD_FIELDS).flat()];

export function isPanelMethod(value: unknown): value is PanelMethod {
  return PANEL_METHODS.some((m) => m.value === value);
}

/** Whether a field has a control to show with this method chosen (the selector and common fields always do). */
export function fieldShown(key: string, method: PanelMethod): boolean {
  // use_dora has no control of its own: the selector's DoRA is it.
  if (key === 'use_dora' || UNUSED_FIELDS[method]?.includes(key as keyof RunConfig)) return false;
  // A key may belong to several methods (num_virtual_tokens: prompt and prefix tuning).
  const owners = (Object.keys(METHOD_FIELDS) as PanelMethod[]).filter((m) => METHOD_FIELDS[m].includes(key as keyof RunConfig));
  return owners.length === 0 || owners.includes(method);
}

/** The method a config trains (a run to resume, a preset): AdaLoRA, DoRA, PiSSA/OLoRA, ReLoRA, else LoRA. */
export function methodOfConfig(values: Partial<RunConfig>): PanelMethod {
  const method = methodOfRun(values);
  return method === 'olora' ? 'pissa' : method;
}

const isPissaInit = (value: unknown): boolean => value === 'pissa' || value === 'olora' || (typeof value === 'string' && /^pissa_niter_\d+$/.test(value));
const isWhole = (value: unknown, min: number): value is number => typeof value === 'number' && Number.isInteger(value) && value >= min;

/**
 * The config values a method sends: its own keys from `values`, the other methods' keys absent, use_dora and method
 * set. AdaLoRA sends r = init_r (PEFT's default when init_r is absent or invalid: init_r's own problem says why).
 */
export function applyMethod(values: Partial<RunConfig>, method: PanelMethod): Partial<RunConfig> {
  const out: Partial<RunConfig> = { ...values };
  for (const key of METHOD_KEYS) delete out[key];
  out.method = method === 'adalora' || method === 'lisa' || trainsVirtualTokens(method) ? method as RunConfig['method'] : 'lora';
  out.use_dora = method === 'dora';
  for (const key of METHOD_FIELDS[method]) if (values[key] !== undefined) (out as Record<string, unknown>)[key] = values[key];
  if (method === 'pissa' && !isPissaInit(out.init_lora_weights)) out.init_lora_weights = 'pissa_niter_4';
  if (method === 'adalora') {
    out.r = isWhole(values.init_r, 1) ? values.init_r : ADALORA_DEFAULTS.init_r;
    out.use_rslora = false;
  }
  // No LoRA branch: the saved config reads dropout 0 (as the CLI writes it), not an ignored default.
  if (!adaptsModules(method)) out.lora_dropout = 0;
  return out;
}

/** What the chosen method needs beyond validateRunConfig: ReLoRA without relora_steps would silently be LoRA. */
export function methodProblems(values: Partial<RunConfig>, method: PanelMethod): FieldProblem[] {
  if (method === 'relora' && !(typeof values.relora_steps === 'number' && values.relora_steps > 0)) {
    return [{ field: 'relora_steps', message: 'is required for ReLoRA: a whole number ≥ 1 — the optimizer steps between two merges and restarts' }];
  }
  return [];
}

/**
 * The field a problem is shown at: its own when shown with this method, else the selector (a preset that combines
 * methods, a host check of a key no control shows), so no problem goes unseen.
 */
export function problemField(field: string, method: PanelMethod): string {
  return field === 'config' || fieldShown(field, method) ? field : 'method';
}

/** Starting values for a method's empty fields when it is chosen: the user sees what will be sent. */
export function formForMethod(form: FormValues, method: PanelMethod): FormValues {
  const next: FormValues = { ...form, method };
  const empty = (key: keyof RunConfig) => typeof next[key] !== 'string' || (next[key] as string).trim() === '';
  const fill = (key: keyof RunConfig, value: string) => {
    if (empty(key)) (next as Record<string, unknown>)[key] = value;
  };
  if (method === 'pissa' && !isPissaInit(next.init_lora_weights)) next.init_lora_weights = 'pissa_niter_4';
  if (method === 'relora') {
    // Four cycles of a run bounded by max_steps, else 200 steps a cycle; the CLI's warmup: a tenth of a cycle.
    const maxSteps = Number(typeof form.max_steps === 'string' ? form.max_steps.trim() || NaN : NaN);
    fill('relora_steps', String(Number.isInteger(maxSteps) && maxSteps >= 8 ? Math.ceil(maxSteps / 4) : 200));
    fill('relora_prune', '0.99');
    const every = Number(next.relora_steps);
    fill('relora_warmup_steps', String(Number.isInteger(every) && every > 0 ? Math.floor(every / 10) : 0));
  }
  if (method === 'adalora') {
    for (const [key, value] of Object.entries(ADALORA_DEFAULTS)) fill(key as keyof RunConfig, String(value));
  }
  if (trainsVirtualTokens(method)) fill('num_virtual_tokens', String(DEFAULT_VIRTUAL_TOKENS));
  if (method === 'prompt-tuning') fill('prompt_tuning_init', 'RANDOM');
  if (method === 'lisa') {
    fill('lisa_layers', String(LISA_DEFAULT_LAYERS));
    fill('lisa_period', String(LISA_DEFAULT_PERIOD));
  }
  return next;
}

/**
 * The method of a form saved before the selector existed (its `method` was RunConfig's 'lora' with a DoRA checkbox):
 * read from its raw values.
 */
export function methodOfOldForm(form: FormValues): PanelMethod {
  const steps = Number(typeof form.relora_steps === 'string' ? form.relora_steps : 0);
  return methodOfConfig({
    method: form.method === 'adalora' ? 'adalora' : 'lora',
    use_dora: form.use_dora === true,
    init_lora_weights: typeof form.init_lora_weights === 'string' && isPissaInit(form.init_lora_weights) ? form.init_lora_weights as RunConfig['init_lora_weights'] : undefined,
    relora_steps: Number.isFinite(steps) ? steps : 0,
  });
}

/** The init select's options: PISSA_INITS, plus a pissa_niter_N of a loaded config that is not among them. */
export function initOptions(current: unknown): { value: string; label: string }[] {
  const extra = typeof current === 'string' && isPissaInit(current) && !PISSA_INITS.some((o) => o.value === current)
    ? [{ value: current, label: `PiSSA, randomized SVD with ${current.slice('pissa_niter_'.length)} power iterations (${current})` }] : [];
  return [...PISSA_INITS, ...extra];
}
