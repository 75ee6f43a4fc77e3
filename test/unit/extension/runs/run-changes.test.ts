// Tests of extension/runs/run-changes.ts: which runs the Runs view redraws after a burst of changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StaleRuns } from '../../../../extension/runs/run-changes';

const known = ['/runs/a', '/runs/b'];
const allExist = () => true;

test('changes of known runs redraw only those rows; the pending set is taken once', () => {
  const stale = new StaleRuns();
  stale.mark('/runs/a');
  stale.mark('/runs/a');
  stale.mark('/runs/b');
  assert.deepEqual(stale.take(known, allExist), { all: false, runDirs: ['/runs/a', '/runs/b'] });
  assert.deepEqual(stale.take(known, allExist), { all: false, runDirs: [] });
});

test('a new run, a deleted run, an unscoped change or no list yet redraw everything', () => {
  const stale = new StaleRuns();
  stale.mark('/runs/a');
  stale.mark('/runs/new');
  assert.deepEqual(stale.take(known, allExist), { all: true }, 'a run the list does not hold');
  stale.mark('/runs/b');
  assert.deepEqual(stale.take(known, (dir) => dir !== '/runs/b'), { all: true }, 'a run whose folder is gone');
  stale.mark('/runs/a');
  stale.mark();
  assert.deepEqual(stale.take(known, allExist), { all: true }, 'a change without a run');
  stale.mark('/runs/a');
  assert.deepEqual(stale.take(undefined, allExist), { all: true }, 'before the list was read');
  stale.mark('/runs/a');
  assert.deepEqual(stale.take(known, allExist), { all: false, runDirs: ['/runs/a'] }, 'an "all" does not stick');
});
