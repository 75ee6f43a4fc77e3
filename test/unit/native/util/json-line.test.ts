// Tests native/util/json-line.ts: a JSON object line is returned as the object; text, numbers, null and arrays are not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonObjectOf } from '../../../../native/util/json-line';

test('an object line is its object; human-readable text, scalars, null and arrays are undefined', () => {
  assert.deepEqual(jsonObjectOf('{"type":"progress","done":1}'), { type: 'progress', done: 1 });
  for (const line of ['merging 3 of 10…', '', '42', 'null', '"text"', '[1,2]', '{"cut":']) assert.equal(jsonObjectOf(line), undefined, line);
});
