// Dataset Preview webview entry: builds the toolbar (search, template, unit, Model…, Open in text editor), the
// virtual table and the statistics / detail panes, and talks to the host through the typed protocol.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import { isHostMessage, type HostMessage, type RowData, type TemplateChoice, type TokenAvailability, type WebviewMessage, type LengthUnit } from './protocol';
import { RecordTable, el } from './table';
import { renderDetail, renderStats, formatCount } from './panes';
import { styles } from './styles';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
const vscode = acquireVsCodeApi();
const post = (message: WebviewMessage): void => vscode.postMessage(message);

const app = document.getElementById('app') as HTMLElement;
const style = document.createElement('style');
style.nonce = app.dataset.nonce ?? '';
style.textContent = styles;
document.head.append(style);

// Toolbar.
const toolbar = el('div', 'toolbar');
const fileName = el('span', 'file', '');
const count = document.createElement('vscode-badge');
count.textContent = '…';
const search = document.createElement('vscode-textfield');
search.placeholder = 'Filter records (contains, case-insensitive)';
search.setAttribute('aria-label', 'Filter records');
const status = el('span', 'status', '');
const templateLabel = el('label', '', 'Template');
const templateSelect = document.createElement('vscode-single-select');
templateSelect.setAttribute('aria-label', 'Prompt template');
templateLabel.append(templateSelect);
const unitLabel = el('label', '', 'Length in');
const unitSelect = document.createElement('vscode-single-select');
unitSelect.setAttribute('aria-label', 'Length unit');
unitLabel.append(unitSelect);
const tokenReason = el('span', 'reason', '');
const modelButton = document.createElement('vscode-button');
modelButton.textContent = 'Model…';
modelButton.secondary = true;
modelButton.title = 'Choose a Hugging Face model folder: its chat template and tokenizer';
const openButton = document.createElement('vscode-button');
openButton.textContent = 'Open in text editor';
openButton.secondary = true;
toolbar.append(fileName, count, search, status, templateLabel, unitLabel, tokenReason, modelButton, openButton);

const progressRow = el('div', 'progress');
const progress = document.createElement('vscode-progress-bar');
progress.max = 1;
progressRow.append(progress);

// Table and panes.
let template: TemplateChoice = 'alpaca';
let selectedLine = 0;
let detailTimer = 0;
const table = new RecordTable({
  requestRows: (viewId, from, n) => post({ type: 'rows', viewId, from, count: n }),
  selected: (row) => {
    selectedLine = row?.line ?? 0;
    clearTimeout(detailTimer);
    // Debounced: holding an arrow key must not flood the host with detail renders.
    if (row) detailTimer = window.setTimeout(() => post({ type: 'detail', line: row.line, template }), 120);
  },
  openDetail: (row: RowData) => {
    post({ type: 'detail', line: row.line, template });
    pendingFocus = row.line;
  },
  openLine: (row: RowData) => post({ type: 'openLine', line: row.line }),
});
let pendingFocus = 0;
const bottom = el('div', 'bottom');
const statsPane = el('section', 'stats');
statsPane.setAttribute('aria-label', 'Length statistics');
const detailPane = el('section', 'detail');
detailPane.setAttribute('aria-label', 'Selected record');
detailPane.append(hint());
bottom.append(statsPane, detailPane);
app.append(toolbar, progressRow, table.element, bottom);

function hint(): HTMLElement {
  const p = el('p', 'hint');
  const parts: (string | HTMLElement)[] = ['Select a row: ', el('kbd', '', '↑'), ' ', el('kbd', '', '↓'), ' ', el('kbd', '', 'PgUp'), ' ', el('kbd', '', 'PgDn'),
    ' move, ', el('kbd', '', 'Enter'), ' training text, ', el('kbd', '', 'G'), ' go to the line in the text editor, ', el('kbd', '', '/'), ' filter.'];
  p.append(...parts);
  return p;
}

function setOptions(select: HTMLElement & { value: string }, options: { value: string; label: string; disabled?: boolean }[], value: string): void {
  select.replaceChildren(...options.map((o) => {
    const option = document.createElement('vscode-option');
    option.value = o.value;
    option.textContent = o.label;
    option.disabled = o.disabled ?? false;
    option.selected = o.value === value;
    return option;
  }));
  select.value = value;
}

function setModelState(tokens: TokenAvailability, templates: TemplateChoice[], chosen: TemplateChoice, unit: LengthUnit = 'chars'): void {
  template = chosen;
  setOptions(templateSelect, templates.map((t) => ({ value: t, label: t === 'alpaca' ? 'Alpaca' : 'Model chat template' })), chosen);
  setOptions(unitSelect, [
    { value: 'chars', label: 'characters' },
    { value: 'tokens', label: tokens.available ? `tokens (${tokens.model})` : 'tokens', disabled: !tokens.available },
  ], tokens.available ? unit : 'chars');
  tokenReason.textContent = tokens.available ? '' : `Tokens: ${tokens.reason}.`;
}

let searchTimer = 0;
search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = window.setTimeout(() => post({ type: 'search', query: search.value }), 200);
});
search.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && search.value) {
    search.value = '';
    post({ type: 'search', query: '' });
  } else if (event.key === 'ArrowDown' || event.key === 'Enter') {
    event.preventDefault();
    table.focus();
  }
});
document.addEventListener('keydown', (event) => {
  if (event.key === '/' && !(event.target instanceof HTMLElement && event.target.closest('vscode-textfield'))) {
    event.preventDefault();
    search.focus();
  }
});
templateSelect.addEventListener('change', () => {
  template = templateSelect.value === 'chat' ? 'chat' : 'alpaca';
  if (selectedLine) post({ type: 'detail', line: selectedLine, template });
});
unitSelect.addEventListener('change', () => post({ type: 'stats', unit: unitSelect.value === 'tokens' ? 'tokens' : 'chars' }));
modelButton.addEventListener('click', () => post({ type: 'pickModel' }));
openButton.addEventListener('click', () => post({ type: 'openLine', line: selectedLine }));

let records = 0;
function showCount(total: number, query: string, complete: boolean): void {
  count.textContent = query ? `${formatCount(total)} of ${formatCount(records)}${complete ? '' : '…'}` : `${formatCount(total)} records`;
}

function onMessage(message: HostMessage): void {
  switch (message.type) {
    case 'init':
      fileName.textContent = message.fileName;
      status.textContent = `indexing ${formatCount(message.bytes / 1e6)} MB…`;
      setModelState(message.tokens, message.templates, message.template);
      return;
    case 'indexProgress':
      progress.value = message.fraction;
      progress.hidden = message.fraction >= 1;
      if (message.fraction < 1) status.textContent = `indexing… ${Math.floor(message.fraction * 100)}%`;
      return;
    case 'indexed':
      records = message.records;
      progressRow.replaceChildren(progress); // Clears an error banner from an earlier failed read.
      status.textContent = `${formatCount(message.lines)} lines${message.blank ? `, ${formatCount(message.blank)} blank` : ''}, indexed in ${message.seconds.toFixed(1)} s`;
      progress.hidden = true;
      return;
    case 'view':
      table.setView(message.viewId, message.total);
      showCount(message.total, message.query, message.complete);
      progress.hidden = message.complete;
      if (!message.complete) progress.value = message.fraction;
      return;
    case 'rows':
      table.addRows(message.viewId, message.rows);
      return;
    case 'stats':
      renderStats(statsPane, message);
      return;
    case 'detail':
      if (message.line !== selectedLine && message.line !== pendingFocus) return; // A stale answer.
      renderDetail(detailPane, message);
      if (pendingFocus === message.line) {
        pendingFocus = 0;
        (detailPane.querySelector('.training-text') as HTMLElement | null ?? detailPane).focus();
        detailPane.scrollTop = 0;
      }
      return;
    case 'model':
      setModelState(message.tokens, message.templates, message.template, message.tokens.available ? 'tokens' : 'chars');
      if (selectedLine) post({ type: 'detail', line: selectedLine, template });
      return;
    case 'error': {
      status.textContent = ''; // Not "indexing…": the banner says why nothing is shown.
      const banner = el('div', 'error-banner', message.message);
      banner.setAttribute('role', 'alert');
      progressRow.replaceChildren(banner);
      return;
    }
  }
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isHostMessage(event.data)) onMessage(event.data);
});
detailPane.tabIndex = -1;
post({ type: 'ready' });
