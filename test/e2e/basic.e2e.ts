// End-to-end scenarios 1 and 2: the packaged extension installs and activates in a real workbench, shows its
// container and Runs view, reports a broken .jsonl in the Problems panel on the right lines, and previews a dataset.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { endSession, startSession, step, type Session } from './harness/session';
import { brokenDataset, prepareWorkspace, recordHeadline, sampleDatasetName } from './harness/workspace';
import { escapeRegExp } from './harness/workbench';

const SCENARIO_TIMEOUT = 180_000;
let session: Session | undefined;

before(async () => {
  session = await startSession('basic', prepareWorkspace('basic'));
}, { timeout: 120_000 });

after(async () => {
  await endSession(session);
});

test('1. the .vsix installs, the extension activates, the LoRA Studio container and Runs view are there', { timeout: SCENARIO_TIMEOUT }, async () => {
  await step(session, '01-activation', async ({ workbench }) => {
    const { page } = workbench;
    await workbench.screenshot('01a-workbench-opened');

    // The container's activity bar entry; opening it shows the Runs view, which activates the extension.
    const container = workbench.activityItem('LoRA Studio');
    await container.waitFor({ timeout: 30_000 });
    await container.click();
    const sidebarTitle = page.locator('.part.sidebar .composite.title h2');
    await assert.doesNotReject(sidebarTitle.filter({ hasText: /LoRA Studio/i }).waitFor({ timeout: 15_000 }), 'side bar does not show the LoRA Studio container');
    const runs = workbench.viewPane('Runs');
    await runs.waitFor({ timeout: 15_000 });
    // With no runs yet, the view shows its welcome content with a button (only once the extension's tree
    // provider is registered; otherwise VS Code says no data provider is registered).
    const welcomeButton = runs.locator('.welcome-view-content .monaco-button', { hasText: /Start LoRA Training/ }).first();
    await assert.doesNotReject(welcomeButton.waitFor({ timeout: 30_000 }),
      `the Runs view shows no "Start LoRA Training" button; it shows: ${await runs.innerText().catch(() => '?')}`);
    // Until the extension registers its tree provider the view says so; activation must end that within seconds.
    await assert.doesNotReject(runs.getByText(/no data provider registered/i).waitFor({ state: 'detached', timeout: 30_000 }),
      'the Runs view still has no data provider after 30s: the extension did not activate or did not register the view');
    await workbench.screenshot('01b-lora-studio-runs-view');

    // Running Extensions lists it with an activation time and no error.
    await workbench.runCommand('Show Running Extensions');
    const row = page.locator('.runtime-extensions-editor .monaco-list-row', { hasText: 'LoRA Studio' }).first();
    // The list is sorted by activation time and virtualized: on a loaded machine slower built-ins fill the view and
    // LoRA Studio's row is not rendered until the list scrolls to it.
    const list = page.locator('.runtime-extensions-editor .monaco-list').first();
    await list.waitFor({ timeout: 30_000 });
    for (let scrolled = 0; !(await row.isVisible()) && scrolled < 30; scrolled++) {
      await list.hover();
      await page.mouse.wheel(0, 400);
      await page.waitForTimeout(300);
    }
    await row.waitFor({ timeout: 30_000 });
    await row.scrollIntoViewIfNeeded();
    const text = await row.innerText();
    assert.match(text, /Activation: \d+ms/, `LoRA Studio is not activated: ${text}`);
    assert.doesNotMatch(text, /error|failed/i, `LoRA Studio reports an activation error: ${text}`);
    await workbench.screenshot('01c-running-extensions');
    await page.keyboard.press('Escape');
  });
});

test('2. a broken .jsonl shows its errors in the Problems panel on the right lines; Dataset Preview renders records', { timeout: SCENARIO_TIMEOUT }, async () => {
  await step(session, '02-datasets', async ({ workbench, workspace }) => {
    const { page } = workbench;
    await workbench.openFile(brokenDataset.name);
    await workbench.reopenWith(/^Text Editor/);
    await page.locator('.editor-instance .monaco-editor .view-lines', { hasText: 'unterminated' }).waitFor({ timeout: 20_000 });

    await workbench.runCommand('Focus on Problems View');
    const markers = page.locator('.markers-panel .monaco-list-row');
    const markerAt = (line: number) => markers.filter({ hasText: new RegExp(`\\[Ln ${line}, Col \\d+\\]`) });
    for (const line of brokenDataset.errorLines) {
      await assert.doesNotReject(markerAt(line).first().waitFor({ timeout: 30_000 }),
        `Problems shows no error on line ${line}; rows: ${(await markers.allInnerTexts()).join(' | ')}`);
    }
    // Line 3's error is a wrong type, which only the extension's schema check knows: it must name the field.
    assert.match(await markerAt(3).first().innerText(), /output/, 'the line 3 problem should name the "output" field');
    for (const line of brokenDataset.goodLines) {
      assert.equal(await markerAt(line).count(), 0, `Problems reports valid line ${line}: ${(await markers.allInnerTexts()).join(' | ')}`);
    }
    await workbench.screenshot('02a-problems-broken-jsonl');

    // Dataset Preview of the sample dataset: a grid whose rows show the records.
    await workbench.openFile(sampleDatasetName);
    await workbench.reopenWith(/Dataset Preview/);
    const preview = await workbench.webviewWith('[role="grid"] [role="row"]', 30_000);
    const rows = preview.locator('[role="grid"] [role="row"]');
    const shown = Math.min(workspace.sampleRecords.length, 3);
    for (const record of workspace.sampleRecords.slice(0, shown)) {
      const headline = recordHeadline(record).replace(/\s+/g, ' ').trim().slice(0, 40);
      await assert.doesNotReject(rows.filter({ hasText: new RegExp(escapeRegExp(headline)) }).first().waitFor({ timeout: 15_000 }),
        `Dataset Preview shows no row with "${headline}"`);
    }
    assert.ok((await rows.count()) >= shown, `Dataset Preview shows ${await rows.count()} rows, expected at least ${shown}`);
    await workbench.screenshot('02b-dataset-preview');
  });
});
