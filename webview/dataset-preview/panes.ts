// The two information panes of the Dataset Preview: length statistics (summary numbers and a histogram drawn with
// plain CSS bars) and the selected record in full with its exact training text, where the loss-masked prompt and
// the trained response are visibly distinct (colour, and a text legend so colour is not the only cue).
import type { HostMessage, TextSegment } from './protocol';
import { el } from './table';

type StatsMessage = Extract<HostMessage, { type: 'stats' }>;
type DetailMessage = Extract<HostMessage, { type: 'detail' }>;

/** Compact numbers for narrow panes: 1234 → "1,234", 12345678 → "12.3M". */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const rounded = Math.round(value);
  if (Math.abs(rounded) >= 10_000_000) return `${(rounded / 1_000_000).toFixed(1)}M`;
  return rounded.toLocaleString('en-US');
}

export function renderStats(target: HTMLElement, message: StatsMessage): void {
  const unit = message.unit === 'tokens' ? 'tokens' : 'characters';
  const progress = message.complete ? '' : ` — scanning… ${Math.floor(message.fraction * 100)}%`;
  const heading = el('div', 'stats-heading', `Length in ${unit} (${formatCount(message.valid)} records${message.invalid ? `, ${formatCount(message.invalid)} invalid` : ''})${progress}`);
  const stats = message.stats;
  if (!stats) {
    target.replaceChildren(heading, el('div', 'muted', message.complete ? 'No valid records to measure.' : ''));
    return;
  }
  const numbers = el('dl', 'stats-numbers');
  for (const [label, value] of [['min', stats.min], ['median', stats.median], ['p95', stats.p95], ['max', stats.max], ['mean', stats.mean]] as const) {
    numbers.append(el('dt', '', label), el('dd', '', formatCount(value)));
  }
  const chart = el('div', 'histogram');
  chart.setAttribute('role', 'img');
  const peak = Math.max(1, ...stats.bins.map((b) => b.count));
  chart.setAttribute('aria-label', `Histogram of record length in ${unit}: ${stats.bins.length} bins from ${formatCount(stats.bins[0]?.from ?? 0)} to ${formatCount(stats.bins.at(-1)?.to ?? 0)}`);
  for (const bin of stats.bins) {
    const bar = el('div', 'bar');
    const fill = el('div', 'fill');
    // Height through CSSOM (not a style attribute), which the strict CSP allows.
    fill.style.height = `${(bin.count / peak) * 100}%`;
    bar.title = `${formatCount(bin.from)}–${formatCount(bin.to)} ${unit}: ${formatCount(bin.count)} records`;
    bar.append(fill);
    chart.append(bar);
  }
  const axis = el('div', 'axis');
  axis.append(el('span', '', formatCount(stats.bins[0]?.from ?? 0)), el('span', '', formatCount(stats.bins.at(-1)?.to ?? 0)));
  target.replaceChildren(heading, numbers, chart, axis);
}

/** The training text as spans: masked (prompt) and trained (response) pieces with distinct styles and labels. */
export function segmentNodes(segments: TextSegment[]): HTMLElement {
  const pre = el('pre', 'training-text');
  for (const segment of segments) {
    const span = el('span', segment.train ? 'seg train' : 'seg masked', segment.text);
    span.title = segment.train ? 'trained: the loss is computed on these tokens' : 'loss-masked: context only, not trained on';
    pre.append(span);
  }
  return pre;
}

export function renderDetail(target: HTMLElement, message: DetailMessage): void {
  const parts: HTMLElement[] = [el('h3', 'detail-title', `Line ${message.line}`)];
  const trainingHeading = el('h4', '', 'Training text');
  trainingHeading.id = 'training-text-heading';
  parts.push(trainingHeading);
  if (message.segments) {
    const legend = el('div', 'legend');
    legend.append(el('span', 'seg masked', 'masked prompt (no loss)'), el('span', 'seg train', 'trained response'));
    const trainedChars = message.segments.filter((s) => s.train).reduce((n, s) => n + s.text.length, 0);
    const totalChars = message.segments.reduce((n, s) => n + s.text.length, 0);
    legend.append(el('span', 'muted', `${formatCount(trainedChars)} of ${formatCount(totalChars)} characters trained`));
    const text = segmentNodes(message.segments);
    text.tabIndex = 0;
    text.setAttribute('aria-labelledby', 'training-text-heading');
    parts.push(legend, text);
  }
  if (message.note) parts.push(el('p', 'note', message.note));
  parts.push(el('h4', '', 'Record'));
  for (const field of message.fields) {
    const block = el('div', 'field');
    block.append(el('div', 'field-label', field.label), el('pre', 'field-text', field.text));
    parts.push(block);
  }
  target.replaceChildren(...parts);
}
