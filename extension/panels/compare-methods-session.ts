// "Compare Methods…" without VS Code (tested as is): the CLI arguments of a comparison, where it goes, the questions
// it asks (a UI interface the command answers with quick picks, tests with a script), and the session that turns the
// `compare-methods --json` lines into the view's messages — each method's loss curve read back from its run folder —
// keeping them so a view that (re)loads gets everything again. compare-methods-panel.ts wires it to a webview.
import { join } from 'node:path';
import type { CompareEvent } from '../../native/train/compare-events';
import { parseCompareLine } from '../../native/train/compare-events';
import { methodSetup } from '../../native/train/compare-methods';
import { readMetrics } from '../../native/train/run-dir';
import { DEFAULT_RUN_OPTIONS } from '../../native/protocol';
import { WEBVIEW_PROTOCOL_VERSION, type CompareMethodsHostMessage, type CompareMethodsWebviewMessage, type LossCurve } from '../../webview/protocol';
import { comparisonsFolder } from '../runs/run-store';

export interface CompareMethodsRequest {
  model: string;
  data: string;
  evalData?: string;
  methods: string[];
  steps: number;
  /** Tokens per record (the training panel's max_seq_len); absent: the CLI's default. */
  seqLen?: number;
  /** The panel's allow_long_context: seqLen may go past the model's positions (each run warns). */
  allowLongContext?: boolean;
  out: string;
}

export function compareMethodsArgs(cli: string, r: CompareMethodsRequest): string[] {
  return [cli, 'compare-methods', '--model', r.model, '--data', r.data, ...(r.evalData ? ['--eval-data', r.evalData] : []), '--methods', r.methods.join(','),
    '--steps', String(r.steps), ...(r.seqLen ? ['--seq-len', String(r.seqLen)] : []),
    ...(r.allowLongContext ? ['--allow-long-context'] : []), '--out', r.out, '--json'];
}

/** A new comparison's folder: in comparisonsFolder (so its runs show in the Runs view), named by time and model. */
export function comparisonOut(runsFolder: string, id: string): string {
  return join(comparisonsFolder(runsFolder), id);
}

/** Steps typed by the user: a whole number ≥ 2 (one step has no step time), else why not. */
export function stepsProblem(text: string): string | undefined {
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isInteger(n) && n >= 2 ? undefined : 'Give a whole number of steps, 2 or more (e.g. 20)';
}

export interface MethodChoice {
  method: string;
  label: string;
  picked: boolean;
}

export interface CompareMethodsUi {
  model(): Promise<string | undefined>;
  data(): Promise<string | undefined>;
  methods(choices: MethodChoice[]): Promise<string[] | undefined>;
  steps(suggested: number): Promise<number | undefined>;
}

/** What the form (or a fresh start) already knows: the training panel passes its model, data and eval data. */
export interface CompareMethodsStart {
  model?: string;
  data?: string;
  evalData?: string;
  seqLen?: number;
  allowLongContext?: boolean;
}

export const DEFAULT_COMPARE_STEPS = 20;
/** Picked at first: the seeds' baseline and its closest variant. */
const FIRST_PICKED = ['lora', 'dora'];

/** Asks what is not known yet; undefined when a question was cancelled (or fewer than one method was picked). */
export async function askComparison(start: CompareMethodsStart, known: readonly string[], ui: CompareMethodsUi, out: (model: string) => string): Promise<CompareMethodsRequest | undefined> {
  const model = start.model || (await ui.model());
  if (!model) return undefined;
  const data = start.data || (await ui.data());
  if (!data) return undefined;
  const methods = await ui.methods(known.map((method) => ({ method, label: methodSetup(method, DEFAULT_COMPARE_STEPS, DEFAULT_RUN_OPTIONS.r).label, picked: FIRST_PICKED.includes(method) })));
  if (!methods || methods.length === 0) return undefined;
  const steps = await ui.steps(DEFAULT_COMPARE_STEPS);
  if (!steps) return undefined;
  return { model, data, evalData: start.evalData, methods, steps, seqLen: start.seqLen, ...(start.allowLongContext ? { allowLongContext: true } : {}), out: out(model) };
}

/** A run's train-loss curve from its metrics.jsonl. */
export function lossCurve(runDir: string): LossCurve {
  const records = readMetrics(runDir);
  return { steps: records.map((r) => r.step), losses: records.map((r) => r.loss) };
}

/** The view's messages of one comparison, in order; a view that loads (`ready`) is sent all of them again. */
export class CompareMethodsSession {
  private readonly sent: CompareMethodsHostMessage[] = [];
  /** How the comparison ended, once it has. */
  outcome: 'completed' | 'stopped' | 'failed' | undefined;

  constructor(readonly request: CompareMethodsRequest, private readonly post: (message: CompareMethodsHostMessage) => void, private readonly readCurve: (runDir: string) => LossCurve = lossCurve) {
    this.send({
      type: 'init', protocol: WEBVIEW_PROTOCOL_VERSION, steps: request.steps, model: request.model, data: request.data, out: request.out,
      methods: request.methods.map((method) => ({ method, label: methodSetup(method, request.steps, DEFAULT_RUN_OPTIONS.r).label })),
    });
  }

  private send(message: CompareMethodsHostMessage): void {
    this.sent.push(message);
    this.post(message);
  }

  /** A line of the CLI's stdout; returns its event (undefined for anything else) so the caller can show progress. */
  line(text: string): CompareEvent | undefined {
    const event = parseCompareLine(text);
    if (!event) return undefined;
    switch (event.type) {
      case 'method':
        this.send({ type: 'method', method: event.method, runDir: event.run_dir });
        break;
      case 'progress':
        // Live steps go to the view but are not kept: the result's curve, read from the run folder, replaces them.
        this.post({ type: 'progress', method: event.method, step: event.step, totalSteps: event.total_steps, loss: event.loss });
        break;
      case 'result':
        this.send({ type: 'result', result: event, curve: this.readCurve(event.run_dir) });
        break;
      case 'summary':
        this.send({ type: 'summary', summary: event });
        break;
      case 'status': case 'error':
        break;
    }
    return event;
  }

  ended(outcome: 'completed' | 'stopped' | 'failed', message: string): void {
    this.outcome = outcome;
    this.send({ type: 'ended', outcome, message });
  }

  /** The view's message: `ready` replays what was sent, `cancel` and `openRun` go to the actions. */
  receive(message: CompareMethodsWebviewMessage, actions: { cancel(): void; openRun(runDir: string): void }): void {
    switch (message.type) {
      case 'ready':
        for (const m of this.sent) this.post(m);
        return;
      case 'cancel':
        if (this.outcome === undefined) actions.cancel();
        return;
      case 'openRun':
        // Only a run of this comparison: the view names folders, the host decides what it opens.
        if (this.sent.some((m) => m.type === 'method' && m.runDir === message.runDir)) actions.openRun(message.runDir);
        return;
    }
  }
}
