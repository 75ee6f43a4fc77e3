// The CLI's help: required options say so, defaults print as typed (0.0003, not "0.0003"), and one version flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { version } from '../../../../package.json';

const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8' });

test('help marks required options and prints plain defaults', () => {
  const train = cli('train', '--help').stdout.replace(/\s+/g, ' ');
  assert.match(train, /--lr <lr> peak learning rate \(default: 0\.0003\)/);
  assert.match(train, /--scheduler <name> learning-rate schedule after warmup \(choices: linear, cosine, constant; default: linear\)/);
  assert.match(train, /--model <dir> .*required unless --resume/);
  assert.doesNotMatch(train, /default: "/, 'no quoted defaults');
  assert.doesNotMatch(train, /default: false/, 'switches have no default to print');
  const merge = cli('merge', '--help').stdout.replace(/\s+/g, ' ');
  for (const flag of ['--model <dir>', '--adapter <dir>', '--out <dir>']) assert.match(merge, new RegExp(`${flag} [^-]*\\(required\\)`));
  assert.match(cli('generate', '--help').stdout.replace(/\s+/g, ' '), /--device <device> .*\(default: auto\)/);
});

test('--version prints the package version', () => {
  const result = cli('--version');
  assert.equal(result.status, 0);
  assert.equal(result.stdout.trim(), version);
});
