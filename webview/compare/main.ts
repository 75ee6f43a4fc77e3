// Compare view (webview entry): a prompt, then the base model's and the adapter's outputs side by side as they
// stream, each with tokens/s and memory. The host runs `lora-studio generate --stream-json` for each side.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import type { VscodeTextfield } from '@vscode-elements/elements/dist/vscode-textfield/vscode-textfield.js';
import { h, vscodeApi } from '../shared/dom';
import { INVALID_BYTES_TITLE, outputRuns } from './output';
import { isCompareHostMessage, type CompareHostMessage, type CompareSide, type CompareWebviewMessage, type GenerateSettings } from '../protocol';

interface ViewState {
  model: string;
  adapter: string;
  prompt: string;
  settings: GenerateSettings;
}

const api = vscodeApi<CompareWebviewMessage, ViewState>();
const post = (m: CompareWebviewMessage): void => api.postMessage(m);
let saved = api.getState();

const app = document.getElementById('app') as HTMLElement;

function pathRow(field: 'model' | 'adapter', label: string): VscodeTextfield {
  const input = document.createElement('vscode-textfield');
  input.setAttribute('aria-label', label);
  input.addEventListener('input', remember);
  const browse = document.createElement('vscode-button');
  browse.secondary = true;
  browse.textContent = 'Browse…';
  browse.addEventListener('click', () => post({ type: 'browse', field }));
  paths.append(h('span', '', label), input, browse);
  return input;
}
const paths = h('div', 'paths');
const modelInput = pathRow('model', 'Base model');
const adapterInput = pathRow('adapter', 'Adapter');

const prompt = document.createElement('vscode-textarea');
prompt.className = 'prompt';
prompt.rows = 5;
prompt.placeholder = 'Prompt (Ctrl+Enter to generate)';
prompt.setAttribute('aria-label', 'Prompt');
prompt.addEventListener('input', remember);
prompt.addEventListener('keydown', (e: KeyboardEvent) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    generate();
  }
});

function numberInput(label: string, value: number): VscodeTextfield {
  const input = document.createElement('vscode-textfield');
  input.value = String(value);
  input.setAttribute('aria-label', label);
  input.addEventListener('input', remember);
  settingsRow.append(h('label', '', label, input));
  return input;
}
const settingsRow = h('div', 'settings');
const defaults: GenerateSettings = { maxNewTokens: 256, temperature: 0, topP: 1, seed: 0 };
const maxTokens = numberInput('Max new tokens', defaults.maxNewTokens);
const temperature = numberInput('Temperature', defaults.temperature);
const topP = numberInput('Top-p', defaults.topP);
const seed = numberInput('Seed', defaults.seed);

const generateButton = document.createElement('vscode-button');
generateButton.textContent = 'Generate';
generateButton.addEventListener('click', generate);
const cancelButton = document.createElement('vscode-button');
cancelButton.secondary = true;
cancelButton.textContent = 'Cancel';
cancelButton.disabled = true;
cancelButton.addEventListener('click', () => post({ type: 'cancel' }));
const status = h('span', 'queued');
status.setAttribute('role', 'status');

function sidePane(title: string): { root: HTMLElement; output: HTMLElement; stats: HTMLElement } {
  const output = h('div', 'output');
  output.setAttribute('aria-live', 'polite');
  output.tabIndex = 0;
  const stats = h('span', 'stats');
  return { root: h('section', 'side', h('h2', '', title, stats), output), output, stats };
}
const sides: Record<CompareSide, ReturnType<typeof sidePane>> = { base: sidePane('Base model'), adapter: sidePane('With adapter') };

app.append(h('h1', '', 'Compare base and adapter'), paths, prompt, settingsRow,
  h('div', 'actions', generateButton, cancelButton, status), h('div', 'sides', sides.base.root, sides.adapter.root));

/** Appends a streamed piece; U+FFFD (bytes the model made that are not UTF-8) is marked and explained on hover. */
function appendOutput(output: HTMLElement, text: string): void {
  for (const run of outputRuns(text)) {
    if (!run.invalid) {
      output.append(run.text);
      continue;
    }
    const mark = h('span', 'invalid-bytes', run.text);
    mark.title = INVALID_BYTES_TITLE;
    output.append(mark);
  }
}

function readSettings(): GenerateSettings | string {
  const s = { maxNewTokens: Number(maxTokens.value), temperature: Number(temperature.value), topP: Number(topP.value), seed: Number(seed.value) };
  if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens < 1 || s.maxNewTokens > 8192) return 'Max new tokens must be a whole number from 1 to 8192';
  if (!Number.isFinite(s.temperature) || s.temperature < 0) return 'Temperature must be ≥ 0 (0 = greedy)';
  if (!Number.isFinite(s.topP) || s.topP <= 0 || s.topP > 1) return 'Top-p must be in (0, 1]';
  if (!Number.isInteger(s.seed) || s.seed < 0) return 'Seed must be a whole number ≥ 0';
  return s;
}

function remember(): void {
  const s = readSettings();
  api.setState({ model: modelInput.value, adapter: adapterInput.value, prompt: prompt.value, settings: typeof s === 'string' ? defaults : s });
}

function generate(): void {
  const settings = readSettings();
  if (typeof settings === 'string') {
    status.textContent = settings;
    return;
  }
  if (!modelInput.value.trim() || !adapterInput.value.trim() || !prompt.value.trim()) {
    status.textContent = 'Choose a base model and an adapter, and write a prompt.';
    return;
  }
  for (const side of Object.values(sides)) {
    side.output.textContent = '';
    side.output.classList.remove('error');
    side.stats.textContent = 'waiting…';
  }
  status.textContent = '';
  generateButton.disabled = true;
  cancelButton.disabled = false;
  post({ type: 'generate', model: modelInput.value.trim(), adapter: adapterInput.value.trim(), prompt: prompt.value, settings });
}

let finished = 0;
function sideFinished(): void {
  finished++;
  if (finished >= 2) {
    generateButton.disabled = false;
    cancelButton.disabled = true;
    finished = 0;
  }
}

function onMessage(m: CompareHostMessage): void {
  switch (m.type) {
    case 'init':
      modelInput.value = saved?.model || m.model || '';
      adapterInput.value = saved?.adapter || m.adapter || '';
      prompt.value = saved?.prompt ?? '';
      for (const [input, value] of [[maxTokens, m.settings.maxNewTokens], [temperature, m.settings.temperature], [topP, m.settings.topP], [seed, m.settings.seed]] as const) {
        input.value = String(value);
      }
      saved = undefined;
      return;
    case 'path':
      (m.field === 'model' ? modelInput : adapterInput).value = m.path;
      remember();
      return;
    case 'queued':
      status.textContent = m.message;
      return;
    case 'token':
      sides[m.side].stats.textContent = 'generating…';
      appendOutput(sides[m.side].output, m.text);
      return;
    case 'done':
      sides[m.side].stats.textContent = `${m.tokens} tokens · ${m.tokensPerSecond.toFixed(1)} tok/s · ${m.seconds.toFixed(1)} s${m.memoryMb !== undefined ? ` · ${Math.round(m.memoryMb).toLocaleString('en-US')} MiB` : ''}`;
      sideFinished();
      return;
    case 'error':
      if (m.side) {
        sides[m.side].output.classList.add('error');
        sides[m.side].output.textContent = m.message;
        sides[m.side].stats.textContent = 'failed';
        sideFinished();
      } else {
        status.textContent = m.message;
        generateButton.disabled = false;
        cancelButton.disabled = true;
        finished = 0;
      }
      return;
  }
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isCompareHostMessage(event.data)) onMessage(event.data);
});
post({ type: 'ready' });
