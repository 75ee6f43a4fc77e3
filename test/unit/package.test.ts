// Tests package.json's engines: the Node it claims is the Node of the oldest VS Code it declares, every runtime
// dependency in package-lock.json accepts that Node, and the built bundles load on the Node running this test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  engines: { vscode: string; node: string };
  devEngines: { runtime: { name: string; version: string } };
};
type LockEntry = { version?: string; dev?: boolean; engines?: Record<string, string> | string[] };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

/**
 * The Node of VS Code's extension host, by VS Code minor: VS Code 1.90 ships Electron 29.4.0 (the `target` of
 * microsoft/vscode's .npmrc at 1.90.0), whose Node is 20.9 (electronjs.org/docs/latest/tutorial/electron-timelines);
 * 1.101 is the first on Node 22 (Electron 35). Add the row of a new oldest VS Code when engines.vscode moves.
 */
const VSCODE_NODE: Record<string, { electron: string; node: string }> = {
  '1.90': { electron: '29.4.0', node: '20.9.0' },
  '1.101': { electron: '35.5.1', node: '22.15.1' },
};

const minNode = semver.minVersion(pkg.engines.node)!.version;
const minDevNode = semver.minVersion(pkg.devEngines.runtime.version)!.version;

/** The engines.node range of a lock entry; old packages give engines as an array like ["node >= 0.8"]. */
function nodeRange(entry: LockEntry): string | undefined {
  if (Array.isArray(entry.engines)) return entry.engines.find((e) => e.startsWith('node'))?.replace(/^node\s*/, '');
  return entry.engines?.node;
}

/** "name@version requires node <range>" for each lock entry (not the root) whose engines.node refuses `node`. */
function refusing(entries: [string, LockEntry][], node: string): string[] {
  return entries
    .filter(([path, entry]) => path !== '' && nodeRange(entry) !== undefined && !semver.satisfies(node, nodeRange(entry)!))
    .map(([path, entry]) => `${path.replace(/^.*node_modules\//, '')}@${entry.version} requires node ${nodeRange(entry)}`);
}

const runtimeEntries = Object.entries(lock.packages).filter(([, entry]) => !entry.dev);
const devEntries = Object.entries(lock.packages).filter(([, entry]) => entry.dev);

test("engines.node's minimum is at most the Node of the oldest VS Code engines.vscode accepts", () => {
  const oldest = semver.minVersion(pkg.engines.vscode)!;
  const row = VSCODE_NODE[`${oldest.major}.${oldest.minor}`];
  assert.ok(row, `engines.vscode ${pkg.engines.vscode} starts at ${oldest.major}.${oldest.minor}, which VSCODE_NODE lacks: add its Electron and Node`);
  assert.ok(semver.lte(minNode, row.node),
    `engines.node ${pkg.engines.node} starts at ${minNode}, above Node ${row.node} of VS Code ${oldest.major}.${oldest.minor} (Electron ${row.electron}): ` +
    'lower engines.node or raise engines.vscode');
});

test('every runtime dependency in package-lock.json accepts the minimum of engines.node', () => {
  const refused = refusing(runtimeEntries, minNode);
  assert.deepEqual(refused, [], `engines.node says ${pkg.engines.node}, but: ${refused.join('; ')} — pin versions that accept Node ${minNode}`);
});

test('every development dependency accepts the minimum of devEngines.runtime, which is at least engines.node', () => {
  assert.equal(pkg.devEngines.runtime.name, 'node');
  assert.ok(semver.gte(minDevNode, minNode), `devEngines.runtime ${pkg.devEngines.runtime.version} is below engines.node ${pkg.engines.node}: the tests run the runtime code`);
  const refused = refusing(devEntries, minDevNode);
  assert.deepEqual(refused, [], `devEngines.runtime says ${pkg.devEngines.runtime.version}, but: ${refused.join('; ')}`);
});

test('the dependency check can fail: commander 15 refuses Node 20.9; old array-style engines are read', () => {
  const entries: [string, LockEntry][] = [
    ['node_modules/commander', { version: '15.1.0', engines: { node: '>=22.12.0' } }],
    ['node_modules/old', { version: '1.0.0', engines: ['node >= 0.8'] }],
    ['node_modules/none', { version: '1.0.0' }],
  ];
  assert.deepEqual(refusing(entries, '20.9.0'), ['commander@15.1.0 requires node >=22.12.0']);
});

function requireBuilt(file: string): string {
  const path = join(root, file);
  assert.ok(existsSync(path), `${file} is missing: build first (node esbuild.mjs)`);
  return path;
}

test(`the bundles run on this Node (${process.version}), which engines.node accepts`, async (t) => {
  assert.ok(semver.satisfies(process.version, pkg.engines.node), `this Node ${process.version} is outside engines.node ${pkg.engines.node}`);

  await t.test('dist/cli.js --version prints the package version', () => {
    const run = spawnSync(process.execPath, [requireBuilt('dist/cli.js'), '--version'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), pkg.version);
  });

  await t.test('dist/extension.js loads with a stub vscode module, exports activate/deactivate, and loads no onnxruntime-node', () => {
    // The stub has every name @types/vscode exports (esbuild's interop copies a module's own properties), each a
    // value whose every property, call and construction is again that value; the bundle itself is real.
    const probe = `
      const Module = require('node:module');
      const stub = new Proxy(function () {}, { get: (_, key) => key === Symbol.toPrimitive ? () => '' : stub, apply: () => stub, construct: () => stub });
      const api = require('node:fs').readFileSync(${JSON.stringify(join(root, 'node_modules', '@types', 'vscode', 'index.d.ts'))}, 'utf8');
      const vscode = Object.fromEntries([...api.matchAll(/^\\texport (?:class|namespace|enum|function|const|let) (\\w+)/gm)].map((m) => [m[1], stub]));
      if (Object.keys(vscode).length < 100) throw new Error('read too few names from @types/vscode: ' + Object.keys(vscode).length);
      const load = Module._load;
      Module._load = function (request, ...rest) { return request === 'vscode' ? vscode : load.call(this, request, ...rest); };
      const extension = require(${JSON.stringify(requireBuilt('dist/extension.js'))});
      const ort = Object.keys(require.cache).filter((p) => p.includes('onnxruntime'));
      process.stdout.write(JSON.stringify({ activate: typeof extension.activate, deactivate: typeof extension.deactivate, ort }));`;
    const run = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { activate: 'function', deactivate: 'function', ort: [] });
  });

  await t.test('dist/worker.js parses on this Node', () => {
    const run = spawnSync(process.execPath, ['--check', requireBuilt('dist/worker.js')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
  });
});
