// media/sample-data/: the training file and the held-out prompts `npm run demo` asks. The demo's claim — the adapter
// answers prompts training never showed — holds only if the two files share no prompt, and it is a claim about the
// rule (not about new words) only if every word of a held-out phrase appears in training. Both files are exactly what
// scripts/make-sample-dataset.mjs writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRecord } from '../../../native/data/schema';
import type { AlpacaRecord } from '../../../native/data/records';

const dir = join('media', 'sample-data');
const TRAINING = join(dir, 'instructions.jsonl');
const HELD_OUT = join(dir, 'held-out.jsonl');

function records(file: string): AlpacaRecord[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line, i) => {
    const parsed = parseRecord(line, i + 1);
    assert.deepEqual(parsed.problems, [], `${file}:${i + 1}`);
    assert.equal(parsed.record?.format, 'alpaca', `${file}:${i + 1}`);
    return parsed.record as AlpacaRecord;
  });
}

const training = records(TRAINING);
const heldOut = records(HELD_OUT);

test('the held-out prompts share no instruction (nor instruction + input) with the training file', () => {
  assert.ok(heldOut.length >= 8, `${heldOut.length} held-out prompts`);
  assert.ok(training.length >= 400, `${training.length} training records`);
  const instructions = new Set(training.map((r) => r.instruction));
  const prompts = new Set(training.map((r) => `${r.instruction}\n${r.input ?? ''}`));
  for (const r of heldOut) {
    assert.ok(!instructions.has(r.instruction), `held out but trained on: ${r.instruction}`);
    assert.ok(!prompts.has(`${r.instruction}\n${r.input ?? ''}`), `held out but trained on: ${r.instruction}`);
  }
  assert.equal(new Set(heldOut.map((r) => r.instruction)).size, heldOut.length, 'held-out prompts are distinct');
});

test('every word of a held-out phrase and of its answer appears in training: only the combination is new', () => {
  const words = (text: string) => text.replace(/^[^:]*:/, '').split(/\s+/).filter(Boolean);
  const seenIn = new Set(training.flatMap((r) => words(r.instruction)));
  const seenOut = new Set(training.flatMap((r) => words(r.output)));
  for (const r of heldOut) {
    for (const w of words(r.instruction)) assert.ok(seenIn.has(w), `"${w}" (${r.instruction}) never appears in a training prompt`);
    for (const w of words(r.output)) assert.ok(seenOut.has(w), `"${w}" (${r.output}) never appears in a training answer`);
  }
});

test('both files are what scripts/make-sample-dataset.mjs writes', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sample-data-'));
  try {
    execFileSync(process.execPath, ['scripts/make-sample-dataset.mjs', '--out', join(tmp, 'train.jsonl'), '--held-out', join(tmp, 'held.jsonl')], { stdio: 'pipe' });
    assert.equal(readFileSync(join(tmp, 'train.jsonl'), 'utf8'), readFileSync(TRAINING, 'utf8'), 'run node scripts/make-sample-dataset.mjs');
    assert.equal(readFileSync(join(tmp, 'held.jsonl'), 'utf8'), readFileSync(HELD_OUT, 'utf8'), 'run node scripts/make-sample-dataset.mjs');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
