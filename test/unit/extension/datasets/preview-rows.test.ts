import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecordLine, toRow, clip, recordChars, detailFields, PREVIEW_CHARS } from '../../../../extension/datasets/preview-rows';

test('alpaca and chat records parse; extra keys are ignored', () => {
  assert.deepEqual(parseRecordLine('{"instruction":"a","input":"b","output":"c","system":"s","id":7}'), {
    ok: true, record: { format: 'alpaca', instruction: 'a', input: 'b', output: 'c', system: 's' },
  });
  assert.deepEqual(parseRecordLine('{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}'), {
    ok: true, record: { format: 'chat', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }] },
  });
});

test('malformed lines give short errors naming the field', () => {
  const cases: [string, RegExp][] = [
    ['{"instruction":"a"', /not valid JSON/],
    ['[1,2]', /must be a JSON object, got array/],
    ['{"instruction":"a"}', /"output" is missing/],
    ['{"instruction":"a","output":3}', /"output" must be a string, got number/],
    ['{"messages":{}}', /"messages" must be an array, got object/],
    ['{"messages":[]}', /"messages" is empty/],
    ['{"messages":[{"role":"bot","content":"x"}]}', /messages\[0\]\.role must be/],
    ['{"messages":[{"role":"user","content":null}]}', /messages\[0\]\.content must be a string, got null/],
  ];
  for (const [line, pattern] of cases) {
    const parsed = parseRecordLine(line);
    assert.equal(parsed.ok, false, line);
    if (!parsed.ok) assert.match(parsed.error, pattern, line);
  }
});

test('rows clip long fields, count characters, and carry the 1-based line', () => {
  const long = 'x'.repeat(1000);
  const row = toRow(4, 5, JSON.stringify({ instruction: long, output: 'ok' }));
  assert.equal(row.kind, 'alpaca');
  if (row.kind !== 'alpaca') return;
  assert.equal(row.line, 5);
  assert.equal(row.row, 4);
  assert.equal(row.chars, 1002);
  assert.equal(row.instruction.length, PREVIEW_CHARS + 1);
  assert.ok(row.instruction.endsWith('…'));
  const bad = toRow(0, 1, 'oops');
  assert.equal(bad.kind, 'invalid');
  // Clipping never splits a surrogate pair.
  const emoji = clip('a' + '😀'.repeat(10), 4);
  assert.equal(emoji, 'a😀…');
});

test('recordChars and detailFields cover every field', () => {
  const alpaca = { format: 'alpaca' as const, instruction: 'ab', input: 'c', output: 'def', system: 'g' };
  assert.equal(recordChars(alpaca), 7);
  assert.deepEqual(detailFields(alpaca).map((f) => f.label), ['system', 'instruction', 'input', 'output']);
  const chat = { format: 'chat' as const, messages: [{ role: 'user' as const, content: 'hey' }, { role: 'assistant' as const, content: 'hello' }] };
  assert.equal(recordChars(chat), 8);
  assert.deepEqual(detailFields(chat).map((f) => f.label), ['1. user', '2. assistant']);
});
