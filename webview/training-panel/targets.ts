// Target modules and live estimates for the training panel (pure): which of the model's linear modules a
// target_modules value selects — native/model/lora.ts decides, on the model's parsed config, exactly as training
// does (PEFT's rule: exact name or dotted suffix; 'all-linear' = every linear but lm_head) —, the presets, and the
// numbers the panel shows as values change (trainable parameters, adapter size, memory).
import { matchTargets, targetModuleNames } from '../../native/model/lora';
import type { RunConfig } from '../../native/protocol';
import { estimateRun, methodParams, type RunEstimate } from '../../native/train/estimate';
import type { DeviceInfo, ModelInfo, ModuleInfo } from '../protocol';

export type TargetPreset = 'attention' | 'all-linear';

export function presetModules(modules: readonly ModuleInfo[], preset: TargetPreset): string[] {
  return modules.filter((m) => preset === 'all-linear' || m.group === 'attention').map((m) => m.name);
}

/** The module names a target_modules value selects on this model (in its order), and entries that select nothing. */
export function selectedModules(info: ModelInfo, targets: RunConfig['target_modules']): { names: Set<string>; unknown: string[] } {
  const matched = matchTargets(info.config, targets);
  return { names: new Set(targetModuleNames(matched.targets)), unknown: matched.unknown };
}

/** Parameters each module would add in every layer (selected or not) under the run's method, for the toggles' labels. */
function paramsPerModule(info: ModelInfo, config: RunConfig): Map<string, number> {
  const all = matchTargets(info.config, 'all-linear').targets;
  return new Map(targetModuleNames(all).map((name) => [name, all.filter((t) => t.module === name).reduce((sum, t) => sum + methodParams(t, config), 0)]));
}

/**
 * The run's optimizer steps as the loop counts them (native/train/loop.ts totalSteps), when known: max_steps, or
 * epochs × ⌈micro-batches / accumulation⌉ over the records left after the eval split (splitEval's count).
 */
export function runSteps(config: RunConfig, records: number | undefined): number | undefined {
  if (config.max_steps !== undefined) return config.max_steps;
  if (records === undefined || records <= 0) return undefined;
  const held = config.eval_split > 0 && !config.eval_data ? Math.max(1, Math.round(records * config.eval_split)) : 0;
  const microBatches = Math.ceil(Math.max(0, records - held) / config.micro_batch_size);
  return Math.max(1, Math.ceil(microBatches / config.gradient_accumulation_steps)) * config.num_epochs;
}

export interface PanelEstimate {
  estimate: RunEstimate;
  /** LoRA (and DoRA magnitude) parameters each module would add at this r (selected or not), for the toggles' labels. */
  perModule: Map<string, number>;
  unknownTargets: string[];
  /** Free memory of the chosen device, when known. */
  freeBytes?: number;
  /** Set when the estimate exceeds the device's free memory. */
  warning?: string;
}

/**
 * The live estimate for the current form values; undefined until a model is inspected and the shapes parse (r, or
 * AdaLoRA's init_r and target_r, ReLoRA's relora_steps). `steps`: the run's steps when known (runSteps).
 */
export function panelEstimate(info: ModelInfo, config: RunConfig, device: DeviceInfo | undefined, steps?: number): PanelEstimate | undefined {
  const whole = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;
  if (!whole(config.r, 1) || !whole(config.micro_batch_size, 1) || !whole(config.max_seq_len, 1)) return undefined;
  if (config.method === 'adalora' && ((config.init_r !== undefined && !whole(config.init_r, 1)) || (config.target_r !== undefined && !whole(config.target_r, 0)))) return undefined;
  if (config.relora_steps !== undefined && config.relora_steps !== 0 && !whole(config.relora_steps, 1)) return undefined;
  if (config.num_virtual_tokens !== undefined && !whole(config.num_virtual_tokens, 1)) return undefined;
  const { targets, unknown } = matchTargets(info.config, config.target_modules);
  const provider = device?.id.startsWith('cuda') ? 'cuda' : 'cpu';
  const estimate = estimateRun(info.shape, config, targets, { totalParams: info.totalParams, provider, totalSteps: steps });
  const perModule = paramsPerModule(info, config);
  const freeBytes = device?.freeBytes;
  let warning: string | undefined;
  if (freeBytes !== undefined && estimate.memory.total > freeBytes) {
    warning = `needs about ${gib(estimate.memory.total)} but ${device?.label ?? 'the device'} has ${gib(freeBytes)} free — lower micro_batch_size or max_seq_len, or pick another device`;
  }
  return { estimate, perModule, unknownTargets: unknown, freeBytes, warning };
}

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** The device a choice means, as the worker resolves it (cuda-discovery): 'auto' and 'cuda' are GPU 0, else the CPU. */
export function deviceFor(devices: readonly DeviceInfo[], choice: RunConfig['device']): DeviceInfo | undefined {
  if (choice === 'auto') return devices.find((d) => d.id === 'cuda:0') ?? devices.find((d) => d.id === 'cpu');
  return devices.find((d) => d.id === choice || (choice === 'cuda' && d.id === 'cuda:0'));
}
