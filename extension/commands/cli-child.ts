// A `lora-studio <command> --json` child process for a long action (merge, compose): spawned with the extension's
// environment, its NDJSON stdout handed over line by line, its stderr logged, SIGTERM on cancel. The work never runs
// in the extension host.
import * as vscode from 'vscode';
import { spawn } from 'node:child_process';
import type { Ctx } from '../ctx';

/**
 * Runs `node <args>` (args[0]: the bundled cli.js). Resolves with the exit code and stderr when the child ends;
 * rejects with CancellationError after a cancel.
 */
export function runCliJson(ctx: Ctx, args: string[], onLine: (line: string) => void, token: vscode.CancellationToken): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: ctx.childEnv(), windowsHide: true });
    let buffer = '';
    let stderr = '';
    const cancel = token.onCancellationRequested(() => child.kill('SIGTERM'));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      ctx.log.append(chunk);
    });
    child.on('error', (error) => {
      cancel.dispose();
      reject(error);
    });
    child.on('close', (code) => {
      cancel.dispose();
      if (buffer.trim()) onLine(buffer);
      if (token.isCancellationRequested) reject(new vscode.CancellationError());
      else resolve({ code, stderr });
    });
  });
}
