// Every loraStudio.* setting, typed and read in one place (nothing else calls getConfiguration).
import * as vscode from 'vscode';
import { isAbsolute, join } from 'node:path';

export const DEFAULT_RUNS_FOLDER = '.lora-studio/runs';

export interface Config {
  /** Absolute runs folder, or undefined when no workspace folder is open (runs live in the workspace). */
  runsFolder: string | undefined;
  /** Folder holding the CUDA execution provider (machine-scoped: it points at native libraries). */
  cudaLibraryPath: string | undefined;
}

/** Resolves the runs-folder setting against the first workspace folder; pure so tests need no VS Code. */
export function resolveRunsFolder(setting: string | undefined, workspaceRoot: string | undefined): string | undefined {
  const value = setting?.trim() || DEFAULT_RUNS_FOLDER;
  if (isAbsolute(value)) return value;
  return workspaceRoot ? join(workspaceRoot, value) : undefined;
}

export function readConfig(): Config {
  const section = vscode.workspace.getConfiguration('loraStudio');
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const cuda = section.get<string>('cuda.libraryPath')?.trim();
  return {
    runsFolder: resolveRunsFolder(section.get<string>('runsFolder'), root),
    cudaLibraryPath: cuda ? cuda : undefined,
  };
}

/** Fires when any loraStudio.* setting changes. */
export function onConfigChange(listener: () => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((event) => {
    if (event.affectsConfiguration('loraStudio')) listener();
  });
}
