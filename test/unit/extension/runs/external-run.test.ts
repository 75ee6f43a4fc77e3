// Tests extension/runs/external-run.ts with the run store, the poll, the Runs view items and the dashboard's init: a
// Hugging Face Trainer output folder, growing as a cluster run syncs it, is listed as an external run with its loss
// curve, its checkpoints as they appear and its newest adapter for Merge/Compare/export.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { externalRunProblem, isExternalRun } from '../../../../extension/runs/external-run';
import { readRun } from '../../../../extension/runs/run-store';
import { RunFolderPoller } from '../../../../extension/runs/run-watch';
import { canDelete, canStop, runChildren, runItem } from '../../../../extension/runs/run-items';
import { dashboardInit } from '../../../../extension/panels/dashboard-data';
import { makeRuns } from './run-fixtures';

const full = JSON.parse(readFileSync('test/fixtures/trainer-state/trainer_state.json', 'utf8'));
const stateAt = (step: number) => JSON.stringify({ ...full, global_step: step, log_history: full.log_history.filter((e: { step: number; train_runtime?: number }) => e.step <= step && e.train_runtime === undefined) });

function checkpoint(dir: string, step: number): void {
  mkdirSync(join(dir, `checkpoint-${step}`));
  writeFileSync(join(dir, `checkpoint-${step}`, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 8 }));
  writeFileSync(join(dir, `checkpoint-${step}`, 'trainer_state.json'), stateAt(step));
}

test('a synced Trainer output folder: listed as external, its checkpoints and loss as they appear, completed at the end', () => {
  const root = makeRuns([{ id: 'ours' }]);
  const out = mkdtempSync(join(tmpdir(), 'cluster-output-'));
  try {
    assert.match(externalRunProblem(out) ?? '', /no trainer_state\.json or checkpoint-N folder yet/);
    assert.match(externalRunProblem(join(root, 'ours')) ?? '', /is a LoRA Studio run folder/);
    assert.equal(isExternalRun(join(root, 'ours')), false);
    const poller = new RunFolderPoller(() => false);
    poller.poll(root, [out]);

    checkpoint(out, 3);
    assert.equal(externalRunProblem(out), undefined);
    assert.deepEqual(poller.poll(root, [out]).changed, [out], 'the first checkpoint arrived');
    let run = readRun(out);
    assert.deepEqual([run.external, run.state, run.step, run.totalSteps, run.last?.loss, run.adapterDir], [true, 'running', 3, 6, 2.4402, join(out, 'checkpoint-3')]);
    let item = runItem(run);
    assert.equal(item.contextValue, 'external.running', 'no Stop/Resume/Delete; Merge on the adapter row, not the run row');
    assert.deepEqual([canStop(run), canDelete(run)], [false, false], 'the palette offers neither: it trains elsewhere');
    assert.match(item.description ?? '', /^external · 3\/6 \(50%\) · loss 2\.440$/);
    const adapter = runChildren(run).find((child) => child.kind === 'adapter')!;
    assert.deepEqual([adapter.path, adapter.contextValue, adapter.description], [join(out, 'checkpoint-3'), 'adapter', 'PEFT adapter (checkpoint-3)']);
    const init = dashboardInit(out, false, []);
    assert.deepEqual([init.state, init.step, init.metrics.length, init.evals, init.canResume, init.config], ['running', 3, 3, [{ step: 3, eval_loss: 2.4715 }], false, null]);

    assert.deepEqual(poller.poll(root, [out]).changed, [], 'nothing new');
    checkpoint(out, 6);
    assert.deepEqual(poller.poll(root, [out]).changed, [out], 'the next checkpoint');
    run = readRun(out);
    assert.deepEqual([run.step, run.checkpoints.map((c) => c.step), run.adapterDir], [6, [3, 6], join(out, 'checkpoint-6')]);

    // The Trainer's end: save_state() and save_model() at the top.
    writeFileSync(join(out, 'trainer_state.json'), JSON.stringify(full));
    writeFileSync(join(out, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 8 }));
    assert.deepEqual(poller.poll(root, [out]).changed, [out]);
    run = readRun(out);
    item = runItem(run);
    assert.deepEqual([run.state, item.contextValue, item.icon.id], ['completed', 'external.completed.adapter', 'pass']);
    assert.equal(canDelete(run), false, 'a finished external run is not deletable from here either');
    const ours = readRun(join(root, 'ours'));
    assert.deepEqual([canStop(ours), canDelete(ours)], [false, true]);
    assert.equal(runChildren(run).find((child) => child.kind === 'adapter')!.path, out);
    assert.equal(dashboardInit(out, false, []).state, 'completed');
    assert.equal(poller.poll(root, []).listChanged, true, 'unwatched: the list changes');
  } finally {
    rmSync(out, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }
});
