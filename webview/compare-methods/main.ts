// Compare Methods view (webview entry): one comparison's table — a row per method as its run finishes (trainable
// parameters, output size, peak RSS, median step, tokens/s, train and eval loss), pending and running rows too — and
// every method's train loss overlaid in one uPlot chart (the dashboard's Chart), live while a method trains. The host
// runs `lora-studio compare-methods --json`; Cancel stops the running method and the ones after it.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { h, vscodeApi } from '../shared/dom';
import { isCompareMethodsHostMessage, type CompareMethodsWebviewMessage } from '../protocol';
import { compareCells } from '../../native/train/compare-methods';
import { Chart, themePalette } from '../dashboard/charts';
import { formats, MAIN_STYLE, type SeriesSpec } from '../dashboard/chart-specs';
import { chartTable, emptyState, reduce, type CompareMethodsState } from './state';

const api = vscodeApi<CompareMethodsWebviewMessage, never>();
const post = (m: CompareMethodsWebviewMessage): void => api.postMessage(m);
let state: CompareMethodsState = emptyState();

const app = document.getElementById('app') as HTMLElement;
const title = h('h1', '', 'Compare Methods');
const where = h('div', 'message');
const status = h('div', 'message');
const cancel = document.createElement('vscode-button');
cancel.textContent = 'Cancel';
cancel.secondary = true;
cancel.addEventListener('click', () => post({ type: 'cancel' }));
const table = h('table', 'methods');
const chart = new Chart('Train loss per method (as logged)');
const summary = h('div', 'summary');
const notes = h('div', 'notes');
app.append(h('div', 'head', h('div', 'title-row', title, cancel), where, status), table, notes, summary, chart.element);

function render(): void {
  where.textContent = state.model ? `${state.model} · ${state.data} · ${state.steps} steps each · runs in ${state.out}` : '';
  const running = state.methods.find((m) => m.phase === 'running');
  status.textContent = state.ended?.message ?? (running ? `${running.label}: step ${running.step} of ${running.totalSteps}…` : 'starting…');
  status.dataset.outcome = state.ended?.outcome ?? '';
  cancel.hidden = state.ended !== undefined;

  const done = state.methods.filter((m) => m.result);
  const { header, cells, notes: tableNotes } = compareCells(done.map((m) => m.result!));
  const head = h('tr', '', ...header.map((text) => h('th', '', text)), h('th', '', ''));
  const rows = state.methods.map((m) => {
    const i = done.indexOf(m);
    const values = i >= 0 ? cells[i] : [m.label, ...header.slice(1).map(() => '')];
    const phase = m.phase === 'running' ? `step ${m.step}/${m.totalSteps}` : m.phase === 'pending' ? 'waiting' : '';
    const open = h('td', '');
    if (m.runDir) {
      const link = h('a', '', 'Dashboard');
      link.href = '#';
      link.addEventListener('click', (e) => {
        e.preventDefault();
        post({ type: 'openRun', runDir: m.runDir! });
      });
      open.append(link);
    }
    const row = h('tr', m.phase, ...values.map((text, c) => h('td', c === 0 ? '' : 'num', c === 1 && phase ? phase : text)), open);
    if (m.result?.error) row.title = m.result.error;
    return row;
  });
  table.replaceChildren(h('thead', '', head), h('tbody', '', ...rows));
  notes.textContent = tableNotes.join('\n');

  const s = state.summary;
  summary.textContent = s ? [
    s.best_eval_loss ? `best eval loss: ${s.best_eval_loss.method} (${s.best_eval_loss.value.toFixed(4)})` : 'no eval loss (give eval data to compare quality)',
    s.smallest_output ? `smallest output: ${s.smallest_output.method}` : '',
    s.fastest ? `fastest: ${s.fastest.method} (${Math.round(s.fastest.median_step_ms)} ms/step)` : '',
  ].filter(Boolean).join(' · ') : '';

  const palette = themePalette();
  const colors = [palette.blue, palette.orange, palette.green, palette.red, palette.purple, palette.yellow];
  const series: SeriesSpec[] = state.methods.map((m, i) => ({ label: m.label, color: colors[i % colors.length], ...MAIN_STYLE, points: 'auto', spanGaps: true }));
  chart.update({ title: 'Train loss per method (as logged)', height: 280, log: false, format: formats.loss, xLabel: true, series }, chartTable(state.methods), 'The loss curves appear as the methods train.');
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (!isCompareMethodsHostMessage(event.data)) return;
  state = reduce(state, event.data);
  render();
});
window.addEventListener('resize', () => chart.resize());
render();
post({ type: 'ready' });
