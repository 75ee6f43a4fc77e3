// Tests native/data/json-tree.ts against jsonc-parser's own parseTree (the reference): the same tree (types, values,
// offsets, lengths) and the same errors for lines with long strings, valid and broken; and that a line dense with
// escapes, which the reference turns into a rope of millions of pieces, is parsed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTree, type Node, type ParseError } from 'jsonc-parser';
import { LONG_LITERAL, parseJsonTree } from '../../../../native/data/json-tree';

const options = { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false };
const plain = (node: Node | undefined): unknown =>
  node && { type: node.type, value: node.value, offset: node.offset, length: node.length, colonOffset: node.colonOffset, children: node.children?.map(plain) };

/** The same errors and, unless `errorsOnly` (a broken string's value is not used: parseRecord stops at errors), tree. */
function same(text: string, errorsOnly = false): void {
  const expectedErrors: ParseError[] = [];
  const expected = plain(parseTree(text, expectedErrors, options));
  const errors: ParseError[] = [];
  const actual = plain(parseJsonTree(text, errors, options));
  assert.deepEqual(errors, expectedErrors, text.slice(0, 80));
  if (!errorsOnly) assert.deepEqual(actual, expected, text.slice(0, 80));
  else assert.ok(expectedErrors.length > 0, `${text.slice(0, 80)} is not broken`);
}

const long = (unit: string) => unit.repeat(Math.ceil(LONG_LITERAL / unit.length) + 3);

test('valid lines with long strings (escapes, unicode, long keys, nested chat records) give the reference tree', () => {
  const prose = long('line one\\nsays \\"hi\\" \\u00e9\\\\ é😀 ');
  for (const text of [
    `{"instruction":"${prose}","output":"short"}`,
    `{"${prose}":1,"output":"${prose}","n":[1,2,{"k":"${prose}"}],"x":null}`,
    `{"messages":[{"role":"user","content":"${prose}"},{"role":"assistant","content":"${long('\\\\')}"}]}`,
    `  {"a" : "${long('x')}" , "b":"${long('\\t')}"}  `,
    `{"a":"${long('"')}"}`.replace(/""/g, '"\\"'),
    `{"short":"no cut","a":"b"}`.repeat(60),
  ]) same(text);
});

test('broken lines with long strings give the reference errors at the same offsets', () => {
  const prose = long('ok \\n text ');
  for (const text of [
    `{"instruction":"${prose}\\x${prose}","output":"y"}`, // an invalid escape deep in a long string
    `{"instruction":"${prose}\\u12g4","output":"y"}`, // an unfinished \\u
    `{"instruction":"${prose}\t${prose}","output":"y"}`, // a raw control character
    `{"instruction":"${prose}`, // a long string that never ends
    `{"instruction":"${prose}" "output":"y"}`, // a missing comma after a long string
    `{"instruction":"${prose}","output":"${prose}",}`, // a trailing comma
    `["${prose}", tru, "${prose}"]`,
    `{"a":"${prose}"}}`,
  ]) same(text, true);
});

test('a line dense with escapes is parsed linearly (the reference builds a rope of a piece per escape)', () => {
  const value = 'ab\n'.repeat(2_000_000);
  const text = JSON.stringify({ instruction: 'x', output: value });
  const errors: ParseError[] = [];
  const root = parseJsonTree(text, errors, options);
  assert.deepEqual(errors, []);
  assert.equal(root?.children?.[1].children?.[1].value, value);
});
