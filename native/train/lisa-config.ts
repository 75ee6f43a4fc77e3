// LISA's options as a run has them (lisa_layers γ, lisa_period K), their defaults and their validation: pure, so the
// training panel's host (native/train/config.ts) can check a run without the engine. The algorithm is native/train/lisa.ts.
import type { RunConfig } from '../protocol';

export const LISA_DEFAULT_LAYERS = 2;
export const LISA_DEFAULT_PERIOD = 20;

export interface LisaSettings {
  /** γ: decoder layers trained at a time. */
  layers: number;
  /** K: optimizer steps between samples. */
  period: number;
}

export function lisaSettings(config: Pick<RunConfig, 'lisa_layers' | 'lisa_period'>): LisaSettings {
  return { layers: config.lisa_layers ?? LISA_DEFAULT_LAYERS, period: config.lisa_period ?? LISA_DEFAULT_PERIOD };
}

/**
 * LISA's fields (lisa_layers, lisa_period) and the LoRA options it cannot take, as `problem(field, message)` calls;
 * the fields are refused on other methods, where they would silently do nothing. γ ≤ the model's layers is checked
 * when the model is loaded (createLisaTrainer).
 */
export function validateLisa(config: RunConfig, problem: (field: keyof RunConfig, message: string) => void): void {
  const whole = (value: unknown, min: number) => typeof value === 'number' && Number.isInteger(value) && value >= min;
  if (config.method !== 'lisa') {
    for (const field of ['lisa_layers', 'lisa_period'] as const) {
      if (config[field] !== undefined) problem(field, `is for the lisa method, not ${config.method} — remove it or choose --method lisa`);
    }
    return;
  }
  if (config.lisa_layers !== undefined && !whole(config.lisa_layers, 1)) problem('lisa_layers', `must be a whole number ≥ 1, got ${JSON.stringify(config.lisa_layers)} — the paper trains 2 layers at a time (E+H+2L)`);
  if (config.lisa_period !== undefined && !whole(config.lisa_period, 1)) problem('lisa_period', `must be a whole number ≥ 1, got ${JSON.stringify(config.lisa_period)} — steps between samples (default ${LISA_DEFAULT_PERIOD})`);
  const lora = 'LISA trains whole layers, not LoRA';
  if (config.use_dora) problem('use_dora', `${lora} — DoRA does not apply; turn it off`);
  if (config.use_rslora) problem('use_rslora', `${lora} — rsLoRA does not apply; turn it off`);
  if (config.loraplus_lr_ratio !== 1 && typeof config.loraplus_lr_ratio === 'number') problem('loraplus_lr_ratio', `${lora} — there is no B matrix; set it to 1`);
  if ((config.relora_steps ?? 0) > 0) problem('relora_steps', `${lora} — ReLoRA does not apply; remove it`);
  if (config.init_lora_weights !== undefined && config.init_lora_weights !== true) problem('init_lora_weights', `${lora} — there is no adapter to initialize; remove it`);
  if ((config.quantization ?? 'none') !== 'none') problem('quantization', 'LISA updates the base weights themselves, which NF4 would freeze in 4 bits — use quantization none');
}
