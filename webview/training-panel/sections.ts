// The target-module editor (the model's own linear modules as toggles, with presets and each module's LoRA
// parameter count) and the estimate box (trainable parameters, adapter size, memory against the device).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type { VscodeButton } from '@vscode-elements/elements/dist/vscode-button/vscode-button.js';
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/vscode-checkbox.js';
import type { RunConfig } from '../../native/protocol';
import { formatBytes, formatParams } from '../../native/train/estimate';
import { h } from '../shared/dom';
import type { ModelInfo } from '../protocol';
import { describeAdapter, memoryParts } from './describe';
import { presetModules, selectedModules, type PanelEstimate, type TargetPreset } from './targets';

export class TargetEditor {
  readonly element = h('div', 'targets');
  private readonly presets = h('div', 'presets');
  private readonly toggles = h('div', 'toggles');
  private readonly buttons: VscodeButton[] = [];
  private checkboxes = new Map<string, VscodeCheckbox>();
  private modelKey = '';
  private disabled = false;
  private model: ModelInfo | null = null;
  private current: string[] | 'all-linear' = [];

  constructor(private readonly onChange: (targets: string[] | 'all-linear') => void) {
    for (const [preset, label] of [['attention', 'Attention only'], ['all-linear', 'All linear']] as [TargetPreset, string][]) {
      const b = document.createElement('vscode-button');
      b.secondary = true;
      b.textContent = label;
      b.addEventListener('click', () => {
        if (!this.model) return;
        this.onChange(preset === 'all-linear' ? 'all-linear' : presetModules(this.model.modules, preset));
      });
      this.buttons.push(b);
      this.presets.append(b);
    }
    this.toggles.setAttribute('role', 'group');
    this.toggles.setAttribute('aria-label', 'Target modules');
    this.element.append(this.presets, this.toggles);
  }

  /** Redraws toggles for the model's modules (rebuilt only when the model changes, so focus stays put). */
  render(model: ModelInfo | null, targets: RunConfig['target_modules'], perModule: Map<string, number> | undefined): void {
    this.model = model;
    this.current = targets;
    if (!model) {
      this.toggles.replaceChildren(h('span', 'help', `Choose a model to see its linear modules. Now: ${targets === 'all-linear' ? 'all-linear' : targets.join(', ') || '(none)'}`));
      this.checkboxes.clear();
      this.modelKey = '';
      return;
    }
    const key = `${model.dir}|${model.modules.map((m) => m.name).join(',')}`;
    if (key !== this.modelKey) {
      this.modelKey = key;
      this.checkboxes = new Map(model.modules.map((m) => {
        const box = document.createElement('vscode-checkbox');
        box.addEventListener('change', () => this.toggle(m.name, box.checked));
        return [m.name, box];
      }));
      this.toggles.replaceChildren(...model.modules.map((m) => h('div', 'toggle', this.checkboxes.get(m.name) as VscodeCheckbox,
        h('span', 'shape', `${m.in.toLocaleString('en-US')} → ${m.out.toLocaleString('en-US')}`))));
    }
    const selected = selectedModules(model, targets).names;
    for (const m of model.modules) {
      const box = this.checkboxes.get(m.name) as VscodeCheckbox;
      box.checked = selected.has(m.name);
      box.disabled = this.disabled;
      const params = perModule?.get(m.name);
      box.label = params !== undefined ? `${m.name}  +${formatParams(params)}` : m.name;
      box.title = `${m.group}: ${m.pathTemplate.replace('{layer}', 'N')}`;
    }
  }

  setDisabled(disabled: boolean): void {
    this.disabled = disabled;
    for (const b of this.buttons) b.disabled = disabled;
    for (const box of this.checkboxes.values()) box.disabled = disabled;
  }

  private toggle(name: string, on: boolean): void {
    if (!this.model) return;
    const selected = selectedModules(this.model, this.current).names;
    if (on) selected.add(name);
    else selected.delete(name);
    // Keep the model's order so presets and saved configs read the same way.
    this.onChange(this.model.modules.map((m) => m.name).filter((n) => selected.has(n)));
  }
}

/** Fills the estimate box: trainable count and share, adapter size, memory parts and the fit warning. */
export function renderEstimate(box: HTMLElement, model: ModelInfo | null, e: PanelEstimate | undefined, r: number): void {
  if (!model) {
    box.replaceChildren(h('p', 'help', 'Estimates appear once a model is inspected.'));
    return;
  }
  if (!e) {
    box.replaceChildren(h('p', 'help', 'Estimates appear once the rank fields, micro-batch size and max length are valid.'));
    return;
  }
  const { estimate } = e;
  const rows: [string, string][] = [
    ['Trainable parameters', `${estimate.trainableParams.toLocaleString('en-US')} (${estimate.trainablePercent < 0.01 ? estimate.trainablePercent.toExponential(1) : estimate.trainablePercent.toFixed(2)} % of ${formatParams(estimate.totalParams)})`],
    ['Adapter on disk', describeAdapter(estimate, r)],
    ...memoryParts(estimate.memory).map((p): [string, string] => [p.label, formatBytes(p.bytes)]),
    ['Memory, total (estimate)', `${formatBytes(estimate.memory.total)}${e.freeBytes !== undefined ? ` of ${formatBytes(e.freeBytes)} free` : ''}`],
  ];
  const table = h('dl', 'numbers', ...rows.flatMap(([k, v]) => [h('dt', '', k), h('dd', '', v)]));
  const meter = h('div', 'meter');
  if (e.freeBytes !== undefined && e.freeBytes > 0) {
    const share = Math.min(1, estimate.memory.total / e.freeBytes);
    const bar = h('div', e.warning ? 'bar over' : 'bar');
    bar.style.width = `${(share * 100).toFixed(1)}%`;
    meter.append(bar);
    meter.setAttribute('role', 'meter');
    meter.setAttribute('aria-valuenow', String(Math.round(share * 100)));
    meter.setAttribute('aria-label', 'Estimated memory against free memory');
  }
  const warning = e.warning ? [h('p', 'warning', `⚠ ${e.warning}`)] : [];
  box.replaceChildren(table, meter, ...warning);
}
