// Run dashboard (webview entry): header with state, phase message, progress and ETA, the run's buttons, and the
// charts (loss raw/smoothed/eval with overlays of past runs, learning rate, grad norm, tokens/s, memory), and for
// AdaLoRA runs the rank budget over steps and the final rank per module (a layer × module grid).
// Everything drawn is derived from DashboardState, which the host rebuilds from the run folder on every `init`.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import { h, vscodeApi } from '../shared/dom';
import { isDashboardHostMessage, type DashboardHostMessage, type DashboardViewState, type DashboardWebviewMessage, type RunRef } from '../protocol';
import { applyEvent, chartTables, progressOf, stateFromInit, type DashboardState } from './run-state';
import { Chart, themePalette } from './charts';
import { formats, lossSeries, noisySeries, singleSeries, withAlpha, type ChartSpec, type Palette, type SeriesSpec } from './chart-specs';
import { rankGrid, rankSummary } from './rank-grid';
import type { ModuleRanks } from '../protocol';

const api = vscodeApi<DashboardWebviewMessage, DashboardViewState>();
const post = (m: DashboardWebviewMessage): void => api.postMessage(m);
// Smoothing 0.9 (an EMA over ~10 steps) by default: at 0.6 the smoothed loss of a noisy run is as jagged as the raw.
const view: DashboardViewState = api.getState() ?? { log: false, smoothing: 0.9 };
/** ~2 points per bucket: enough for the loss chart at any panel width, small enough to redraw every step. */
const BUCKETS = 1000;
/** The small charts are a few hundred pixels wide. */
const SMALL_BUCKETS = 300;

let state: DashboardState | undefined;
let history: RunRef[] = [];

const app = document.getElementById('app') as HTMLElement;
const title = h('h1', '', 'Run');
const badge = h('span', 'badge');
const message = h('p', 'message');
message.setAttribute('role', 'status');
message.setAttribute('aria-live', 'polite');
const progress = document.createElement('vscode-progress-bar');
progress.max = 1;
progress.ariaLabel = 'Training progress';
const progressText = h('span', 'progress-text');

function button(label: string, onClick: () => void, secondary = true) {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.secondary = secondary;
  b.addEventListener('click', onClick);
  return b;
}
const stop = button('Stop', () => {
  stop.disabled = true;
  post({ type: 'stop' });
}, false);
const resume = button('Resume', () => post({ type: 'resume' }), false);
const openFolder = button('Open folder', () => post({ type: 'openFolder' }));
const showLog = button('Show log', () => post({ type: 'showLog' }));

const logToggle = document.createElement('vscode-checkbox');
logToggle.label = 'Log scale';
logToggle.checked = view.log;
logToggle.addEventListener('change', () => {
  view.log = logToggle.checked;
  api.setState(view);
  draw();
});
const smoothing = document.createElement('vscode-single-select');
smoothing.setAttribute('aria-label', 'Smoothing');
for (const [value, label] of [['0', 'no smoothing'], ['0.6', 'smoothing 0.6'], ['0.9', 'smoothing 0.9'], ['0.97', 'smoothing 0.97'], ['0.99', 'smoothing 0.99']]) {
  const o = document.createElement('vscode-option');
  o.value = value;
  o.textContent = label;
  smoothing.append(o);
}
smoothing.value = String(view.smoothing);
smoothing.addEventListener('change', () => {
  view.smoothing = Number(smoothing.value);
  api.setState(view);
  draw();
});
const overlay = document.createElement('vscode-single-select');
overlay.setAttribute('aria-label', 'Overlay a past run');
overlay.addEventListener('change', () => {
  if (overlay.value) post({ type: 'overlay', runDir: overlay.value });
});

const lossChart = new Chart('Loss');
const lrChart = new Chart('Learning rate');
const gradChart = new Chart('Gradient norm');
const speedChart = new Chart('Tokens per second');
const memoryChart = new Chart('Memory (MiB)');
const rankChart = new Chart('Rank budget');
const rankFigure = h('figure', 'chart rank-grid');
rankFigure.hidden = true;
const adaloraRow = h('div', 'adalora-charts', rankChart.element, rankFigure);
adaloraRow.hidden = true;

app.append(
  h('header', 'head', h('div', 'title-row', title, badge), message,
    h('div', 'progress-row', progress, progressText),
    h('div', 'actions', stop, resume, openFolder, showLog, h('span', 'spacer'), smoothing, logToggle, overlay)),
  lossChart.element,
  h('div', 'small-charts', lrChart.element, gradChart.element, speedChart.element, memoryChart.element),
  adaloraRow,
);

const duration = (s: number): string => {
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m ${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h ${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
};

function draw(): void {
  if (!state) return;
  title.textContent = state.name;
  badge.textContent = state.state;
  badge.dataset.state = state.state;
  message.textContent = state.message ?? '';
  const p = progressOf(state);
  progress.value = p.fraction;
  progress.indeterminate = state.live && state.metrics.length === 0;
  progressText.textContent = state.totalSteps > 0
    ? `step ${state.step.toLocaleString('en-US')} / ${state.totalSteps.toLocaleString('en-US')} · elapsed ${duration(p.elapsedS)}${p.etaS !== undefined ? ` · ETA ${duration(p.etaS)}` : ''}`
    : '';
  stop.hidden = !state.live;
  stop.disabled = false;
  resume.hidden = !state.canResume;

  const tables = chartTables(state, BUCKETS, view.smoothing, SMALL_BUCKETS);
  const palette = themePalette();
  const waiting = state.metrics.length === 0 ? (state.message ?? 'waiting for the first step…') : 'no values';
  lossChart.update({ title: 'Loss', height: 260, log: view.log, format: formats.loss, xLabel: true,
    series: lossSeries(palette, view.smoothing, tables.overlayNames) }, tables.loss, waiting);
  const small = (title: string, series: SeriesSpec[], format: (v: number) => string, log = false, axisFormat?: (v: number) => string): ChartSpec =>
    ({ title, height: 140, log, format, axisFormat, xLabel: false, series });
  lrChart.update(small('Learning rate', singleSeries('lr', palette.green), formats.lr, false, formats.lr), tables.lr, waiting);
  gradChart.update(small('Gradient norm', noisySeries('grad norm', palette.red, view.smoothing), formats.plain, view.log), tables.gradNorm, waiting);
  speedChart.update(small('Tokens per second', noisySeries('tokens/s', palette.purple, view.smoothing), formats.plain), tables.tokensPerS, waiting);
  memoryChart.update(small('Memory (MiB)', singleSeries('MiB', palette.yellow), formats.plain), tables.memoryMb, waiting);
  // AdaLoRA only: the budget while it trains (metrics carry rank_budget), the grid once the adapter is written.
  rankChart.element.hidden = !tables.rankBudget;
  if (tables.rankBudget) rankChart.update(small('Rank budget', singleSeries('total rank', palette.blue), formats.step), tables.rankBudget, waiting);
  drawRanks(state.ranks, palette);
  adaloraRow.hidden = !tables.rankBudget && !state.ranks;
}

let ranksDrawn: { ranks: ModuleRanks | undefined; color: string } | undefined;
/** The final rank per module: a table of layers × module kinds, each cell shaded by its share of init_r. */
function drawRanks(ranks: ModuleRanks | undefined, palette: Palette): void {
  if (ranksDrawn && ranksDrawn.ranks === ranks && ranksDrawn.color === palette.blue) return;
  ranksDrawn = { ranks, color: palette.blue };
  rankFigure.hidden = !ranks;
  if (!ranks) return rankFigure.replaceChildren();
  const grid = rankGrid(ranks);
  const head = h('tr', '', h('th', ''), ...grid.columns.map((c) => h('th', '', c)));
  const rows = grid.rows.map((row) => h('tr', '', h('th', '', row.label), ...row.cells.map((cell) => {
    const td = h('td', '', cell ? String(cell.rank) : '');
    if (cell) {
      td.title = `${cell.name}: rank ${cell.rank} of ${grid.initR}`;
      td.style.background = withAlpha(palette.blue, 0.08 + 0.6 * cell.fraction) ?? '';
    }
    return td;
  })));
  const table = h('table', '', h('thead', '', head), h('tbody', '', ...rows));
  table.setAttribute('aria-label', `Final rank per module, of init_r ${grid.initR}`);
  rankFigure.replaceChildren(h('figcaption', '', `Final rank per module (of ${grid.initR})`), h('div', 'rank-scroll', table), h('p', 'rank-summary', rankSummary(grid)));
}

/** Live steps can arrive many times a second: draw at most once per animation frame. */
let frame = 0;
function schedule(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    draw();
  });
}

function fillOverlayOptions(): void {
  const options = [{ value: '', label: 'Compare with…' }, ...history.filter((r) => r.runDir !== state?.runDir && !state?.overlays.has(r.runDir)).map((r) => ({ value: r.runDir, label: r.name }))];
  overlay.replaceChildren(...options.map((o) => {
    const el = document.createElement('vscode-option');
    el.value = o.value;
    el.textContent = o.label;
    return el;
  }));
  overlay.value = '';
  overlay.hidden = options.length <= 1;
}

function onMessage(m: DashboardHostMessage): void {
  switch (m.type) {
    case 'init': {
      const overlays = state?.runDir === m.runDir ? state.overlays : new Map();
      state = stateFromInit(m);
      state.overlays = overlays;
      if (view.runDir !== m.runDir) {
        view.runDir = m.runDir;
        api.setState(view);
      }
      history = m.history;
      fillOverlayOptions();
      draw();
      return;
    }
    case 'event':
      if (!state) return;
      applyEvent(state, m.event);
      schedule();
      return;
    case 'state':
      if (!state) return;
      state.state = m.state;
      state.live = m.live;
      state.canResume = m.canResume;
      if (m.message !== undefined) state.message = m.message;
      schedule();
      return;
    case 'overlay':
      if (!state) return;
      state.overlays.set(m.run.runDir, { run: m.run, metrics: m.metrics });
      fillOverlayOptions();
      draw();
      return;
  }
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isDashboardHostMessage(event.data)) onMessage(event.data);
});
const charts = [lossChart, lrChart, gradChart, speedChart, memoryChart, rankChart];
new ResizeObserver(() => charts.forEach((c) => c.resize())).observe(app);
// VS Code switches themes by changing body classes: recolor the charts then.
new MutationObserver(() => draw()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
post({ type: 'ready' });
