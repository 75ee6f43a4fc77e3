// Runs `lora-studio generate --stream-json` as a child process for one side of the compare view and turns its NDJSON
// output into token / done events (no vscode; tested with a stand-in script). The generation never runs in the
// extension host: the CLI loads onnxruntime, the host only reads lines.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { GenerateStreamLine } from '../../native/protocol';
import type { GenerateSettings } from '../../webview/protocol';
import { jsonObjectOf } from '../../native/util/json-line';

/** A line of `lora-studio generate --stream-json` (native/protocol.ts); `error` lines are accepted too. */
export type GenerateLine = GenerateStreamLine | { type: 'error'; message: string };

export function parseGenerateLine(line: string): GenerateLine | undefined {
  const v = jsonObjectOf(line);
  if (v === undefined) return undefined;
  if (v.type === 'token' && typeof v.text === 'string') return { type: 'token', text: v.text };
  if (v.type === 'done' && typeof v.tokens === 'number' && typeof v.seconds === 'number') {
    const tps = typeof v.tokens_per_s === 'number' ? v.tokens_per_s : v.seconds > 0 ? v.tokens / v.seconds : 0;
    return { type: 'done', tokens: v.tokens, seconds: v.seconds, tokens_per_s: tps, ...(typeof v.memory_mb === 'number' ? { memory_mb: v.memory_mb } : {}) };
  }
  if (v.type === 'error' && typeof v.message === 'string') return { type: 'error', message: v.message };
  return undefined;
}

export function generateArgs(cli: string, request: { model: string; adapter?: string; prompt: string; settings: GenerateSettings; quantization?: 'none' | 'nf4' }): string[] {
  const s = request.settings;
  // The base side of a QLoRA adapter runs on the same NF4 base (the adapter side's CLI finds it on its own).
  const quantization = request.quantization && request.quantization !== 'none' ? ['--quantization', request.quantization] : [];
  // --instruction: the prompt is formatted with the model's chat (or Alpaca) template, as the adapter was trained.
  // A whole trained model (LISA's <run>/model: config.json, no adapter_config.json) is the other side's model itself.
  const trainedModel = request.adapter && existsSync(join(request.adapter, 'config.json')) && !existsSync(join(request.adapter, 'adapter_config.json'));
  const model = trainedModel ? ['--model', request.adapter!] : ['--model', request.model, ...(request.adapter ? ['--adapter', request.adapter] : [])];
  return [cli, 'generate', ...model, '--instruction', request.prompt,
    '--max-new-tokens', String(s.maxNewTokens), '--temperature', String(s.temperature), '--top-p', String(s.topP), '--seed', String(s.seed), ...quantization, '--stream-json'];
}

export interface RunGenerateOptions {
  /** Node executable; in VS Code the Electron binary run as Node (ELECTRON_RUN_AS_NODE=1). */
  node: string;
  args: string[];
  onLine: (line: GenerateLine) => void;
  signal?: AbortSignal;
}

/**
 * Runs one generation; resolves when the process exits. A non-zero exit without an `error` line rejects with the
 * end of stderr (the CLI prints UserErrors there). Aborting kills the child.
 */
export function runGenerate(options: RunGenerateOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(options.node, options.args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    let stderr = '';
    let reported = false;
    const onAbort = () => child.kill();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      const parsed = parseGenerateLine(line);
      if (!parsed) return;
      if (parsed.type === 'error') reported = true;
      options.onLine(parsed);
    });
    child.on('error', (error) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted) return reject(new Error('cancelled'));
      if (code === 0 || reported) return resolve();
      const message = stderr.trim().split('\n').slice(-5).join('\n') || `exited with code ${code}`;
      reject(new Error(message.replace(/^lora-studio: /, '')));
    });
  });
}
