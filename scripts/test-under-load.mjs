// `npm run test:load`: the whole test suite as CI runs it (.ci/run: e2e setup, npm ci, npm test) from fresh clones of
// this repository's HEAD, several times in a row, while CPU-bound processes keep the machine busy — how a user's
// loaded 2-core laptop runs it. Prints each run's result and duration; a failed run prints its last 60 lines and
// the path of its whole log.
//
//   node scripts/test-under-load.mjs [--runs 3] [--busy 2] [--keep]
//
// Each clone gets a copy of this checkout's .e2e-cache/ when there is one (the code-server install is
// a machine-level download cache, not project state; without it every run installs code-server again, ~5 min).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, busy: { type: 'string', default: '2' }, keep: { type: 'boolean', default: false } },
});
const runs = Number(values.runs);
const busy = Number(values.busy);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(busy) || busy < 0) {
  console.error('test:load: --runs must be a whole number ≥ 1 and --busy ≥ 0');
  process.exit(2);
}

// Every run tests this one commit, whatever lands on the branch meanwhile.
const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
if (spawnSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).stdout.trim() !== '') {
  console.warn(`test:load: the working tree has uncommitted changes; the clones test HEAD (${head}) without them`);
}
const logs = join(root, 'test-output', 'load');
mkdirSync(logs, { recursive: true });

// The load: busy loops, one per process, at normal priority (like another user's build).
const hogs = Array.from({ length: busy }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const stopHogs = () => hogs.forEach((hog) => hog.kill('SIGKILL'));
process.on('exit', stopHogs);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

function runOnce(index) {
  const work = mkdtempSync(join(tmpdir(), `lora-load-${index}-`));
  const clone = join(work, 'lora-studio');
  const logPath = join(logs, `run-${index}.log`);
  const log = createWriteStream(logPath);
  const git = spawnSync('git', ['clone', '--quiet', root, clone], { encoding: 'utf8' });
  if (git.status !== 0) throw new Error(`git clone failed: ${git.stderr}`);
  const checkout = spawnSync('git', ['-C', clone, 'checkout', '--quiet', head], { encoding: 'utf8' });
  if (checkout.status !== 0) throw new Error(`git checkout ${head} failed: ${checkout.stderr}`);
  if (existsSync(join(root, '.e2e-cache'))) spawnSync('cp', ['-a', join(root, '.e2e-cache'), join(clone, '.e2e-cache')]);
  const started = Date.now();
  return new Promise((resolveRun) => {
    const child = spawn('.ci/run', [], { cwd: clone, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('exit', (code, signal) => {
      log.end(() => {
        const seconds = Math.round((Date.now() - started) / 1000);
        if (!values.keep) rmSync(work, { recursive: true, force: true });
        resolveRun({ index, ok: code === 0, how: signal ?? `exit ${code}`, seconds, logPath });
      });
    });
  });
}

console.log(`test:load: ${runs} run(s) of .ci/run on fresh clones of ${head.slice(0, 12)}, beside ${busy} CPU-bound process(es); logs in ${logs}/`);
const results = [];
for (let index = 1; index <= runs; index++) {
  const result = await runOnce(index);
  results.push(result);
  console.log(`test:load: run ${index}/${runs} ${result.ok ? 'passed' : `FAILED (${result.how})`} in ${result.seconds}s`);
  if (!result.ok) {
    const lines = readFileSync(result.logPath, 'utf8').split('\n');
    console.log(lines.slice(-60).join('\n'));
    console.log(`test:load: whole log: ${result.logPath}`);
  }
}
const passed = results.filter((r) => r.ok).length;
console.log(`test:load: ${passed} of ${runs} passed (${results.map((r) => `${r.seconds}s`).join(', ')})`);
// The busy loops are children that keep this process alive: end them now, not at an exit that would never come.
stopHogs();
process.exit(passed === runs ? 0 : 1);
