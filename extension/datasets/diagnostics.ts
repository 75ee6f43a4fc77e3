// JSONL dataset problems → the Problems panel, as the user edits: every *.jsonl document is validated on open and
// on change (debounced), workspace files once at activation (bounded), with rename quick fixes and a hover that
// names each record's format. The validation itself is native/data (the same code as `lora-studio validate`).
import * as vscode from 'vscode';
import { validateBytes, validateDocument } from '../../native/data/validate';
import { fileEncodingSync } from '../../native/data/text-encoding';
import { parseRecord, type DatasetProblem } from '../../native/data/schema';

const SOURCE = 'LoRA Studio';
const DEBOUNCE_MS = 300;
/** Files above this size are checked when opened in an editor, not in the activation scan. */
const SCAN_MAX_BYTES = 20 * 1024 * 1024;
const SCAN_MAX_FILES = 200;

export function toDiagnostic(problem: DatasetProblem): vscode.Diagnostic {
  const start = new vscode.Position(problem.line - 1, problem.column - 1);
  const range = new vscode.Range(start, start.translate(0, problem.length));
  const diagnostic = new vscode.Diagnostic(range, problem.message, problem.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
  diagnostic.source = SOURCE;
  if (problem.fix) diagnostic.code = `rename:${problem.fix.from}:${problem.fix.to}`;
  return diagnostic;
}

function isDataset(document: vscode.TextDocument): boolean {
  return document.uri.scheme !== 'git' && document.fileName.toLowerCase().endsWith('.jsonl');
}

class RenameKeyFixes implements vscode.CodeActionProvider {
  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    return context.diagnostics
      .filter((d) => d.source === SOURCE && typeof d.code === 'string' && d.code.startsWith('rename:'))
      .map((diagnostic) => {
        const [, from, to] = (diagnostic.code as string).split(':');
        const action = new vscode.CodeAction(`Rename "${from}" to "${to}"`, vscode.CodeActionKind.QuickFix);
        const line = document.lineAt(diagnostic.range.start.line);
        const keyAt = line.text.indexOf(`"${from}"`);
        if (keyAt < 0) return undefined;
        action.edit = new vscode.WorkspaceEdit();
        action.edit.replace(document.uri, new vscode.Range(line.lineNumber, keyAt, line.lineNumber, keyAt + from.length + 2), `"${to}"`);
        action.diagnostics = [diagnostic];
        action.isPreferred = true;
        return action;
      })
      .filter((action): action is vscode.CodeAction => action !== undefined);
  }
}

class FormatHover implements vscode.HoverProvider {
  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const text = document.lineAt(position.line).text;
    if (text.trim() === '') return undefined;
    const parsed = parseRecord(text, position.line + 1);
    if (!parsed.format) return undefined;
    const state = parsed.record ? 'valid' : `${parsed.problems.filter((p) => p.severity === 'error').length} error(s)`;
    return new vscode.Hover(`LoRA Studio: **${parsed.format}** record (${state})`);
  }
}

export function registerDatasetDiagnostics(context: vscode.ExtensionContext): vscode.Disposable {
  const collection = vscode.languages.createDiagnosticCollection('lora-studio-datasets');
  const timers = new Map<string, NodeJS.Timeout>();
  const check = (document: vscode.TextDocument) => {
    if (!isDataset(document)) return;
    // What train reads is the file's bytes: a UTF-16 file is its one error even though VS Code shows it decoded.
    const onDisk = document.uri.scheme === 'file' ? fileEncodingSync(document.fileName) : undefined;
    const report = validateDocument(document.fileName, document.getText(), onDisk, { maxProblems: 500 });
    collection.set(document.uri, [...report.errors, ...report.warnings].map(toDiagnostic));
  };
  const checkSoon = (document: vscode.TextDocument) => {
    const key = document.uri.toString();
    clearTimeout(timers.get(key));
    timers.set(key, setTimeout(() => {
      timers.delete(key);
      check(document);
    }, DEBOUNCE_MS));
  };
  const scanWorkspace = async () => {
    const files = await vscode.workspace.findFiles('**/*.jsonl', '**/{node_modules,.git,.lora-studio}/**', SCAN_MAX_FILES);
    for (const uri of files) {
      if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString())) continue;
      const stat = await vscode.workspace.fs.stat(uri);
      if (stat.size > SCAN_MAX_BYTES) continue;
      const report = validateBytes(uri.fsPath, await vscode.workspace.fs.readFile(uri), { maxProblems: 500 });
      collection.set(uri, [...report.errors, ...report.warnings].map(toDiagnostic));
    }
  };
  const selector: vscode.DocumentSelector = { pattern: '**/*.jsonl' };
  const disposables = [
    collection,
    vscode.workspace.onDidOpenTextDocument(check),
    vscode.workspace.onDidChangeTextDocument((event) => checkSoon(event.document)),
    vscode.workspace.onDidSaveTextDocument(check),
    vscode.workspace.onDidDeleteFiles((event) => event.files.forEach((uri) => collection.delete(uri))),
    vscode.languages.registerCodeActionsProvider(selector, new RenameKeyFixes(), { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
    vscode.languages.registerHoverProvider(selector, new FormatHover()),
  ];
  vscode.workspace.textDocuments.forEach(check);
  void scanWorkspace().catch(() => undefined);
  const disposable = vscode.Disposable.from(...disposables, { dispose: () => timers.forEach(clearTimeout) });
  context.subscriptions.push(disposable);
  return disposable;
}
