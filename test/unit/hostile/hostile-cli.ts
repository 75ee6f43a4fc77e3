// The hostile-input suite's shared pieces (issue 19, item 9). Every case runs the built CLI as the CLI tests do
// (`node dist/cli.js …`, built by `npm test`'s build stage) on an input built in a temp folder from the tiny fixtures,
// and checks the same things: the exit code is the expected 0, 1 or 2 (never 70, never a signal), the message names
// what, where and how (key words, not whole sentences), stderr holds no stack trace, the command ends within a generous
// limit (no hang on two loaded cores), and files the user had are byte-identical afterwards (no data lost).
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, TINY_PRESETS } from '../../fixtures/tiny-model/index';
import { FEW_RECORDS } from '../native/train/run-fixture';
import type { Architecture } from '../../../native/model/hf-config';

/** Per-command limit: far above what a tiny case takes (seconds), so only a real hang reaches it. */
export const CASE_TIMEOUT_MS = 120_000;

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Why the command did not end by itself (spawnSync's ETIMEDOUT), if so. */
  error?: Error;
}

/** How a finished command ended (also for the CLI run through setpriv, unshare or a shell). */
export function resultOf(result: SpawnSyncReturns<string>): CliResult {
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr, error: result.error };
}

/** Runs `lora-studio ARGS` to its end; `env` is added to this process's. */
export function cli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
  return resultOf(spawnSync(process.execPath, ['dist/cli.js', ...args], {
    encoding: 'utf8', timeout: options.timeoutMs ?? CASE_TIMEOUT_MS, env: { ...process.env, ...options.env }, maxBuffer: 64 * 2 ** 20,
  }));
}

/** Starts `lora-studio ARGS` in the background; `output()` is what it printed so far (stdout and stderr). */
export function cliInBackground(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string; exited: Promise<CliResult> } {
  const child = spawn(process.execPath, ['dist/cli.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '', stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<CliResult>((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
  return { child, output: () => stdout + stderr, exited };
}

/** Waits until `condition()` holds, polling; fails the case (no hang) after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => boolean, timeoutMs = CASE_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves with the result, or fails the case when the command is still running after `timeoutMs` (then kills it). */
export async function endsWithin(run: { child: ChildProcess; exited: Promise<CliResult> }, timeoutMs: number, what: string): Promise<CliResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
  const first = await Promise.race([run.exited, late]);
  clearTimeout(timer);
  if (first === 'late') {
    run.child.kill('SIGKILL');
    await run.exited;
    assert.fail(`${what}: still running ${timeoutMs / 1000}s later`);
  }
  return first;
}

/**
 * The checks every case makes: it ended by itself with `code` (never 70 = internal bug, never killed by a signal; a
 * command stopped by SIGINT/SIGTERM may end with the shell's 130/143 itself), each pattern is found in its output,
 * and stderr shows no stack trace.
 */
export function expectOutcome(result: CliResult, code: 0 | 1 | 2 | 130 | 143, ...patterns: RegExp[]): void {
  const output = `${result.stdout}\n${result.stderr}`;
  assert.equal(result.error, undefined, `the command did not end by itself (${result.error?.message})`);
  assert.equal(result.signal, null, `ended by ${result.signal}:\n${output}`);
  assert.equal(result.status, code, `exit ${result.status}, expected ${code}:\n${output}`);
  for (const pattern of patterns) assert.match(output, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at .+[:(]\d+:\d+\)?\n/, `a stack trace in stderr:\n${result.stderr}`);
  assert.doesNotMatch(output, /internal error/, 'reported as a bug');
}

/** Every file below `paths` (or the file itself) with a hash of its bytes (links by target): to prove nothing changed. */
export function snapshot(...paths: string[]): Map<string, string> {
  const files = new Map<string, string>();
  const visit = (path: string) => {
    if (!existsSync(path)) return files.set(path, 'absent');
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) files.set(path, `link → ${readlinkSync(path)}`);
    else if (stat.isDirectory()) for (const name of readdirSync(path).sort()) visit(join(path, name));
    else files.set(path, createHash('sha256').update(readFileSync(path)).digest('hex'));
  };
  paths.forEach(visit);
  return files;
}

export function assertUnchanged(before: Map<string, string>, ...paths: string[]): void {
  assert.deepEqual(snapshot(...paths), before, 'files the user had must be byte-identical afterwards');
}

/** The flags of a tiny training run: two steps, short records, no intermediate checkpoints. */
export const TINY_TRAIN = ['--max-steps', '2', '--batch-size', '2', '--max-seq-len', '32', '--save-every', '0', '--warmup-steps', '0'];

/** A temp folder with a tiny model and four records; `copyModel` makes a copy to corrupt, `file` writes a file. */
export function hostileFixture(prefix: string, architecture: Architecture = 'Qwen2ForCausalLM') {
  const root = mkdtempSync(join(tmpdir(), `hostile-${prefix}-`));
  // A file's cases leave ~100 MB (a 50 MB line, a 57 MB model): removed once they have all run.
  after(() => rmSync(root, { recursive: true, force: true }));
  const model = makeTinyModel(join(root, 'model'), { ...TINY_PRESETS[architecture], dtype: 'float32', seed: 3 }).dir;
  const data = join(root, 'data.jsonl');
  writeFileSync(data, FEW_RECORDS.map((r) => JSON.stringify(r)).join('\n') + '\n');
  let counter = 0;
  // A fresh path per case (`data.jsonl` → `data-3.jsonl`): cases in a file share the fixture, never a file.
  const path = (name: string) => join(root, name.replace(/^([^.]*)/, (base) => `${base}-${++counter}`));
  return {
    root, model, data, path,
    /** A copy of the model folder, changed by `edit(dir)`. */
    copyModel(name: string, edit: (dir: string) => void): string {
      const dir = path(name);
      cpSync(model, dir, { recursive: true });
      edit(dir);
      return dir;
    },
    /** Rewrites a JSON file of a folder through `edit`. */
    editJson(file: string, edit: (json: Record<string, unknown>) => void): void {
      const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      edit(json);
      writeFileSync(file, JSON.stringify(json));
    },
    file(name: string, content: string | Buffer): string {
      const file = path(name);
      writeFileSync(file, content);
      return file;
    },
    train(out: string, ...flags: string[]): CliResult {
      return cli(['train', '--model', model, '--data', data, '--out', out, ...TINY_TRAIN, ...flags]);
    },
  };
}

/** A fixture with one trained run folder (also a PEFT adapter folder), trained once per test file. */
export function trainedRun(fixture: ReturnType<typeof hostileFixture>): string {
  const run = join(fixture.root, 'trained');
  if (!existsSync(join(run, 'adapter_model.safetensors'))) expectOutcome(fixture.train(run), 0);
  return run;
}
