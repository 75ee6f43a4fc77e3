// Target modules and live estimates for the training panel (pure): which of the model's linear modules a
// target_modules value selects — native/model/lora.ts decides, on the model's parsed config, exactly as training
// does (PEFT's rule: exact name or dotted suffix; 'all-linear' = every linear but lm_head) —, the presets, and the
// numbers the panel shows as values change (trainable parameters, adapter size, memory).
import { loraParameterCount, matchTargets, targetModuleNames } from '../../native/model/lora';
import { doraParameterCount } from '../../native/model/dora';
import type { RunConfig } from '../../native/protocol';
import { estimateRun, type RunEstimate } from '../../native/train/estimate';
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

/** LoRA parameters each module would add at rank r in every layer (selected or not), for the toggles' labels. */
function paramsPerModule(info: ModelInfo, r: number, dora: boolean): Map<string, number> {
  const all = matchTargets(info.config, 'all-linear').targets;
  return new Map(targetModuleNames(all).map((name) => {
    const modules = all.filter((t) => t.module === name);
    return [name, loraParameterCount(modules, r) + (dora ? doraParameterCount(modules) : 0)];
  }));
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

/** The live estimate for the current form values; undefined until a model is inspected and r parses. */
export function panelEstimate(info: ModelInfo, config: RunConfig, device: DeviceInfo | undefined): PanelEstimate | undefined {
  if (!Number.isInteger(config.r) || config.r < 1 || !Number.isInteger(config.micro_batch_size) || !Number.isInteger(config.max_seq_len)) return undefined;
  const { targets, unknown } = matchTargets(info.config, config.target_modules);
  const provider = device?.id.startsWith('cuda') ? 'cuda' : 'cpu';
  const estimate = estimateRun(info.shape, config, targets, { totalParams: info.totalParams, provider });
  const perModule = paramsPerModule(info, config.r, config.use_dora ?? false);
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
