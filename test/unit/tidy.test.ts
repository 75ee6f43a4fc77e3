// Tidy: keeps the architecture invariants of ARCHITECTURE.md true as the code grows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
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

/** Resolves a relative import to its .ts file (or folder index), as esbuild would; undefined for packages. */
function resolveRelative(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.mts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Every chain of imports from `roots` that ends in a forbidden module, as "a → b → c" strings. */
export function forbiddenChains(roots: string[], forbidden: (spec: string, resolved: string | undefined) => boolean): string[] {
  const chains: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string, path: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolveRelative(file, spec);
      const chain = [...path, relative(process.cwd(), target ?? spec) || spec];
      if (forbidden(spec, target)) chains.push(chain.join(' → '));
      else if (target) visit(target, chain);
    }
  };
  for (const root of roots) visit(resolve(root), [relative(process.cwd(), resolve(root))]);
  return chains;
}

const reachesEngine = (spec: string, resolved: string | undefined) =>
  spec.includes('onnxruntime-node') || (resolved !== undefined && /native\/engine\//.test(resolved.split('\\').join('/')));

test('forbiddenChains follows relative imports transitively (so the rule below can fail)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidy-'));
  writeFileSync(join(dir, 'host.ts'), "import { helper } from './helper';\n");
  mkdirSync(join(dir, 'lib'));
  writeFileSync(join(dir, 'helper.ts'), "export * from './lib';\n");
  writeFileSync(join(dir, 'lib', 'index.ts'), "import * as ort from 'onnxruntime-node';\n");
  const chains = forbiddenChains([join(dir, 'host.ts')], reachesEngine);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(chains.length, 1);
  assert.match(chains[0], /host\.ts → .*helper\.ts → .*lib\/index\.ts → onnxruntime-node$/);
});

test('webview/ never reaches a Node built-in through what it imports (native/model/lora.ts and friends stay pure)', () => {
  const chains = forbiddenChains(sourceFiles('webview'), (spec) => nodeBuiltins.has(spec));
  assert.deepEqual(chains, [], `webviews run in a browser sandbox:\n${chains.join('\n')}`);
});

test('extension/ never reaches onnxruntime-node or native/engine, directly or through what it imports', () => {
  const chains = forbiddenChains(sourceFiles('extension'), reachesEngine);
  assert.deepEqual(chains, [], `the extension host must never load the engine (the worker does):\n${chains.join('\n')}`);
});
