// Tests native/cli.ts: the program's own options (the subcommands have their own tests under cli/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { buildProgram } from '../../../native/cli';

const packageVersion = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

test('--version prints the package version and exits 0', async () => {
  let out = '';
  const program = buildProgram().configureOutput({ writeOut: (s) => { out += s; }, writeErr: () => {} });
  await assert.rejects(program.parseAsync(['node', 'lora-studio', '--version']), (e: unknown) => e instanceof CommanderError && e.exitCode === 0);
  assert.equal(out.trim(), packageVersion);
});

test('generate picks its device as train does: auto by default', () => {
  const generate = buildProgram().commands.find((c) => c.name() === 'generate')!;
  const train = buildProgram().commands.find((c) => c.name() === 'train')!;
  const deviceDefault = (c: typeof generate) => c.options.find((o) => o.long === '--device')?.defaultValue;
  assert.equal(deviceDefault(generate), 'auto');
  assert.equal(deviceDefault(generate), deviceDefault(train));
});
