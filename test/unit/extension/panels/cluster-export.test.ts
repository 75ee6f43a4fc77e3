// Tests extension/panels/cluster-export.ts and its messages in webview/protocol.ts: the training panel's "Run on a
// Cluster…" checks the form as Start does (problems by field, nothing asked), asks trainer, parallelism and folder
// (a cancel anywhere writes nothing), writes the export and answers with where and what did not map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportFromPanel, PARALLELISM_CHOICES, TRAINER_CHOICES, type Choice, type ClusterExportUi } from '../../../../extension/panels/cluster-export';
import { CLUSTER_TRAINERS, PARALLELISMS } from '../../../../native/export/cluster/bundle';
import { isTrainingHostMessage, isTrainingWebviewMessage } from '../../../../webview/protocol';

function workspace() {
  const root = mkdtempSync(join(tmpdir(), 'panel-cluster-'));
  const model = join(root, 'model');
  mkdirSync(model);
  writeFileSync(join(model, 'config.json'), '{}');
  writeFileSync(join(model, 'tokenizer_config.json'), JSON.stringify({ chat_template: '{{ messages }}' }));
  const data = join(root, 'train.jsonl');
  writeFileSync(data, '{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d"}\n');
  return { root, model, data };
}

/** A UI that answers from a script and records the questions. */
function scripted(answers: unknown[]): ClusterExportUi & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async pick<T>(choices: readonly Choice<T>[], placeHolder: string) {
      asked.push(placeHolder);
      const answer = answers.shift();
      assert.ok(answer === undefined || choices.some((c) => c.value === answer), `offered ${JSON.stringify(answer)}`);
      return answer as T | undefined;
    },
    async folder(suggested: string) {
      asked.push(`folder ${suggested}`);
      return answers.shift() as string | undefined;
    },
  };
}

test('the panel\'s messages: exportCluster carries the form\'s values; exported says where and notes', () => {
  assert.ok(isTrainingWebviewMessage({ type: 'exportCluster', values: { r: 8 } }));
  assert.equal(isTrainingWebviewMessage({ type: 'exportCluster' }), false);
  assert.equal(isTrainingWebviewMessage({ type: 'exportCluster', values: [] }), false);
  assert.ok(isTrainingHostMessage({ type: 'exported', out: '/x', notes: ['written'] }));
  assert.equal(isTrainingHostMessage({ type: 'exported', out: '/x', notes: [3] }), false);
  assert.deepEqual(TRAINER_CHOICES.map((c) => c.value), [...CLUSTER_TRAINERS]);
  assert.deepEqual(PARALLELISM_CHOICES.map((c) => c.value), [...PARALLELISMS]);
});

test('settings Start would refuse come back as problems by field, before any question', async () => {
  const ui = scripted([]);
  const answer = await exportFromPanel({ model: '', data: '/nowhere.jsonl', r: 0 }, ui);
  assert.equal(answer?.type, 'problems');
  const fields = answer?.type === 'problems' ? answer.problems.map((p) => p.field).sort() : [];
  assert.deepEqual(fields, ['data', 'model', 'r']);
  assert.deepEqual(ui.asked, []);
});

test('a cancel at any question writes nothing; answered, the export is written and reported', async () => {
  const { root, model, data } = workspace();
  try {
    const values = { model, data, out: join(root, 'runs', 'r1'), use_dora: true, relora_steps: 0, device: 'cuda' as const };
    const out = join(root, 'cluster');
    for (const answers of [[], ['trl'], ['trl', 'zero2']]) {
      assert.equal(await exportFromPanel(values, scripted(answers)), undefined, JSON.stringify(answers));
      assert.equal(existsSync(out), false);
    }
    const ui = scripted(['llamafactory', 'zero3', out]);
    const answer = await exportFromPanel(values, ui);
    assert.equal(ui.asked[2], `folder ${join(root, 'runs', 'r1')}-llamafactory`);
    assert.equal(answer?.type, 'exported');
    if (answer?.type !== 'exported') return;
    assert.equal(answer.out, out);
    assert.match(answer.notes[0], /^LLaMA-Factory export written to /);
    assert.match(answer.notes[1], /not carried over \(listed in its README\): device, save_dtype/);
    assert.ok(readdirSync(out).includes('deepspeed.json') && readdirSync(out).includes('config.yaml'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
