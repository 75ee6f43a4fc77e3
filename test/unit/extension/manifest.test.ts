// Manifest consistency: the commands the code registers are exactly the ones package.json contributes; every menu,
// view, welcome link and keybinding names something that exists; settings read in config.ts are declared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_IDS, RUNS_VIEW_ID } from '../../../extension/commands/ids';

interface Manifest {
  icon?: string;
  activationEvents?: string[];
  contributes: {
    commands: { command: string; title: string; category?: string; icon?: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
    views: Record<string, { id: string; icon?: string }[]>;
    viewsContainers: { activitybar: { id: string; icon: string; title: string }[] };
    viewsWelcome: { view: string; contents: string }[];
    customEditors: { viewType: string; selector: { filenamePattern: string }[]; priority: string }[];
    configuration: { properties: Record<string, { scope?: string }> };
  };
}

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Manifest;
const contributes = manifest.contributes;
const declared = new Set(contributes.commands.map((c) => c.command));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

test('every registered command is contributed, and every contributed command is registered', () => {
  assert.deepEqual([...declared].sort(), [...COMMAND_IDS].sort());
  const start = contributes.commands.find((c) => c.command === 'loraStudio.startTraining');
  assert.equal(start?.title, 'Start LoRA Training');
  for (const command of contributes.commands) assert.equal(command.category, 'LoRA Studio', command.command);
});

test('commands the code executes by id exist (ours in package.json, built-ins are VS Code\'s)', () => {
  const used = new Set<string>();
  for (const file of sources('extension')) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:executeCommand\(|command: )'(loraStudio\.[\w.]+)'/g)) used.add(match[1]);
  }
  assert.ok(used.size >= 4, 'the scan finds command uses');
  for (const id of used) assert.ok(declared.has(id), `${id} is used in extension/ but not contributed`);
});

test('menus, views and welcome links refer to existing commands and views', () => {
  for (const [menu, entries] of Object.entries(contributes.menus)) {
    for (const entry of entries) assert.ok(declared.has(entry.command), `menu ${menu} names unknown command ${entry.command}`);
  }
  const views = Object.values(contributes.views).flat().map((v) => v.id);
  assert.ok(views.includes(RUNS_VIEW_ID));
  const containers = contributes.viewsContainers.activitybar.map((c) => c.id);
  for (const container of Object.keys(contributes.views)) assert.ok(containers.includes(container) || container === 'explorer', container);
  for (const welcome of contributes.viewsWelcome) {
    assert.ok(views.includes(welcome.view), welcome.view);
    for (const match of welcome.contents.matchAll(/\(command:(loraStudio\.[\w.]+)\)/g)) assert.ok(declared.has(match[1]), match[1]);
  }
  assert.ok(contributes.viewsWelcome.some((w) => w.contents.includes('command:loraStudio.startTraining')), 'empty Runs view offers Start');
  for (const entries of Object.values(contributes.menus)) {
    for (const entry of entries) {
      for (const match of (entry.when ?? '').matchAll(/view == ([\w.]+)/g)) assert.ok(views.includes(match[1]), match[1]);
    }
  }
});

test('explorer Merge Adapter on adapter folders, Start Training on *.jsonl, preview editor as an option', () => {
  const explorer = contributes.menus['explorer/context'];
  const merge = explorer.find((e) => e.command === 'loraStudio.mergeAdapter');
  assert.match(merge?.when ?? '', /explorerResourceIsFolder && resourcePath in loraStudio\.adapterFolders/);
  const ids = readFileSync('extension/commands/ids.ts', 'utf8');
  assert.match(ids, /ADAPTER_FOLDERS_KEY = 'loraStudio\.adapterFolders'/);
  assert.match(explorer.find((e) => e.command === 'loraStudio.startTraining')?.when ?? '', /resourceExtname == \.jsonl/);
  const [editor] = contributes.customEditors;
  assert.equal(editor.viewType, 'loraStudio.datasetPreview');
  assert.equal(editor.priority, 'option');
  assert.deepEqual(editor.selector, [{ filenamePattern: '*.jsonl' }]);
  assert.match(readFileSync('extension/datasets/preview-editor.ts', 'utf8'), /DATASET_PREVIEW_VIEW_TYPE = 'loraStudio\.datasetPreview'/);
  assert.ok(contributes.menus['editor/title'].some((e) => e.command === 'loraStudio.openDatasetPreview'));
});

test('icons exist; settings read in config.ts are declared; native-library paths are machine-scoped', () => {
  for (const icon of [manifest.icon, ...contributes.viewsContainers.activitybar.map((c) => c.icon)]) {
    assert.ok(icon && existsSync(icon), `icon ${icon} exists`);
  }
  const config = readFileSync('extension/config.ts', 'utf8');
  const read = [...config.matchAll(/get<\w+>\('([\w.]+)'\)/g)].map((m) => `loraStudio.${m[1]}`).sort();
  assert.deepEqual(read, Object.keys(contributes.configuration.properties).sort());
  assert.equal(contributes.configuration.properties['loraStudio.cuda.libraryPath'].scope, 'machine');
});
