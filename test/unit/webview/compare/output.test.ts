// Tests of webview/compare/output.ts: U+FFFD runs the model generated are split out to be marked; the text is kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outputRuns } from '../../../../webview/compare/output';

test('plain text is one run; U+FFFD runs are split out in order and nothing is lost', () => {
  assert.deepEqual(outputRuns('héllo 🤗 世界'), [{ text: 'héllo 🤗 世界', invalid: false }]);
  assert.deepEqual(outputRuns(''), []);
  const text = '->\uFFFDNameink\uFFFD\uFFFDext';
  const runs = outputRuns(text);
  assert.deepEqual(runs, [
    { text: '->', invalid: false }, { text: '\uFFFD', invalid: true }, { text: 'Nameink', invalid: false },
    { text: '\uFFFD\uFFFD', invalid: true }, { text: 'ext', invalid: false },
  ]);
  assert.equal(runs.map((r) => r.text).join(''), text);
  assert.deepEqual(outputRuns('\uFFFD'), [{ text: '\uFFFD', invalid: true }]);
});
