// Target modules and live estimates for the training panel (pure): which of the model's linear modules a
// target_modules value selects (PEFT's rule: exact name or dotted suffix; 'all-linear' = every linear but lm_head),
// the presets, and the numbers the panel shows as values change (trainable parameters, adapter size, memory).
import type { RunConfig } from '../../native/protocol';
import { estimateRun, paramsByModule, type EstimateTarget, type RunEstimate } from '../../native/train/estimate';
import type { DeviceInfo, ModelInfo, ModuleInfo } from '../protocol';

export type TargetPreset = 'attention' | 'all-linear';

export function presetModules(modules: readonly ModuleInfo[], preset: TargetPreset): string[] {
  return modules.filter((m) => preset === 'all-linear' || m.group === 'attention').map((m) => m.name);
}

/** Whether a target_modules entry names this module: `q_proj` or a dotted suffix of its full name. */
function matches(target: string, module: ModuleInfo, layer: number): boolean {
  if (target === module.name) return true;
  const full = module.pathTemplate.replace('{layer}', String(layer));
  return full === target || full.endsWith(`.${target}`);
}

/** The module names a target_modules value selects on this model, and entries that select nothing. */
export function selectedModules(modules: readonly ModuleInfo[], targets: RunConfig['target_modules']): { names: Set<string>; unknown: string[] } {
  if (targets === 'all-linear') return { names: new Set(modules.map((m) => m.name)), unknown: [] };
  const names = new Set<string>();
  const unknown: string[] = [];
  for (const t of targets) {
    const hit = modules.filter((m) => matches(t, m, 0));
    if (hit.length === 0) unknown.push(t);
    for (const m of hit) names.add(m.name);
  }
  return { names, unknown };
}

/** One EstimateTarget per selected module per layer (what native/model/lora.ts resolveTargets yields). */
export function expandTargets(info: ModelInfo, names: ReadonlySet<string>): EstimateTarget[] {
  const targets: EstimateTarget[] = [];
  for (let layer = 0; layer < info.layers; layer++) {
    for (const m of info.modules) {
      if (!names.has(m.name)) continue;
      targets.push({ module: m.name, layer, baseName: m.pathTemplate.replace('{layer}', String(layer)), in: m.in, out: m.out });
    }
  }
  return targets;
}

export interface PanelEstimate {
  estimate: RunEstimate;
  /** LoRA parameters each module would add at this r (selected or not), for the toggles' labels. */
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
  const { names, unknown } = selectedModules(info.modules, config.target_modules);
  const estimate = estimateRun(info.shape, config, expandTargets(info, names), { totalParams: info.totalParams });
  const perModule = paramsByModule(expandTargets(info, new Set(info.modules.map((m) => m.name))), config.r);
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
