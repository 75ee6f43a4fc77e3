// Keeps the context key loraStudio.adapterFolders = the workspace folders that hold adapter_config.json, so the
// explorer shows "Merge Adapter" exactly on them (`resourcePath in loraStudio.adapterFolders`).
import * as vscode from 'vscode';
import { dirname } from 'node:path';
import type { Ctx } from './ctx';
import { ADAPTER_FOLDERS_KEY } from './commands/ids';

const MAX_ADAPTERS = 2000;

export function registerAdapterFolders(ctx: Ctx): void {
  let timer: NodeJS.Timeout | undefined;
  const scan = async () => {
    const files = await vscode.workspace.findFiles('**/adapter_config.json', '**/node_modules/**', MAX_ADAPTERS);
    const folders = [...new Set(files.map((uri) => dirname(uri.fsPath)))].sort();
    await vscode.commands.executeCommand('setContext', ADAPTER_FOLDERS_KEY, folders);
  };
  const rescan = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void scan(), 300);
  };
  const watcher = ctx.own(vscode.workspace.createFileSystemWatcher('**/adapter_config.json', false, true, false));
  ctx.own(watcher.onDidCreate(rescan));
  ctx.own(watcher.onDidDelete(rescan));
  ctx.own(vscode.workspace.onDidChangeWorkspaceFolders(rescan));
  ctx.own({ dispose: () => clearTimeout(timer) });
  void scan();
}
