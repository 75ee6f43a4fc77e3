// Tests native/export/cluster/yaml.ts without Python: numbers in the form PyYAML (YAML 1.1) reads as floats, strings
// as JSON, nesting (mappings in lists on the dash's line), empty collections, undefined left out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toYaml, yamlNumber } from '../../../../../native/export/cluster/yaml';

test('exponent forms get a dot and a two-digit signed exponent (PyYAML reads "1e-7" as a string)', () => {
  assert.deepEqual([1e-7, -2.5e-8, 1e21, 3e-4, 5e8, 42, 0.05].map(yamlNumber), ['1.0e-07', '-2.5e-08', '1.0e+21', '0.0003', '500000000', '42', '0.05']);
  assert.throws(() => yamlNumber(Number.NaN), /cannot write NaN/);
});

test('block YAML: JSON scalars, nested mappings and lists, empty ones in flow form, undefined dropped', () => {
  const text = toYaml({ a: 'x: y', b: [1, 'two'], c: { d: true, e: null, skip: undefined }, list: [{ path: 'p', tags: ['t'] }], empty: [], none: {}, 'odd key': 1 });
  assert.equal(text, [
    'a: "x: y"', 'b:', '  - 1', '  - "two"', 'c:', '  d: true', '  e: null', 'list:', '  - path: "p"', '    tags:', '      - "t"', 'empty: []', 'none: {}', '"odd key": 1', '',
  ].join('\n'));
});
