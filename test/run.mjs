// The one test command: type-check, build, unit tests (node:test via tsx), then the end-to-end suite.
// `--unit` stops after the unit tests. Any failing stage fails the whole command; nothing is skipped silently.
import { spawn } from 'node:child_process';
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

/**
 * Runs one stage in its own process group, killed whole after `limitMinutes`: a hung test (a child process left
 * running keeps node:test's file process alive) must fail the command with its name, not use up CI's 90 minutes.
 */
async function stage(title, command, args, limitMinutes, env = {}) {
  const started = Date.now();
  console.log(`\n=== ${title}`);
  const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...env }, detached: true });
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is gone
    }
  };
  // Detached, the group misses the terminal's Ctrl-C: pass it on.
  const forward = (signal) => killGroup(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  let timedOut = false;
  const timer = setTimeout(() => ((timedOut = true), killGroup('SIGKILL')), limitMinutes * 60_000);
  const [code, signal] = await new Promise((done) => child.on('exit', (c, s) => done([c, s])));
  clearTimeout(timer);
  killGroup('SIGKILL'); // whatever the stage left running (an orphaned trainer) goes with it
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (timedOut) {
    console.error(`\n=== ${title}: FAILED, still running after its limit of ${limitMinutes} minutes (killed): a test above hangs, or a test file's process cannot end because a process it started still runs`);
    process.exit(1);
  }
  if (code !== 0) {
    console.error(`\n=== ${title}: FAILED after ${seconds}s (exit ${code ?? signal})`);
    process.exit(1);
  }
  console.log(`=== ${title}: ok in ${seconds}s`);
}

const unitTests = findTests('test/unit')
  .filter((file) => filter.length === 0 || filter.some((f) => file.includes(f)))
  .sort();
if (filter.length === 0) {
  await stage('typecheck', process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.', '--noEmit'], 15);
  await stage('build', process.execPath, ['esbuild.mjs'], 10);
}
// Limits: several times what two loaded cores take (units about 7 minutes, end-to-end about 7), within CI's 90.
await stage(`unit tests (${unitTests.length} files)`, process.execPath, [
  '--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...unitTests,
], 45);
if (!unitOnly && filter.length === 0 && existsSync('test/e2e/run.mjs')) {
  await stage('end-to-end tests', process.execPath, ['test/e2e/run.mjs'], 25);
}
