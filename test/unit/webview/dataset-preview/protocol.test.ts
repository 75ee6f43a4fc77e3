import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWebviewMessage, isHostMessage } from '../../../../webview/dataset-preview/protocol';

test('webview messages: each well-formed kind passes', () => {
  for (const message of [
    { type: 'ready' },
    { type: 'pickModel' },
    { type: 'rows', viewId: 3, from: 100, count: 100 },
    { type: 'search', query: 'hello' },
    { type: 'search', query: '' },
    { type: 'detail', line: 1, template: 'alpaca' },
    { type: 'detail', line: 42, template: 'chat' },
    { type: 'stats', unit: 'tokens' },
    { type: 'openLine', line: 0 },
  ]) assert.equal(isWebviewMessage(message), true, JSON.stringify(message));
});

test('webview messages: wrong shapes, types and out-of-range values are refused', () => {
  for (const message of [
    null, 'ready', [], {}, { type: 'nope' },
    { type: 'rows', viewId: -1, from: 0, count: 10 },
    { type: 'rows', viewId: 0, from: 0.5, count: 10 },
    { type: 'rows', viewId: 0, from: 0, count: 100000 },
    { type: 'rows', viewId: '0', from: 0, count: 10 },
    { type: 'search', query: 5 },
    { type: 'search', query: 'x'.repeat(1001) },
    { type: 'detail', line: 0, template: 'alpaca' },
    { type: 'detail', line: 3, template: 'llama' },
    { type: 'stats', unit: 'bytes' },
    { type: 'openLine', line: -2 },
    { type: 'openLine' },
  ]) assert.equal(isWebviewMessage(message), false, JSON.stringify(message));
});

test('host messages: known types pass, malformed ones are refused', () => {
  assert.equal(isHostMessage({ type: 'rows', viewId: 1, rows: [] }), true);
  assert.equal(isHostMessage({ type: 'view', viewId: 1, total: 5, query: '', complete: true, fraction: 1 }), true);
  assert.equal(isHostMessage({ type: 'detail', line: 2, fields: [], segments: null, note: '' }), true);
  assert.equal(isHostMessage({ type: 'indexProgress', fraction: 0.4 }), true);
  assert.equal(isHostMessage({ type: 'rows', viewId: 1 }), false);
  assert.equal(isHostMessage({ type: 'view', viewId: 1, total: -5, query: '' }), false);
  assert.equal(isHostMessage({ type: 'detail', line: 2, fields: [], segments: 'x' }), false);
  assert.equal(isHostMessage({ type: 'other' }), false);
  assert.equal(isHostMessage(undefined), false);
});
