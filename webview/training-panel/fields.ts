// Form controls of the training panel: a labelled vscode-elements control per RunConfig field, each with a help
// line and a problem line under it, so validation messages appear where the value is typed.
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/vscode-checkbox.js';
import type { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/vscode-single-select.js';
import type { VscodeTextfield } from '@vscode-elements/elements/dist/vscode-textfield/vscode-textfield.js';
import { h } from '../shared/dom';

export interface Field {
  key: string;
  row: HTMLElement;
  control: VscodeTextfield | VscodeCheckbox | VscodeSingleSelect;
  problem: HTMLElement;
  setProblems(messages: string[] | undefined): void;
  setDisabled(disabled: boolean): void;
}

let nextId = 0;

function wrap(key: string, label: string, help: string, control: Field['control'], extra: HTMLElement[] = []): Field {
  const id = `f-${key}-${nextId++}`;
  control.id = id;
  const labelEl = h('label', 'label', label);
  labelEl.htmlFor = id;
  const problem = h('div', 'problem');
  problem.id = `${id}-problem`;
  // Polite, not an alert: problems update as the user types and must not interrupt.
  problem.setAttribute('aria-live', 'polite');
  control.setAttribute('aria-label', label);
  control.setAttribute('aria-describedby', problem.id);
  // A checkbox carries its own label; a second one above it would be read twice.
  const heading = control.tagName === 'VSCODE-CHECKBOX' ? [] : [labelEl];
  const row = h('div', 'field', ...heading, h('div', 'control', control, ...extra), ...(help ? [h('div', 'help', help)] : []), problem);
  row.dataset.field = key;
  return {
    key, row, control, problem,
    setProblems(messages) {
      problem.textContent = messages?.join(' · ') ?? '';
      row.classList.toggle('invalid', !!messages?.length);
      if ('invalid' in control) control.invalid = !!messages?.length;
    },
    setDisabled(disabled) {
      (control as { disabled: boolean }).disabled = disabled;
      for (const e of extra) (e as { disabled?: boolean }).disabled = disabled;
    },
  };
}

export function textField(key: string, label: string, help: string, onInput: (value: string) => void, extra: HTMLElement[] = []): Field & { control: VscodeTextfield } {
  const control = document.createElement('vscode-textfield');
  control.addEventListener('input', () => onInput(control.value));
  control.addEventListener('change', () => onInput(control.value));
  return wrap(key, label, help, control, extra) as Field & { control: VscodeTextfield };
}

export function checkField(key: string, label: string, help: string, onChange: (checked: boolean) => void): Field & { control: VscodeCheckbox } {
  const control = document.createElement('vscode-checkbox');
  control.label = label;
  control.addEventListener('change', () => onChange(control.checked));
  return wrap(key, label, help, control) as Field & { control: VscodeCheckbox };
}

export function selectField(key: string, label: string, help: string, options: { value: string; label: string }[], onChange: (value: string) => void, extra: HTMLElement[] = []): Field & { control: VscodeSingleSelect } {
  const control = document.createElement('vscode-single-select');
  setOptions(control, options);
  control.addEventListener('change', () => onChange(control.value));
  return wrap(key, label, help, control, extra) as Field & { control: VscodeSingleSelect };
}

/** Replaces a select's options, keeping its value when still offered. */
export function setOptions(select: VscodeSingleSelect, options: { value: string; label: string }[], value = select.value): void {
  select.replaceChildren(...options.map((o) => {
    const option = document.createElement('vscode-option');
    option.value = o.value;
    option.textContent = o.label;
    return option;
  }));
  if (options.some((o) => o.value === value)) select.value = value;
}
