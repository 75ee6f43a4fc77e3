// The one test command: type-check, build, unit tests (node:test via tsx), then the end-to-end suite.
// `--unit` stops after the unit tests. Any failing stage fails the whole command; nothing is skipped silently.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const unitOnly = process.argv.includes('--unit');
const filter = process.argv.slice(2).filter((a) => !a.startsWith('--'));

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

function stage(title, command, args, env = {}) {
  const started = Date.now();
  console.log(`\n=== ${title}`);
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    console.error(`\n=== ${title}: FAILED after ${seconds}s (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
  console.log(`=== ${title}: ok in ${seconds}s`);
}

const unitTests = findTests('test/unit')
  .filter((file) => filter.length === 0 || filter.some((f) => file.includes(f)))
  .sort();
if (filter.length === 0) {
  stage('typecheck', process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.', '--noEmit']);
  stage('build', process.execPath, ['esbuild.mjs']);
}
stage(`unit tests (${unitTests.length} files)`, process.execPath, [
  '--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...unitTests,
]);
if (!unitOnly && filter.length === 0 && existsSync('test/e2e/run.mjs')) {
  stage('end-to-end tests', process.execPath, ['test/e2e/run.mjs']);
}
