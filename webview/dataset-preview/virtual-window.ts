// Virtual scrolling math for the record table (pure, DOM-free): which rows to render for a scroll position, where to
// put them, and keyboard moves. Fixed row height. Browsers cap an element's height (~33.5M px in Chromium), so past
// MAX_SCROLL_HEIGHT the scroll range is compressed: the spacer stays at the cap and scrollTop maps linearly onto the
// full virtual height, which keeps a million-row file scrollable end to end.

export const MAX_SCROLL_HEIGHT = 15_000_000;

export interface WindowInput {
  scrollTop: number;
  viewportHeight: number;
  rowHeight: number;
  total: number;
  /** Extra rows rendered above and below, so fast scrolling shows rows rather than blank space. */
  overscan?: number;
}

export interface RowWindow {
  /** First row to render and one past the last. */
  first: number;
  end: number;
  /** Where the first rendered row goes, in the spacer's coordinates (px). */
  offsetY: number;
  /** Height of the scroll spacer (px). */
  spacerHeight: number;
}

/** Virtual pixels per scroll pixel: 1 until the full height exceeds the cap. */
export function scrollRatio(total: number, rowHeight: number, viewportHeight: number): number {
  const full = total * rowHeight;
  if (full <= MAX_SCROLL_HEIGHT) return 1;
  return Math.max(1, (full - viewportHeight) / Math.max(1, MAX_SCROLL_HEIGHT - viewportHeight));
}

export function visibleWindow(input: WindowInput): RowWindow {
  const { rowHeight, total, viewportHeight } = input;
  const overscan = input.overscan ?? 5;
  const spacerHeight = Math.min(total * rowHeight, MAX_SCROLL_HEIGHT);
  if (total === 0 || rowHeight <= 0) return { first: 0, end: 0, offsetY: 0, spacerHeight };
  const ratio = scrollRatio(total, rowHeight, viewportHeight);
  const maxScroll = Math.max(0, spacerHeight - viewportHeight);
  const scrollTop = Math.min(Math.max(0, input.scrollTop), maxScroll);
  const virtualTop = scrollTop * ratio;
  const firstVisible = Math.min(total - 1, Math.floor(virtualTop / rowHeight));
  const visibleCount = Math.ceil(viewportHeight / rowHeight) + 1;
  const first = Math.max(0, firstVisible - overscan);
  const end = Math.min(total, firstVisible + visibleCount + overscan);
  // Rows keep their true spacing; the block is anchored so row `firstVisible` sits where it would unscaled.
  const offsetY = scrollTop - (virtualTop - first * rowHeight);
  return { first, end, offsetY, spacerHeight };
}

/** The scrollTop that brings `row` fully into view, moving as little as possible (unchanged if it already is). */
export function scrollTopToReveal(row: number, scrollTop: number, viewportHeight: number, rowHeight: number, total: number): number {
  const ratio = scrollRatio(total, rowHeight, viewportHeight);
  const virtualTop = scrollTop * ratio;
  const rowTop = row * rowHeight;
  if (rowTop < virtualTop) return rowTop / ratio;
  if (rowTop + rowHeight > virtualTop + viewportHeight) return (rowTop + rowHeight - viewportHeight) / ratio;
  return scrollTop;
}

/** Where a navigation key moves the selection (clamped to the rows), or null when the key is not a move. */
export function moveSelection(key: string, current: number, total: number, pageRows: number): number | null {
  if (total === 0) return null;
  const page = Math.max(1, pageRows - 1);
  const start = current < 0 ? -1 : current;
  let next: number;
  switch (key) {
    case 'ArrowDown':
      next = start + 1;
      break;
    case 'ArrowUp':
      next = start - 1;
      break;
    case 'PageDown':
      next = start + page;
      break;
    case 'PageUp':
      next = start - page;
      break;
    case 'Home':
      next = 0;
      break;
    case 'End':
      next = total - 1;
      break;
    default:
      return null;
  }
  return Math.min(total - 1, Math.max(0, next));
}
