// The virtualized record table: only the rows in view (plus a few) exist in the DOM, at a fixed row height over a
// spacer; rows arrive from the host in blocks and are cached per view. Keyboard: arrows, PageUp/Down, Home/End,
// Enter (training text), G (go to the line in the text editor). An ARIA grid, so screen readers announce rows.
import type { RowData } from './protocol';
import { moveSelection, scrollTopToReveal, visibleWindow } from './virtual-window';

export const ROW_HEIGHT = 24;
const BLOCK = 100;

export interface TableCallbacks {
  requestRows(viewId: number, from: number, count: number): void;
  selected(row: RowData | null): void;
  openDetail(row: RowData): void;
  openLine(row: RowData): void;
}

type Layout = 'alpaca' | 'chat';

export class RecordTable {
  readonly element: HTMLElement;
  private readonly header: HTMLElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private viewId = -1;
  private total = 0;
  private selectedRow = -1;
  private layoutDecided = false;
  private cache = new Map<number, RowData>();
  private requested = new Set<number>();
  private frame = 0;

  constructor(private readonly callbacks: TableCallbacks) {
    this.element = el('div', 'table');
    this.header = el('div', 'row header');
    this.header.setAttribute('role', 'row');
    this.viewport = el('div', 'viewport');
    this.viewport.tabIndex = 0;
    this.viewport.setAttribute('role', 'grid');
    this.viewport.setAttribute('aria-label', 'Dataset records');
    this.spacer = el('div', 'spacer');
    this.body = el('div', 'rows');
    this.spacer.append(this.body);
    this.viewport.append(this.spacer);
    this.element.append(this.header, this.viewport);
    this.viewport.addEventListener('scroll', () => this.schedule());
    this.viewport.addEventListener('keydown', (event) => this.onKey(event));
    new ResizeObserver(() => this.schedule()).observe(this.viewport);
    this.setLayout('alpaca');
  }

  focus(): void {
    this.viewport.focus();
  }

  /** A new view (new file state or search) resets the cache; the same view growing only extends the row count. */
  setView(viewId: number, total: number): void {
    if (viewId !== this.viewId) {
      this.viewId = viewId;
      this.cache.clear();
      this.requested.clear();
      this.selectedRow = -1;
      this.viewport.scrollTop = 0;
      this.callbacks.selected(null);
    }
    this.total = total;
    this.viewport.setAttribute('aria-rowcount', String(total));
    this.schedule();
  }

  addRows(viewId: number, rows: RowData[]): void {
    if (viewId !== this.viewId) return;
    for (const row of rows) this.cache.set(row.row, row);
    const first = rows.find((r) => r.kind !== 'invalid');
    if (first && !this.layoutDecided) {
      this.layoutDecided = true;
      this.setLayout(first.kind === 'chat' ? 'chat' : 'alpaca');
    }
    this.schedule();
    if (this.selectedRow >= 0 && rows.some((r) => r.row === this.selectedRow)) this.callbacks.selected(this.cache.get(this.selectedRow) ?? null);
  }

  /** Column headers follow the first valid record's format; rows of the other format still render in place. */
  setLayout(layout: Layout): void {
    this.header.replaceChildren(
      ...(layout === 'chat' ? ['Line', 'Turns', 'Conversation', 'Chars'] : ['Line', 'Instruction', 'Input', 'Output', 'System', 'Chars']).map((title) => {
        const cell = el('div', 'cell', title);
        cell.setAttribute('role', 'columnheader');
        return cell;
      }),
    );
    this.element.dataset.layout = layout;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const viewportHeight = this.viewport.clientHeight;
    const window = visibleWindow({ scrollTop: this.viewport.scrollTop, viewportHeight, rowHeight: ROW_HEIGHT, total: this.total });
    this.spacer.style.height = `${window.spacerHeight}px`;
    // Keep header columns over their cells when a vertical scrollbar takes width from the rows.
    this.header.style.paddingRight = `${this.viewport.offsetWidth - this.viewport.clientWidth}px`;
    this.body.style.transform = `translateY(${window.offsetY}px)`;
    this.fetchMissing(window.first, window.end);
    const rows: HTMLElement[] = [];
    for (let r = window.first; r < window.end; r++) rows.push(this.renderRow(r, this.cache.get(r)));
    this.body.replaceChildren(...rows);
    // The grid keeps focus; the selected row is announced through aria-activedescendant.
    if (this.selectedRow >= window.first && this.selectedRow < window.end) this.viewport.setAttribute('aria-activedescendant', `row-${this.selectedRow}`);
    else this.viewport.removeAttribute('aria-activedescendant');
    this.evictFar(window.first, window.end);
  }

  /** Asks for the blocks of rows in view that are neither cached nor already asked for. */
  private fetchMissing(first: number, end: number): void {
    for (let block = Math.floor(first / BLOCK); block * BLOCK < end; block++) {
      if (this.requested.has(block)) continue;
      this.requested.add(block);
      this.callbacks.requestRows(this.viewId, block * BLOCK, BLOCK);
    }
  }

  /** Keeps the cache to the blocks near the view, so scrolling a million rows does not grow memory. */
  private evictFar(first: number, end: number): void {
    if (this.cache.size < 40 * BLOCK) return;
    const keepFrom = Math.floor(first / BLOCK) - 10;
    const keepTo = Math.floor(end / BLOCK) + 10;
    for (const row of this.cache.keys()) {
      const block = Math.floor(row / BLOCK);
      if (block < keepFrom || block > keepTo) {
        this.cache.delete(row);
        this.requested.delete(block);
      }
    }
  }

  private renderRow(r: number, data: RowData | undefined): HTMLElement {
    const row = el('div', 'row');
    row.setAttribute('role', 'row');
    row.setAttribute('aria-rowindex', String(r + 1));
    row.id = `row-${r}`;
    row.setAttribute('aria-selected', String(r === this.selectedRow));
    row.addEventListener('click', () => this.select(r));
    row.addEventListener('dblclick', () => data && this.callbacks.openDetail(data));
    if (!data) {
      row.append(cell('…', 'pending'));
      return row;
    }
    row.classList.add(data.kind);
    row.append(cell(String(data.line), 'num'));
    if (data.kind === 'invalid') {
      const message = cell(`⚠ ${data.error}`, 'error');
      message.title = data.text;
      row.append(message);
    } else if (data.kind === 'chat') {
      row.append(cell(String(data.messages.length), 'num'));
      const conversation = cell('', 'conversation');
      for (const m of data.messages) {
        conversation.append(el('span', `role role-${m.role}`, m.role), el('span', 'content', m.content.replace(/\s+/g, ' ')));
      }
      row.append(conversation, cell(data.chars.toLocaleString(), 'num'));
    } else {
      for (const text of [data.instruction, data.input, data.output, data.system]) row.append(cell(text.replace(/\s+/g, ' ')));
      row.append(cell(data.chars.toLocaleString(), 'num'));
    }
    return row;
  }

  private select(r: number): void {
    this.selectedRow = r;
    this.viewport.scrollTop = scrollTopToReveal(r, this.viewport.scrollTop, this.viewport.clientHeight, ROW_HEIGHT, this.total);
    this.schedule();
    this.callbacks.selected(this.cache.get(r) ?? null);
  }

  private onKey(event: KeyboardEvent): void {
    const pageRows = Math.max(1, Math.floor(this.viewport.clientHeight / ROW_HEIGHT));
    const next = moveSelection(event.key, this.selectedRow, this.total, pageRows);
    if (next !== null) {
      event.preventDefault();
      this.select(next);
      return;
    }
    const data = this.cache.get(this.selectedRow);
    if (event.key === 'Enter' && data) {
      event.preventDefault();
      this.callbacks.openDetail(data);
    } else if ((event.key === 'g' || event.key === 'G') && !event.ctrlKey && !event.metaKey && data) {
      event.preventDefault();
      this.callbacks.openLine(data);
    }
  }
}

export function el(tag: string, className: string, text?: string): HTMLElement {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function cell(text: string, extra = ''): HTMLElement {
  const node = el('div', `cell ${extra}`.trim(), text);
  node.setAttribute('role', 'gridcell');
  return node;
}
