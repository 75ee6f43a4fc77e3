// Tidy: keeps the architecture invariants of ARCHITECTURE.md true as the code grows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { builtinModules } from 'node:module';

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(name) ? [path] : [];
  });
}

/** Module specifiers of static imports, re-exports, dynamic imports and require() calls. */
export function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [
    /\bimport\s+(?:type\s+)?(?:[\w*{}\s,]+\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bexport\s+(?:type\s+)?[\w*{}\s,]+\s+from\s+['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) specifiers.push(match[1]);
  return specifiers;
}

const nodeBuiltins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

test('importsOf finds every kind of import (so the rules below can fail)', () => {
  const found = importsOf(`import * as v from 'vscode';\nimport type { X } from "./x";\nconst f = require('node:fs');\nawait import('os');\nexport { y } from './y';`);
  assert.deepEqual(found.sort(), ['./x', './y', 'node:fs', 'os', 'vscode'].sort());
});

test('native/ never imports vscode', () => {
  for (const file of sourceFiles('native')) {
    assert.ok(!importsOf(readFileSync(file, 'utf8')).includes('vscode'), `${file} imports vscode; native/ must stay VS Code-free`);
  }
});

test('webview/ never imports Node built-ins or native/ runtime code', () => {
  for (const file of sourceFiles('webview')) {
    const source = readFileSync(file, 'utf8');
    for (const spec of importsOf(source)) {
      assert.ok(!nodeBuiltins.has(spec), `${file} imports the Node module "${spec}"; webviews run in a browser sandbox`);
      assert.ok(spec !== 'vscode', `${file} imports vscode; webviews talk to the host by postMessage only`);
    }
  }
});

test('extension/ never reaches onnxruntime-node or native/engine', () => {
  for (const file of sourceFiles('extension')) {
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      assert.ok(!spec.includes('onnxruntime-node'), `${file} imports onnxruntime-node; only the worker may load it`);
      assert.ok(!/native\/engine(\/|$)/.test(spec), `${file} imports ${spec}; the host never loads the engine`);
    }
  }
});
