// One e2e session per scenario file: a code-server with the packaged extension, a browser on the workspace, and
// `step()`, which on failure saves a screenshot and prints code-server's logs before rethrowing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startCodeServer, type CodeServer } from './code-server';
import { outputDir, Workbench } from './workbench';
import type { Workspace } from './workspace';

export interface Session {
  server: CodeServer;
  workbench: Workbench;
  workspace: Workspace;
}

/** The .vsix that test/e2e/run.mjs packaged, from LORA_E2E_VSIX. */
export function packagedVsix(): string {
  const vsix = process.env.LORA_E2E_VSIX;
  if (!vsix || !existsSync(vsix)) {
    throw new Error(`LORA_E2E_VSIX must name the packaged extension (got "${vsix ?? ''}"); run the scenarios through \`node test/e2e/run.mjs\``);
  }
  return vsix;
}

export async function startSession(name: string, workspace: Workspace, settings: Record<string, unknown> = {}): Promise<Session> {
  const server = await startCodeServer({
    vsix: packagedVsix(),
    workspace: workspace.folder,
    logsTo: join(outputDir, `logs-${name}`),
    settings,
  });
  try {
    const workbench = await Workbench.open(server.url, workspace.folder);
    return { server, workbench, workspace };
  } catch (error) {
    console.error(server.logTail());
    await server.stop();
    throw error;
  }
}

export async function endSession(session: Session | undefined): Promise<void> {
  if (!session) return;
  await session.workbench.close().catch(() => {});
  await session.server.stop();
}

/**
 * Runs one scenario's body; on failure saves `<shot>-FAILED.png`, prints the toasts showing and code-server's log
 * tail, and rethrows, so a broken step fails the test with what the screen looked like.
 */
export async function step<T>(session: Session | undefined, shot: string, body: (s: Session) => Promise<T>, timeoutMs = 0): Promise<T> {
  if (!session) throw new Error('the e2e session did not start (see the error of the `before` hook above)');
  let timer: NodeJS.Timeout | undefined;
  // Own deadline, shorter than node:test's: a test that node:test cancels gets no screenshot of what hung.
  const deadline = new Promise<never>((_, reject) => {
    if (timeoutMs > 0) timer = setTimeout(() => reject(new Error(`${shot}: still not done after ${timeoutMs / 1000}s`)), timeoutMs);
  });
  try {
    return await Promise.race([body(session), deadline]);
  } catch (error) {
    const path = await session.workbench.screenshot(`${shot}-FAILED`).catch(() => '(no screenshot)');
    const toasts = await session.workbench.notifications().catch(() => []);
    console.error(`\n[e2e] ${shot} failed; screenshot: ${path}; notifications: ${toasts.join(' | ') || '(none)'}`);
    console.error(session.server.logTail(40));
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
