import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cancelReport } from '../../../../extension/commands/cancel-report';

const end = (code: number | null, killed = false, signal: NodeJS.Signals | null = null) => ({ code, signal, killed });

test('a merge that finished before the cancel arrived says so and where its output is', () => {
  assert.deepEqual(cancelReport('merge', '/m/out', end(0), true), { severity: 'info', finished: true, message: 'The merge had already finished when the cancel arrived: its output is in /m/out.' });
});

test('a merge that stopped on the cancel says nothing was written, or that the folder holds files if it does', () => {
  assert.deepEqual(cancelReport('merge', '/m/out', end(1), false), { severity: 'info', finished: false, message: 'Merge cancelled; nothing was written to /m/out.' });
  assert.equal(cancelReport('merge', '/m/out', end(null, false, 'SIGTERM'), true).message, 'Merge cancelled; /m/out holds files from it — check or delete that folder.');
});

test('a merge that had to be killed says so, and where its unfinished files are until the next merge', () => {
  assert.deepEqual(cancelReport('merge', '/m/out', end(null, true, 'SIGKILL'), false, '/m/.out.merging-*'), {
    severity: 'warning', finished: false,
    message: 'The merge did not stop after the cancel and was killed; nothing was written to /m/out. Its unfinished files (/m/.out.merging-*) are removed by the next merge.',
  });
});
