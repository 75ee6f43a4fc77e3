// Start LoRA Training panel (webview entry): the form, the target-module editor and the live estimates. The form
// state is kept with setState so a hidden or reloaded panel comes back as it was; the host does file work.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import type { RunConfig } from '../../native/protocol';
import { h, vscodeApi } from '../shared/dom';
import { isTrainingHostMessage, type DatasetInfo, type DeviceInfo, type FieldProblem, type ModelInfo, type TrainingHostMessage, type TrainingWebviewMessage } from '../protocol';
import { checkField, selectField, setOptions, textField, type Field } from './fields';
import { formFromConfig, mergePreset, problemsByField, validateForm, type FormValues } from './form';
import { describeDataset, describeDevice, describeModel, describeTokens } from './describe';
import { fieldShown, formForMethod, initOptions, isPanelMethod, METHOD_KEYS, methodOfOldForm, PANEL_METHODS, problemField, PROMPT_INITS, adaptsModules, type PanelMethod } from './method';
import { deviceFor, panelEstimate, runSteps } from './targets';
import { TargetEditor, renderEstimate } from './sections';
import { ALLOW_LONG_CONTEXT_LABEL, contextProblem } from './context';

interface SavedState {
  form: FormValues;
  touched: string[];
  /** 2: the form's `method` is the panel's method choice (before, RunConfig's method beside a DoRA checkbox). */
  v?: number;
}
const STATE_VERSION = 2;

const api = vscodeApi<TrainingWebviewMessage, SavedState>();
const post = (m: TrainingWebviewMessage): void => api.postMessage(m);
const saved = api.getState();

let form: FormValues = saved ? (saved.v === STATE_VERSION ? saved.form : { ...saved.form, method: methodOfOldForm(saved.form) }) : formFromConfig({});
const touched = new Set<string>(saved?.touched ?? []);
let showAll = false;
let model: ModelInfo | null = null;
let datasets: DatasetInfo[] = [];
let devices: DeviceInfo[] = [];
let resume: { runDir: string; step: number } | undefined;
let hostProblems: FieldProblem[] = [];
/** The last host notice (preset loaded, run started, an error) shown beside Start when there are no problems. */
let notice = '';
const fields = new Map<string, Field>();

function set(key: keyof RunConfig, value: string | boolean | string[] | 'all-linear'): void {
  (form as Record<string, unknown>)[key] = value;
  touched.add(key);
  hostProblems = hostProblems.filter((p) => p.field !== key);
  api.setState({ form, touched: [...touched], v: STATE_VERSION });
  if (key === 'model' && typeof value === 'string') requestModel(value);
  if (key === 'data' || key === 'max_seq_len' || key === 'model') requestStats();
  refresh();
}

function add<F extends Field>(field: F): F {
  fields.set(field.key, field);
  return field;
}
const text = (key: keyof RunConfig, label: string, help = '', extra: HTMLElement[] = []) =>
  add(textField(key, label, help, (v) => set(key, v), extra));
const check = (key: keyof RunConfig, label: string, help = '') => add(checkField(key, label, help, (v) => set(key, v)));
const select = (key: keyof RunConfig, label: string, options: { value: string; label: string }[], help = '', extra: HTMLElement[] = []) =>
  add(selectField(key, label, help, options, (v) => set(key, v), extra));

function browseButton(field: 'model' | 'data' | 'eval_data' | 'out', label = 'Browse…'): HTMLElement {
  const b = document.createElement('vscode-button');
  b.secondary = true;
  b.textContent = label;
  b.addEventListener('click', () => post({ type: 'browse', field }));
  return b;
}

// ---- layout ----------------------------------------------------------------------------------------------------
const app = document.getElementById('app') as HTMLElement;
const title = h('h1', '', 'Start LoRA Training');
const resumeNote = h('p', 'note');
const recent = document.createElement('vscode-single-select');
recent.setAttribute('aria-label', 'Recent models');
recent.addEventListener('change', () => {
  if (recent.value) {
    setValue('model', recent.value);
    set('model', recent.value);
  }
});
const modelField = text('model', 'Model folder', 'A local Hugging Face folder with config.json, tokenizer.json and *.safetensors', [browseButton('model'), recent]);
const modelInfo = h('div', 'info');
modelField.row.append(modelInfo);
const dataField = select('data', 'Training data', [], 'Any *.jsonl in the workspace (alpaca or chat records)', [browseButton('data')]);
const dataInfo = h('div', 'info');
const tokenInfo = h('div', 'info');
const showProblems = document.createElement('vscode-button');
showProblems.secondary = true;
showProblems.textContent = 'Show problems';
showProblems.hidden = true;
showProblems.addEventListener('click', () => typeof form.data === 'string' && post({ type: 'openDataset', path: form.data }));
dataField.row.append(h('div', 'info-row', dataInfo, showProblems), tokenInfo);
const evalField = select('eval_data', 'Evaluation data', [], 'A separate *.jsonl, or none and hold out a fraction below', [browseButton('eval_data')]);
const splitField = text('eval_split', 'Eval split', 'Fraction of training records held out for evaluation (0 = none)');

// The Method selector: choosing one fills its fields' starting values and shows only them (method.ts).
const methodField = add(selectField('method', 'Method', PANEL_METHODS[0].help, PANEL_METHODS.map(({ value, label }) => ({ value, label })), (v) => chooseMethod(v)));
const methodHelp = methodField.row.querySelector('.help') as HTMLElement;
const rField = text('r', 'Rank (r)', 'Typical 8–64');
const alphaField = text('lora_alpha', 'lora_alpha', 'Scaling α/r (rsLoRA: α/√r; AdaLoRA: α/init_r); commonly 2 × r');
const dropoutField = text('lora_dropout', 'lora_dropout', 'Dropout on the LoRA input');
const rsField = check('use_rslora', 'rsLoRA', 'Rank-stabilized scaling α/√r (Kalajdzievski 2023)');
const plusField = text('loraplus_lr_ratio', 'LoRA+ ratio', 'Learning rate of B = ratio × learning rate; 1 = plain LoRA, LoRA+ suggests 16');
// Each method's own fields (PEFT's names; the help lines are the CLI's).
const initField = select('init_lora_weights', 'Initialization (init_lora_weights)', initOptions(undefined), 'How A and B are computed from W; the rest of W (W − s·B₀A₀) is the frozen base they train against');
const methodFields = [
  initField,
  text('init_r', 'Initial rank (init_r)', 'Every module starts at this rank (it replaces r); the budget then shrinks'),
  text('target_r', 'Target rank (target_r)', 'Average final rank per module: the total budget is target_r × modules'),
  text('tinit', 'tinit', 'Steps before the rank budget starts to shrink'),
  text('tfinal', 'tfinal', 'Final steps with the rank pattern fixed'),
  text('deltaT', 'deltaT', 'Steps between two rank reallocations'),
  text('beta1', 'beta1', 'EMA factor of the sensitivity |p·g|'),
  text('beta2', 'beta2', 'EMA factor of the uncertainty'),
  text('orth_reg_weight', 'orth_reg_weight', 'Weight of the orthogonal regularization ‖AAᵀ − I‖ + ‖BᵀB − I‖ in the loss'),
  text('total_step', 'total_step', 'Step count of the budget schedule; empty: the run\'s total steps'),
  text('relora_steps', 'Restart every (relora_steps)', 'Merge LoRA into the frozen base and restart it every N optimizer steps'),
  text('relora_prune', 'relora_prune', 'Fraction of the AdamW state zeroed by magnitude at each restart (1 = full reset; the paper: 0.99)'),
  text('relora_warmup_steps', 'relora_warmup_steps', 'Learning-rate warmup steps after each restart (< relora_steps)'),
  text('lisa_layers', 'Layers at a time (lisa_layers)', 'Decoder layers trained in full at once, γ; the paper trains 2 (E+H+2L)'),
  text('lisa_period', 'Resample every (lisa_period)', 'Optimizer steps between two samples of layers, K (default 20)'),
  text('num_virtual_tokens', 'Virtual tokens (num_virtual_tokens)', 'Trainable tokens before every input (prompt tuning) or every layer\'s keys/values (prefix tuning); PEFT examples use 8–30'),
  select('prompt_tuning_init', 'Initialization (prompt_tuning_init)', [...PROMPT_INITS], 'Where the virtual tokens start'),
  text('prompt_tuning_init_text', 'Init text (prompt_tuning_init_text)', 'With TEXT: its tokens\' embeddings start the virtual tokens, repeated or cut to their number'),
];
const targets = new TargetEditor((modules) => set('target_modules', modules));
const targetsTitle = h('h3', '', 'Target modules');
const targetProblem = h('div', 'problem');
targetProblem.setAttribute('aria-live', 'polite');
const estimateBox = h('section', 'estimate');
estimateBox.setAttribute('aria-live', 'polite');
estimateBox.setAttribute('aria-label', 'Estimates');

const hyper = [
  text('learning_rate', 'Learning rate', 'LoRA commonly uses 1e-4 to 3e-4'),
  text('num_epochs', 'Epochs'),
  text('max_steps', 'Max steps', 'Optional; when set it bounds the run instead of epochs'),
  text('micro_batch_size', 'Micro-batch size', 'Lower it if memory runs out'),
  text('gradient_accumulation_steps', 'Gradient accumulation', 'Effective batch = micro-batch × accumulation'),
  text('max_seq_len', 'Max length (tokens)', 'Longer records are truncated'),
  check('allow_long_context', ALLOW_LONG_CONTEXT_LABEL, 'Let the max length go past the model\'s max_position_embeddings, with a warning: positions it never learned, for models that handle longer contexts (rope_scaling)'),
  text('warmup_steps', 'Warmup steps'),
];
const advanced = [
  select('lr_scheduler_type', 'LR schedule', ['linear', 'cosine', 'constant'].map((v) => ({ value: v, label: v }))),
  text('weight_decay', 'Weight decay'),
  text('max_grad_norm', 'Max grad norm', '0 disables clipping'),
  text('eval_every', 'Evaluate every (steps)', '0 = only at the end'),
  text('save_every', 'Checkpoint every (steps)', '0 = only at the end'),
  text('save_total_limit', 'Keep checkpoints', 'The newest N; older ones are deleted (0 keeps all)'),
  text('seed', 'Seed'),
  check('train_on_prompt', 'Train on prompt', 'Also learn the prompt tokens (off: loss on the response only)'),
  select('quantization', 'Base weights', [['none', 'as stored'], ['nf4', '4-bit NF4 (QLoRA)']].map(([value, label]) => ({ value, label }))),
  select('precision', 'Precision', [['auto', 'auto (bf16 on CUDA, fp32 on CPU)'], ['fp32', 'fp32'], ['bf16', 'bf16'], ['fp16', 'fp16 (loss scaling)']].map(([value, label]) => ({ value, label }))),
  check('gradient_checkpointing', 'Gradient checkpointing', 'Recompute each layer in the backward pass: far less memory, about a third more compute'),
  select('save_dtype', 'Adapter dtype', ['float32', 'bfloat16', 'float16'].map((v) => ({ value: v, label: v }))),
];
const refreshDevices = document.createElement('vscode-button');
refreshDevices.secondary = true;
refreshDevices.textContent = 'Refresh';
refreshDevices.addEventListener('click', () => post({ type: 'refreshDevices' }));
const deviceField = select('device', 'Device', [], '', [refreshDevices]);
const outField = text('out', 'Output folder', 'The run folder: adapter, metrics, checkpoints', [browseButton('out')]);

const startButton = document.createElement('vscode-button');
startButton.textContent = 'Start training';
startButton.addEventListener('click', start);
const saveButton = document.createElement('vscode-button');
saveButton.secondary = true;
saveButton.textContent = 'Save preset…';
saveButton.addEventListener('click', () => post({ type: 'savePreset', values: validateForm(form).config }));
const loadButton = document.createElement('vscode-button');
loadButton.secondary = true;
loadButton.textContent = 'Load preset…';
loadButton.addEventListener('click', () => post({ type: 'loadPreset' }));
const clusterButton = document.createElement('vscode-button');
clusterButton.secondary = true;
clusterButton.textContent = 'Run on a Cluster…';
clusterButton.title = 'Export these settings and the data for Axolotl, LLaMA-Factory or TRL with DeepSpeed or FSDP, with launch scripts for one node or several';
clusterButton.addEventListener('click', () => {
  showAll = true;
  notice = '';
  post({ type: 'exportCluster', values: validateForm(form).config });
  refresh();
});
const compareButton = document.createElement('vscode-button');
compareButton.secondary = true;
compareButton.textContent = 'Compare Methods…';
compareButton.title = 'Train several methods (LoRA, DoRA, QLoRA, AdaLoRA…) for the same steps on this model and data and compare their size, memory, speed and loss';
compareButton.addEventListener('click', () => post({ type: 'compareMethods', values: validateForm(form).config }));
const summary = h('div', 'summary');
summary.setAttribute('role', 'status');

function section(heading: string, ...children: HTMLElement[]): HTMLElement {
  return h('section', 'group', h('h2', '', heading), ...children);
}
const advancedBox = document.createElement('vscode-collapsible');
advancedBox.heading = 'Advanced';
advancedBox.append(h('div', 'grid', ...advanced.map((f) => f.row)));

app.append(
  title, resumeNote,
  section('Model', modelField.row),
  section('Data', dataField.row, h('div', 'grid', evalField.row, splitField.row)),
  section('Method', h('div', 'grid', methodField.row, ...methodFields.map((f) => f.row), rField.row, alphaField.row, dropoutField.row, plusField.row, rsField.row),
    targetsTitle, targets.element, targetProblem, estimateBox),
  section('Training', h('div', 'grid', ...hyper.map((f) => f.row)), advancedBox),
  section('Device and output', deviceField.row, outField.row),
  h('div', 'actions', startButton, saveButton, loadButton, clusterButton, compareButton, summary),
);

// ---- behaviour -------------------------------------------------------------------------------------------------
function setValue(key: string, value: string): void {
  const field = fields.get(key);
  if (field && 'value' in field.control) field.control.value = value;
}

/** The method chosen in the form (a form without one is LoRA). */
function currentMethod(): PanelMethod {
  return isPanelMethod(form.method) ? form.method : 'lora';
}

function chooseMethod(value: string): void {
  if (!isPanelMethod(value)) return;
  form = formForMethod(form, value);
  // Problems of the previous method's keys (shown at the selector) no longer apply.
  hostProblems = hostProblems.filter((p) => !(METHOD_KEYS as readonly string[]).includes(p.field));
  fillControls();
  set('method', value);
}

/** Puts the form's values into the controls (after init, a preset, or a restored state). */
function fillControls(): void {
  // A loaded pissa_niter_N that the list lacks is added, so the select shows what will be sent.
  if (typeof form.init_lora_weights === 'string') setOptions(initField.control, initOptions(form.init_lora_weights), form.init_lora_weights);
  for (const [key, field] of fields) {
    const value = (form as Record<string, unknown>)[key];
    if (typeof value === 'boolean' && 'checked' in field.control) field.control.checked = value;
    else if (typeof value === 'string' && 'value' in field.control) field.control.value = value;
  }
}

let modelRequested = '';
let modelTimer = 0;
/** Inspects the folder once typing pauses (each keystroke would otherwise read a config.json). */
function requestModel(dir: string): void {
  const trimmed = dir.trim();
  if (trimmed === modelRequested) return;
  modelRequested = trimmed;
  model = null;
  modelInfo.textContent = trimmed ? 'inspecting…' : '';
  modelInfo.className = 'info';
  clearTimeout(modelTimer);
  if (trimmed) modelTimer = window.setTimeout(() => post({ type: 'inspectModel', dir: trimmed }), 250);
}

let statsTimer = 0;
function requestStats(): void {
  clearTimeout(statsTimer);
  statsTimer = window.setTimeout(() => {
    const path = typeof form.data === 'string' ? form.data : '';
    if (!path) return;
    const maxSeqLen = Number(form.max_seq_len);
    post({ type: 'datasetStats', path, model: model?.dir, maxSeqLen: Number.isInteger(maxSeqLen) && maxSeqLen > 0 ? maxSeqLen : 512 });
  }, 300);
}

function datasetOptions(withNone: boolean): { value: string; label: string }[] {
  const current = withNone ? form.eval_data : form.data;
  const list = datasets.map((d) => ({ value: d.path, label: d.label }));
  if (typeof current === 'string' && current && !list.some((o) => o.value === current)) list.unshift({ value: current, label: current });
  return withNone ? [{ value: '', label: '(none)' }, ...list] : list;
}

/** Problems at the field that shows them: a key no control shows with this method is said at the selector. */
function located(problems: readonly FieldProblem[]): FieldProblem[] {
  const method = currentMethod();
  return problems.map((p) => ({ ...p, field: problemField(p.field, method) as FieldProblem['field'] }));
}

/** The form's problems, with the model's length bound once a model is known (and max_seq_len itself parses). */
function checkedForm(): ReturnType<typeof validateForm> {
  const { config, problems } = validateForm(form);
  const context = problems.some((p) => p.field === 'max_seq_len') ? undefined : contextProblem(config, model);
  return { config, problems: context ? [...problems, context] : problems };
}

function refresh(): void {
  const { config, problems } = checkedForm();
  const method = currentMethod();
  const host = located(hostProblems);
  const byField = problemsByField([...located(problems), ...host]);
  for (const [key, field] of fields) {
    field.row.hidden = !fieldShown(key, method);
    field.setProblems(showAll || touched.has(key) || host.some((p) => p.field === key) ? byField.get(key) : undefined);
  }
  methodHelp.textContent = PANEL_METHODS.find((m) => m.value === method)?.help ?? '';
  const device = deviceFor(devices, config.device);
  // No estimate from a default standing in for a value the user typed wrong.
  const shapeBroken = ['r', 'micro_batch_size', 'max_seq_len', 'init_r', 'target_r', 'relora_steps'].some((f) => fieldShown(f, method) && byField.has(f));
  const steps = runSteps(config, datasets.find((d) => d.path === config.data)?.records);
  const estimate = model && !shapeBroken ? panelEstimate(model, config, device, steps) : undefined;
  targets.render(model, form.target_modules ?? [], estimate?.perModule);
  // Prompt/prefix tuning adapt no module: the target editor does not apply.
  targetsTitle.hidden = targets.element.hidden = !adaptsModules(method);
  const targetMessages = [...(byField.get('target_modules') ?? [])];
  if (estimate?.unknownTargets.length) targetMessages.push(`not in this model: ${estimate.unknownTargets.join(', ')}`);
  targetProblem.textContent = targetMessages.join(' · ');
  renderEstimate(estimateBox, model, estimate, config.r);
  const dataset = datasets.find((d) => d.path === form.data);
  dataInfo.textContent = describeDataset(dataset);
  // A file that is no dataset at all (UTF-16, …) is an error, said in the error style like an unusable model.
  dataInfo.className = dataset?.fileError ? 'info error' : 'info';
  showProblems.hidden = !dataset?.errors;
  tokenInfo.textContent = dataset?.fileError ? '' : model ? describeTokens(dataset) : dataset ? 'token statistics appear once a model is chosen' : '';
  // Problems not tied to one field (untrusted workspace, …) are said next to the Start button.
  const general = byField.get('config') ?? [];
  const fieldCount = [...byField.keys()].filter((k) => k !== 'config').length;
  if (showAll && (general.length > 0 || fieldCount > 0)) {
    summary.textContent = [...general, ...(fieldCount > 0 ? [`${fieldCount} field${fieldCount === 1 ? '' : 's'} to fix`] : [])].join(' · ');
  } else summary.textContent = notice;
  const disabled = resume !== undefined;
  for (const field of fields.values()) field.setDisabled(disabled);
  targets.setDisabled(disabled);
  saveButton.disabled = disabled;
  loadButton.disabled = disabled;
  clusterButton.disabled = disabled;
}

function start(): void {
  showAll = true;
  const { config, problems } = checkedForm();
  refresh();
  if (problems.length > 0 && !resume) {
    // A problem inside the folded Advanced group must be seen: unfold it.
    if (problems.some((p) => advanced.some((f) => f.key === p.field))) advancedBox.open = true;
    const first = fields.get(located(problems)[0].field);
    first?.control.focus();
    return;
  }
  startButton.disabled = true;
  post({ type: 'start', values: config });
}

function onMessage(message: TrainingHostMessage): void {
  switch (message.type) {
    case 'init': {
      if (!saved || message.resume) form = formFromConfig(message.values);
      resume = message.resume;
      devices = message.devices;
      datasets = message.datasets;
      setOptions(recent, [{ value: '', label: 'Recent…' }, ...message.recentModels.map((m) => ({ value: m, label: m }))], '');
      recent.hidden = message.recentModels.length === 0;
      setOptions(dataField.control, datasetOptions(false), String(form.data ?? ''));
      setOptions(evalField.control, datasetOptions(true), String(form.eval_data ?? ''));
      setOptions(deviceField.control, deviceOptions(), String(form.device ?? 'auto'));
      if (resume) {
        title.textContent = 'Resume LoRA Training';
        resumeNote.textContent = `Resuming ${resume.runDir} from step ${resume.step}; the configuration is that of the run and cannot change.`;
        startButton.textContent = 'Resume training';
      }
      fillControls();
      if (typeof form.model === 'string' && form.model) requestModel(form.model);
      requestStats();
      break;
    }
    case 'model':
      if (message.dir !== modelRequested) return; // an answer to an older request
      model = message.info;
      modelInfo.textContent = message.info ? describeModel(message.info) : (message.error ?? 'cannot read this model');
      modelInfo.className = message.info ? 'info' : 'info error';
      if (message.info && Array.isArray(form.target_modules) && form.target_modules.length === 0) form.target_modules = ['q_proj', 'v_proj'];
      requestStats();
      break;
    case 'datasets':
      datasets = message.datasets;
      setOptions(dataField.control, datasetOptions(false), String(form.data ?? ''));
      setOptions(evalField.control, datasetOptions(true), String(form.eval_data ?? ''));
      break;
    case 'dataset':
      datasets = [...datasets.filter((d) => d.path !== message.dataset.path), message.dataset];
      datasets.sort((a, b) => a.label.localeCompare(b.label));
      break;
    case 'devices':
      devices = message.devices;
      setOptions(deviceField.control, deviceOptions(), String(form.device ?? 'auto'));
      break;
    case 'path':
      setValue(message.field, message.path);
      if (message.field === 'data' || message.field === 'eval_data') {
        if (!datasets.some((d) => d.path === message.path)) datasets.push({ path: message.path, label: message.path });
        setOptions(message.field === 'data' ? dataField.control : evalField.control, datasetOptions(message.field === 'eval_data'), message.path);
      }
      set(message.field, message.path);
      return;
    case 'preset':
      form = formFromConfig(mergePreset(validateForm(form).config, message.values));
      fillControls();
      if (typeof form.model === 'string') requestModel(form.model);
      notice = `loaded ${message.path}`;
      break;
    case 'problems':
      hostProblems = message.problems;
      if (hostProblems.some((p) => advanced.some((f) => f.key === p.field))) advancedBox.open = true;
      showAll = true;
      startButton.disabled = false;
      break;
    case 'started':
      startButton.disabled = false;
      notice = `started: ${message.runDir}`;
      break;
    case 'exported':
      notice = message.notes.join(' · ');
      break;
    case 'error':
      startButton.disabled = false;
      notice = message.message;
      break;
  }
  refresh();
}

function deviceOptions(): { value: string; label: string }[] {
  const auto = deviceFor(devices, 'auto');
  return [{ value: 'auto', label: `auto${auto ? ` (${auto.label})` : ''}` }, ...devices.map((d) => ({ value: d.id, label: describeDevice(d) }))];
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isTrainingHostMessage(event.data)) onMessage(event.data);
});
refresh();
post({ type: 'ready' });
