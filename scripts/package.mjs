// npm run package [-- --target <vsce-target>] : builds the bundles, stages exactly what the extension ships
// (SHIPPED below, and onnxruntime-node with the native files of ONE target), then runs `vsce package --target` on
// the staging folder and prints the .vsix size. One .vsix per native target because onnxruntime-node ships a binary
// per platform (a universal package would carry ~290 MB of others' binaries).
// `--stage-only <dir>` stages into <dir> and stops (test/unit/scripts/package.test.ts inspects it); `--no-build`
// stages the bundles dist/ already holds.
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

/**
 * What the extension ships besides onnxruntime-node, each used by the manifest, the bundles or the details page (the
 * test checks both ways for media/). The README's and CHANGELOG's relative links and images are rewritten by vsce to
 * the repository of package.json "repository" (blob/HEAD, raw/HEAD), so the files they show (screenshots, docs/) are
 * read from there and stay out of the .vsix.
 */
const SHIPPED = [
  'dist',
  'media/icons', // package.json: the extension's icon, the activity bar's and the training panel's
  'media/schemas/run-config.schema.json', // package.json: jsonValidation of *.lora.json and training_config.json
  'media/webview', // the panels' stylesheets
  'README.md',
  'CHANGELOG.md',
  'LICENSE',
  '.vscodeignore', // vsce's rules in the staging folder (it ships none of them)
];

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

const stageOnly = argValue('--stage-only', undefined);

if (!process.argv.includes('--no-build')) run(process.execPath, ['esbuild.mjs', '--production'], { cwd: root });

const stage = stageOnly ? resolve(stageOnly) : mkdtempSync(join(tmpdir(), 'lora-studio-vsix-'));
try {
  const copy = (from, to = from) => {
    const source = join(root, from);
    if (!existsSync(source)) throw new Error(`package: ${from} is missing — run npm install / npm run build`);
    cpSync(source, join(stage, to), { recursive: true, filter: (path) => !path.endsWith('.map') });
  };
  for (const entry of SHIPPED) copy(entry);

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

  // The staged manifest: no scripts (vsce would run vscode:prepublish), nothing about developing (devDependencies,
  // devEngines, overrides); the dependencies the bundles do not inline are exactly onnxruntime-node.
  const staged = { ...pkg, dependencies: { 'onnxruntime-node': pkg.dependencies['onnxruntime-node'] } };
  for (const key of ['devDependencies', 'devEngines', 'overrides', 'scripts']) delete staged[key];
  writeFileSync(join(stage, 'package.json'), JSON.stringify(staged, null, 2) + '\n');
  if (stageOnly) {
    console.log(`package: staged in ${stage}`);
    process.exit(0);
  }

  const vsce = join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  mkdirSync(resolve(outFile, '..'), { recursive: true });
  run(process.execPath, [vsce, 'package', '--target', target, '--dependencies', '--no-yarn', '--out', outFile], { cwd: stage });
} finally {
  if (!stageOnly) rmSync(stage, { recursive: true, force: true });
}
const bytes = statSync(outFile).size;
console.log(`\n${outFile}\n.vsix size: ${(bytes / 1024 / 1024).toFixed(1)} MiB (${bytes.toLocaleString('en-US')} bytes), target ${target}`);
