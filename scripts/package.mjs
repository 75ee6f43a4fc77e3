// npm run package [-- --target <vsce-target>] : builds the bundles, stages exactly what the extension ships
// (dist/, media/, README, LICENSE, and onnxruntime-node with the native files of ONE target), then runs
// `vsce package --target` on the staging folder and prints the .vsix size. One .vsix per native target because
// onnxruntime-node ships a binary per platform (a universal package would carry ~290 MB of others' binaries).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** vsce target → onnxruntime-node's bin/napi-v6/<platform>/<arch> folder (targets without a binary are refused). */
const TARGETS = {
  'linux-x64': ['linux', 'x64'],
  'linux-arm64': ['linux', 'arm64'],
  'darwin-arm64': ['darwin', 'arm64'],
  'win32-x64': ['win32', 'x64'],
  'win32-arm64': ['win32', 'arm64'],
};

function argValue(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

function run(command, args, options = {}) {
  console.log(`$ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) {
    console.error(`package: ${command} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

const root = resolve(import.meta.dirname, '..');
const target = argValue('--target', 'linux-x64');
if (!(target in TARGETS)) {
  console.error(`package: unknown or unsupported target "${target}" — use one of: ${Object.keys(TARGETS).join(', ')}`);
  process.exit(2);
}
const [platform, arch] = TARGETS[target];
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const outFile = resolve(root, argValue('--out', `${pkg.name}-${target}-${pkg.version}.vsix`));

if (!process.argv.includes('--no-build')) run(process.execPath, ['esbuild.mjs', '--production'], { cwd: root });

const stage = mkdtempSync(join(tmpdir(), 'lora-studio-vsix-'));
try {
  const copy = (from, to = from) => {
    const source = join(root, from);
    if (!existsSync(source)) throw new Error(`package: ${from} is missing — run npm install / npm run build`);
    cpSync(source, join(stage, to), { recursive: true, filter: (path) => !path.endsWith('.map') });
  };
  for (const entry of ['dist', 'media', 'README.md', 'LICENSE', '.vscodeignore']) copy(entry);
  if (existsSync(join(root, 'CHANGELOG.md'))) copy('CHANGELOG.md');

  // onnxruntime-node at run time needs its JS, its package.json, the binary folder of this target, and
  // onnxruntime-common (CommonJS build). Its other dependencies (adm-zip, global-agent) serve only its postinstall.
  const ort = 'node_modules/onnxruntime-node';
  for (const entry of ['package.json', 'dist', 'README.md']) if (existsSync(join(root, ort, entry))) copy(join(ort, entry));
  copy(join(ort, 'bin', 'napi-v6', platform, arch));
  const common = 'node_modules/onnxruntime-common';
  for (const entry of ['package.json', 'dist/cjs']) copy(join(common, entry));
  // vsce finds dependencies with `npm list --production`, which fails on the install-only dependencies we left
  // out: the staged copy of onnxruntime-node's manifest keeps only its runtime dependency (and no postinstall).
  const ortManifest = JSON.parse(readFileSync(join(root, ort, 'package.json'), 'utf8'));
  ortManifest.dependencies = { 'onnxruntime-common': ortManifest.dependencies['onnxruntime-common'] };
  delete ortManifest.scripts;
  delete ortManifest.devDependencies;
  writeFileSync(join(stage, ort, 'package.json'), JSON.stringify(ortManifest, null, 2) + '\n');

  // The staged manifest: no scripts (vsce would run vscode:prepublish), no devDependencies; the dependencies the
  // bundles do not inline are exactly onnxruntime-node.
  const staged = { ...pkg, dependencies: { 'onnxruntime-node': pkg.dependencies['onnxruntime-node'] } };
  delete staged.devDependencies;
  delete staged.scripts;
  writeFileSync(join(stage, 'package.json'), JSON.stringify(staged, null, 2) + '\n');

  const vsce = join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  mkdirSync(resolve(outFile, '..'), { recursive: true });
  run(process.execPath, [vsce, 'package', '--target', target, '--dependencies', '--no-yarn', '--allow-missing-repository',
    '--no-rewrite-relative-links', '--out', outFile], { cwd: stage });
} finally {
  rmSync(stage, { recursive: true, force: true });
}
const bytes = statSync(outFile).size;
console.log(`\n${outFile}\n.vsix size: ${(bytes / 1024 / 1024).toFixed(1)} MiB (${bytes.toLocaleString('en-US')} bytes), target ${target}`);
