// Tests of webview/training-panel/describe.ts: the panel's one-line summaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeAdapter, describeDataset, describeDevice, describeTokens, memoryParts } from '../../../../webview/training-panel/describe';

test('dataset lines: checking, clean, with errors', () => {
  assert.equal(describeDataset(undefined), '');
  assert.equal(describeDataset({ path: '/d', label: 'd' }), 'checking…');
  assert.equal(describeDataset({ path: '/d', label: 'd', format: 'alpaca', records: 1234, errors: 0 }), 'alpaca · 1,234 records · no errors');
  assert.equal(describeDataset({ path: '/d', label: 'd', format: 'chat', records: 1, errors: 2, firstError: 'line 3: "messages" must be an array' }),
    'chat · 1 record · 2 errors (line 3: "messages" must be an array)');
});

test('a file that is no dataset (UTF-16) is described by its error alone', () => {
  const fileError = '/w/d.jsonl: the file is UTF-16 (little-endian); datasets must be UTF-8 — convert it: iconv -f UTF-16LE -t UTF-8 /w/d.jsonl > /w/d.utf8.jsonl (or re-save it as UTF-8 in your editor)';
  assert.equal(describeDataset({ path: '/w/d.jsonl', label: 'd.jsonl', records: 0, errors: 1, fileError }), fileError);
});

test('token statistics say how many records will be truncated', () => {
  const tokens = { count: 10, min: 5, median: 120.4, p95: 410, max: 900, overLimit: 12, limit: 512 };
  assert.equal(describeTokens({ path: '/d', label: 'd', tokens }), 'tokens per record: median 120 · p95 410 · max 900 · 12 longer than 512 (truncated)');
  assert.match(describeTokens({ path: '/d', label: 'd', tokens: { ...tokens, overLimit: 0 } }), /all fit in 512$/);
});

test('device and memory parts', () => {
  assert.equal(describeDevice({ id: 'cuda:0', label: 'H100 (cuda:0)', freeBytes: 2 * 2 ** 30, totalBytes: 4 * 2 ** 30 }), 'H100 (cuda:0) · 2.0 GiB free of 4.0 GiB');
  assert.equal(describeDevice({ id: 'cpu', label: 'CPU' }), 'CPU');
  const parts = memoryParts({ weights: 1, lora: 2, optimizer: 3, weightCopies: 4, activations: 5, loss: 6, runtime: 7, baseTerm: 0, allocator: 0, penalty: 0, total: 28 });
  assert.equal(parts.reduce((a, p) => a + p.bytes, 0), 28);
});

test('memory parts list a method\'s own terms only when it has them', () => {
  const base = { weights: 1, lora: 2, optimizer: 3, weightCopies: 4, activations: 5, loss: 6, runtime: 7, baseTerm: 0, allocator: 0, penalty: 0, total: 28 };
  assert.equal(memoryParts(base).length, 7);
  const ada = memoryParts({ ...base, allocator: 8, penalty: 9, total: 45 });
  assert.equal(ada.length, 9);
  assert.equal(ada.reduce((a, p) => a + p.bytes, 0), 45);
  assert.ok(memoryParts({ ...base, baseTerm: 10, total: 38 }).some((p) => /frozen low-rank/.test(p.label)));
});

test('adapter line per method: rank r, 2r for PiSSA, cycles × r for ReLoRA, AdaLoRA\'s final and largest size', () => {
  const mib = 2 ** 20;
  assert.equal(describeAdapter({ method: 'lora', adapterBytes: 2 * mib, adapterRank: 8 }, 8), '2.0 MiB (rank 8)');
  assert.match(describeAdapter({ method: 'pissa', adapterBytes: 4 * mib, adapterRank: 16 }, 8), /^4\.0 MiB \(rank 16 = 2 × r/);
  assert.equal(describeAdapter({ method: 'relora', adapterBytes: 6 * mib, adapterRank: 24, reloraCycles: 3 }, 8), '6.0 MiB (rank 24 = 3 cycles × r 8)');
  assert.match(describeAdapter({ method: 'relora', adapterBytes: 2 * mib, adapterRank: 8 }, 8), /a cycle \(rank 8\); k cycles save one LoRA of rank k × 8/);
  assert.match(describeAdapter({ method: 'adalora', adapterBytes: 2 * mib, adapterRank: 8, adapterMaxBytes: 3 * mib }, 12), /^about 2\.0 MiB at the end \(target_r 8 .*at most 3\.0 MiB \(init_r\)$/);
});
