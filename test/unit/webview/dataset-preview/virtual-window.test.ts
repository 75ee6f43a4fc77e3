import { test } from 'node:test';
import assert from 'node:assert/strict';
import { visibleWindow, scrollTopToReveal, moveSelection, MAX_SCROLL_HEIGHT, scrollRatio } from '../../../../webview/dataset-preview/virtual-window';

test('small tables render the visible rows plus overscan at their true offsets', () => {
  const w = visibleWindow({ scrollTop: 0, viewportHeight: 100, rowHeight: 20, total: 1000, overscan: 2 });
  assert.deepEqual(w, { first: 0, end: 8, offsetY: 0, spacerHeight: 20_000 });
  const mid = visibleWindow({ scrollTop: 1010, viewportHeight: 100, rowHeight: 20, total: 1000, overscan: 2 });
  assert.equal(mid.first, 48);
  assert.equal(mid.end, 50 + 6 + 2);
  assert.equal(mid.offsetY, 48 * 20);
  // Every row intersecting the viewport is rendered.
  for (let top = 0; top <= 20_000 - 100; top += 7) {
    const v = visibleWindow({ scrollTop: top, viewportHeight: 100, rowHeight: 20, total: 1000, overscan: 0 });
    assert.ok(v.first <= Math.floor(top / 20) && v.end >= Math.min(1000, Math.ceil((top + 100) / 20)), `at ${top}`);
  }
});

test('empty, short and over-scrolled tables', () => {
  assert.deepEqual(visibleWindow({ scrollTop: 50, viewportHeight: 100, rowHeight: 20, total: 0 }), { first: 0, end: 0, offsetY: 0, spacerHeight: 0 });
  const short = visibleWindow({ scrollTop: 0, viewportHeight: 500, rowHeight: 20, total: 3 });
  assert.deepEqual([short.first, short.end], [0, 3]);
  const past = visibleWindow({ scrollTop: 1e9, viewportHeight: 100, rowHeight: 20, total: 1000, overscan: 0 });
  assert.equal(past.end, 1000);
  assert.equal(past.offsetY + (past.end - past.first) * 20, 20_000, 'the last row ends at the spacer bottom');
});

test('huge tables compress the scroll range yet reach the first and last rows', () => {
  const total = 10_000_000;
  const rowHeight = 22;
  const viewportHeight = 600;
  const ratio = scrollRatio(total, rowHeight, viewportHeight);
  assert.ok(ratio > 1);
  const top = visibleWindow({ scrollTop: 0, viewportHeight, rowHeight, total, overscan: 0 });
  assert.equal(top.spacerHeight, MAX_SCROLL_HEIGHT);
  assert.equal(top.first, 0);
  const bottom = visibleWindow({ scrollTop: MAX_SCROLL_HEIGHT - viewportHeight, viewportHeight, rowHeight, total, overscan: 0 });
  assert.equal(bottom.end, total);
  // The rendered block stays inside the spacer and covers the viewport.
  assert.ok(bottom.offsetY >= 0 && bottom.offsetY + (bottom.end - bottom.first) * rowHeight <= MAX_SCROLL_HEIGHT + rowHeight);
  const middle = visibleWindow({ scrollTop: 7_000_000, viewportHeight, rowHeight, total, overscan: 0 });
  assert.ok(middle.offsetY <= 7_000_000 && middle.offsetY + (middle.end - middle.first) * rowHeight >= 7_000_000 + viewportHeight);
  // Revealing a row then windowing there shows that row.
  const row = 8_765_432;
  const scrollTop = scrollTopToReveal(row, 0, viewportHeight, rowHeight, total);
  const shown = visibleWindow({ scrollTop, viewportHeight, rowHeight, total, overscan: 0 });
  assert.ok(shown.first <= row && row < shown.end);
});

test('scrollTopToReveal moves only when needed', () => {
  assert.equal(scrollTopToReveal(3, 100, 200, 20, 1000), 60); // above → align top
  assert.equal(scrollTopToReveal(10, 100, 200, 20, 1000), 100); // inside → unchanged
  assert.equal(scrollTopToReveal(5, 0, 200, 20, 1000), 0); // already visible
  assert.equal(scrollTopToReveal(20, 0, 200, 20, 1000), 220); // below → align bottom
});

test('keyboard moves clamp to the rows', () => {
  assert.equal(moveSelection('ArrowDown', -1, 10, 5), 0);
  assert.equal(moveSelection('ArrowDown', 9, 10, 5), 9);
  assert.equal(moveSelection('ArrowUp', 0, 10, 5), 0);
  assert.equal(moveSelection('PageDown', 0, 100, 11), 10);
  assert.equal(moveSelection('PageUp', 5, 100, 11), 0);
  assert.equal(moveSelection('End', 3, 100, 11), 99);
  assert.equal(moveSelection('Home', 50, 100, 11), 0);
  assert.equal(moveSelection('x', 3, 100, 11), null);
  assert.equal(moveSelection('ArrowDown', 0, 0, 11), null);
});
