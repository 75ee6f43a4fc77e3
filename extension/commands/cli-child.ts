// A `lora-studio <command> --json` child process for a long action (merge, compose): spawned with the extension's
// environment, its NDJSON stdout handed over line by line, its stderr logged, SIGTERM on cancel (SIGKILL if it is
// still running KILL_AFTER_MS later). The work never runs in the extension host.
import * as vscode from 'vscode';
import { spawn } from 'node:child_process';
import type { Ctx } from '../ctx';
import type { CancelledEnd } from './cancel-report';

/** How long a cancelled child may take to stop (the CLI stops between tensors or records) before it is killed. */
export const KILL_AFTER_MS = 10_000;

/** A cancel that took effect: how the child ended (cancel-report.ts says what that means). */
export class CliCancelled extends vscode.CancellationError {
  constructor(readonly end: CancelledEnd) {
    super();
  }
}

/**
 * Runs `node <args>` (args[0]: the bundled cli.js). Resolves with the exit code and stderr when the child ends —
 * also after a cancel that came too late (the child exited 0: `cancelled` is then true); rejects with CliCancelled
 * (a CancellationError) when the cancel stopped or killed it.
 */
export function runCliJson(ctx: Ctx, args: string[], onLine: (line: string) => void, token: vscode.CancellationToken): Promise<{ code: number | null; stderr: string; cancelled: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: ctx.childEnv(), windowsHide: true });
    let buffer = '';
    let stderr = '';
    let killed = false;
    let killTimer: NodeJS.Timeout | undefined;
    const cancel = token.onCancellationRequested(() => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => {
        killed = child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
      }, KILL_AFTER_MS);
    });
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
      clearTimeout(killTimer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      cancel.dispose();
      clearTimeout(killTimer);
      if (buffer.trim()) onLine(buffer);
      const cancelled = token.isCancellationRequested;
      if (cancelled && code !== 0) reject(new CliCancelled({ code, signal, killed }));
      else resolve({ code, stderr, cancelled });
    });
  });
}
