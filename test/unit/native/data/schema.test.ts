import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecord } from '../../../../native/data/schema';

const errorsOf = (text: string) => parseRecord(text, 7).problems.filter((p) => p.severity === 'error');

test('a valid alpaca record parses, with optional input and system', () => {
  const parsed = parseRecord('{"instruction":"Add","input":"2 and 3","output":"5","system":"be brief"}', 1);
  assert.deepEqual(parsed.problems, []);
  assert.deepEqual(parsed.record, { format: 'alpaca', instruction: 'Add', input: '2 and 3', output: '5', system: 'be brief' });
});

test('a valid chat record parses; system only first; alternation; ends with assistant', () => {
  const ok = parseRecord('{"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"},{"role":"assistant","content":"a"}]}', 1);
  assert.equal(ok.record?.format, 'chat');
  assert.match(errorsOf('{"messages":[{"role":"user","content":"u"},{"role":"user","content":"u2"},{"role":"assistant","content":"a"}]}')[0].message, /messages\[1\] is "user" but "assistant"/);
  assert.match(errorsOf('{"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a"},{"role":"user","content":"u2"}]}')[0].message, /end with an assistant/);
  assert.match(errorsOf('{"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a"},{"role":"system","content":"s"}]}')[0].message, /system turn may only come first/);
  assert.match(errorsOf('{"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}]}')[0].message, /end with an assistant|at least one user and one assistant/);
  assert.match(errorsOf('{"messages":[]}')[0].message, /empty/);
  assert.match(errorsOf('{"messages":[{"role":"bot","content":"x"},{"role":"assistant","content":"a"}]}')[0].message, /role must be "system", "user" or "assistant", got "bot"/);
});

test('malformed JSON is reported once, at the column of the offending character', () => {
  const problems = errorsOf('{"instruction": "a", "output": "b",}');
  assert.equal(problems.length, 1);
  assert.equal(problems[0].line, 7);
  assert.equal(problems[0].column, 36);
  assert.match(problems[0].message, /malformed JSON/);
  const unterminated = errorsOf('{"instruction": "a');
  assert.equal(unterminated.length, 1);
});

test('an invisible character at a syntax error is named by its code point; curly quotes say JSON needs straight ones', () => {
  assert.match(errorsOf('{"instruction":"a","output":"b"}\u0000')[0].message, /at U\+0000 \(an invisible character: remove it\)/);
  assert.match(errorsOf('\ufeff{"instruction":"a","output":"b"}')[0].message, /at U\+FEFF \(a byte-order mark inside the line: remove it\)/);
  assert.match(errorsOf('{"instruction":"a",\u00a0"output":"b"}')[0].message, /at U\+00A0/);
  const curly = errorsOf('{\u201cinstruction\u201d: "a", "output": "b"}')[0];
  assert.equal(curly.column, 2);
  assert.match(curly.message, /at '\u201c' \(a typographic quote: JSON needs straight " quotes\)/);
  assert.match(errorsOf('{"instruction": "a", "output": "b",}')[0].message, /at '}'/, 'a visible character is shown as it is');
});

test('not an object, missing, empty and ill-typed fields name the field and the column of the value', () => {
  assert.match(errorsOf('[1,2]')[0].message, /must be a JSON object, got array/);
  const missing = errorsOf('{"instruction":"x"}');
  assert.match(missing[0].message, /"output" is missing/);
  const empty = errorsOf('{"instruction":"  ","output":"y"}');
  assert.match(empty[0].message, /"instruction" is empty/);
  assert.equal(empty[0].column, 16);
  const typed = errorsOf('{"instruction":"x","output":42}');
  assert.match(typed[0].message, /"output" must be a string, got number — quote it/);
  assert.equal(typed[0].column, 29);
});

test('duplicate keys are errors (JSON.parse would keep the last silently)', () => {
  const problems = errorsOf('{"instruction":"x","output":"y","output":"z"}');
  assert.equal(problems.length, 1);
  assert.match(problems[0].message, /duplicate key "output"/);
  assert.equal(problems[0].column, 33);
});

test('unknown keys are warnings only, with a rename fix for known synonyms', () => {
  const parsed = parseRecord('{"instruction":"x","output":"y","id":3}', 1);
  assert.ok(parsed.record);
  assert.deepEqual(parsed.problems.map((p) => [p.severity, p.message]), [['warning', 'unknown key "id" is ignored']]);
  const synonym = parseRecord('{"instruction":"x","response":"y"}', 1);
  const warning = synonym.problems.find((p) => p.severity === 'warning');
  assert.deepEqual(warning?.fix, { kind: 'rename-key', from: 'response', to: 'output' });
  assert.ok(synonym.problems.some((p) => p.severity === 'error' && /"output" is missing/.test(p.message)));
});

test('a record of neither format says what each needs', () => {
  assert.match(errorsOf('{"text":"hello"}')[0].message, /neither an alpaca record .* nor a chat record/);
});

test('a line nested thousands of levels deep is an error at its first bracket past the limit, not a stack overflow', () => {
  for (const deep of ['['.repeat(5000) + ']'.repeat(5000), '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)]) {
    const text = `{"instruction":"x","output":"y","extra":${deep}}`;
    const { problems, record } = parseRecord(text, 7);
    assert.equal(record, undefined);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].line, 7);
    assert.match(problems[0].message, /nested more than 64 levels deep/);
  }
  // Brackets inside strings are text, not nesting.
  assert.ok(parseRecord(JSON.stringify({ instruction: '['.repeat(500), output: '{'.repeat(500) }), 1).record);
});
