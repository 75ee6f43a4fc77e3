// Runs the built CLI (test/run.mjs builds dist/ before the unit tests) as a user would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'cli-validate-'));
const good = join(dir, 'good.jsonl');
const bad = join(dir, 'bad.jsonl');
writeFileSync(good, '{"instruction":"a","output":"b"}\n{"instruction":"c","output":"d","extra":1}\n');
writeFileSync(bad, '{"instruction":"a","output":"b"}\n{"instruction":"a", "output": 3}\n');
const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/cli.js', 'validate', ...args], { encoding: 'utf8' });

test('exit 0 without errors (warnings allowed); human lines are file:line:column: severity: message, then a summary', () => {
  const result = cli(good);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, `${good}:2:33: warning: unknown key "extra" is ignored\n${good}: alpaca, 2 records, 0 errors, 1 warning\n`);
});

test('exit 1 with errors; --json prints one object last on stdout', () => {
  const result = cli(bad, '--json');
  assert.equal(result.status, 1);
  const lines = result.stdout.trim().split('\n');
  assert.deepEqual(JSON.parse(lines[lines.length - 1]), {
    file: bad, format: 'alpaca', records: 2,
    errors: [{ line: 2, column: 31, severity: 'error', message: '"output" must be a string, got number — quote it' }],
    warnings: [],
  });
});

test('exit 1 on a missing file (the input is wrong), 2 on no file at all (usage), with what to do', () => {
  const missing = cli(join(dir, 'nope.jsonl'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /file not found: .*nope\.jsonl — pass the path of a \.jsonl file/);
  assert.equal(cli().status, 2);
});

/** Resolves once `pid` has `file` open (the validation has started reading it), from Linux's /proc; at most 10 s. */
async function waitUntilOpen(pid: number, file: string): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 10_000; ) {
    const fds = (() => {
      try {
        return readdirSync(`/proc/${pid}/fd`);
      } catch {
        return [];
      }
    })();
    if (fds.some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
      } catch {
        return false;
      }
    })) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('SIGINT and SIGTERM stop a long validation between chunks: exit 130/143, nothing on stdout, a line saying so', async () => {
  // 40 MB of records: seconds of parsing, far longer than the few milliseconds between the file opening and the signal.
  const big = join(dir, 'big.jsonl');
  writeFileSync(big, `${JSON.stringify({ instruction: 'q'.repeat(100), output: 'a'.repeat(300) })}\n`.repeat(100_000));
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    const child = spawn(process.execPath, ['dist/cli.js', 'validate', big], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
    await waitUntilOpen(child.pid!, big);
    child.kill(signal);
    assert.equal(await exited, code, stderr);
    assert.equal(stdout, '');
    assert.match(stderr, new RegExp(`stopped by ${signal} while reading .*big\\.jsonl; its problems were not printed`));
  }
});
