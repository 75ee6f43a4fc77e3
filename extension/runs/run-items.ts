// What the Runs view shows for a run folder, as plain data (label, description, icon, context value, children):
// the mapping is pure so it is tested without VS Code; run-monitor.ts turns it into TreeItems.
import { basename } from 'node:path';
import type { RunConfig } from '../../native/protocol';
import type { RunSummary } from './run-store';
import { LISA_DEFAULT_LAYERS, LISA_DEFAULT_PERIOD } from '../../native/train/lisa-config';
import { DEFAULT_VIRTUAL_TOKENS } from '../../native/model/prompt-learning';

export interface RunItemData {
  kind: 'run' | 'checkpoint' | 'adapter' | 'model' | 'info';
  /** The run folder this item belongs to. */
  runDir: string;
  /** The file or folder the item stands for (a checkpoint folder, the adapter folder). */
  path: string;
  label: string;
  description?: string;
  tooltip: string;
  /** A codicon id, with an optional theme color id. */
  icon: { id: string; color?: string };
  /**
   * Drives the menus in package.json: `run.<state>[.resumable][.adapter]`, `external.<state>[.adapter]` (a watched run
   * trained elsewhere: no stop, resume or delete), `checkpoint`, `adapter`, `trainedModel` (LISA's model folder: Compare).
   */
  contextValue: string;
  collapsible: boolean;
}

const STATE_ICON: Record<RunSummary['state'], { id: string; color?: string }> = {
  pending: { id: 'loading~spin' },
  running: { id: 'sync~spin', color: 'charts.blue' },
  completed: { id: 'pass', color: 'testing.iconPassed' },
  stopped: { id: 'debug-pause', color: 'charts.yellow' },
  failed: { id: 'error', color: 'testing.iconFailed' },
};

function percent(step: number, total: number): string {
  return total > 0 ? ` (${Math.floor((100 * step) / total)}%)` : '';
}

/** Short description next to the run's name: progress while running, the outcome otherwise. */
export function runDescription(run: RunSummary): string {
  const loss = run.last ? ` · loss ${run.last.loss.toFixed(3)}` : '';
  switch (run.state) {
    case 'pending':
      return run.message ?? 'starting…';
    case 'running':
      return run.step > 0 || run.totalSteps > 0
        ? `${run.step}/${run.totalSteps || '?'}${percent(run.step, run.totalSteps)}${loss}`
        : run.message ?? 'starting…';
    case 'completed':
      return `completed · ${run.step} steps${loss}`;
    case 'stopped':
      return `stopped at ${run.step}/${run.totalSteps || '?'}${loss}`;
    case 'failed':
      return 'failed';
  }
}

/** The method and its rank(s), as the run trains them: "DoRA r 8", "AdaLoRA r 12 → 8", "ReLoRA r 8 every 200 steps". */
export function methodSummary(config: RunConfig): string {
  if (config.method === 'lisa') return `LISA ${config.lisa_layers ?? LISA_DEFAULT_LAYERS} layers every ${config.lisa_period ?? LISA_DEFAULT_PERIOD} steps`;
  if (config.method === 'prompt-tuning' || config.method === 'prefix-tuning') {
    return `${config.method === 'prompt-tuning' ? 'Prompt' : 'Prefix'} tuning, ${config.num_virtual_tokens ?? DEFAULT_VIRTUAL_TOKENS} virtual tokens`;
  }
  if (config.method === 'adalora') return `AdaLoRA r ${config.init_r ?? config.r} → ${config.target_r ?? '?'}`;
  const init = typeof config.init_lora_weights === 'string' ? config.init_lora_weights : undefined;
  const name = config.use_dora ? 'DoRA' : init?.startsWith('pissa') ? 'PiSSA' : init === 'olora' ? 'OLoRA' : config.relora_steps ? 'ReLoRA' : 'LoRA';
  return `${name} r ${config.r}${config.relora_steps ? ` every ${config.relora_steps} steps` : ''}`;
}

export function runItem(run: RunSummary): RunItemData {
  if (run.external) return externalItem(run);
  const resumable = (run.state === 'stopped' || run.state === 'failed') && run.checkpoints.length > 0;
  const model = run.config ? basename(run.config.model) : undefined;
  const data = run.config ? basename(run.config.data) : undefined;
  const lines = [
    run.dir,
    model && data ? `${model} on ${data}` : undefined,
    run.config ? `${methodSummary(run.config)}, alpha ${run.config.lora_alpha}, lr ${run.config.learning_rate}` : undefined,
    `state: ${run.state}${run.message ? ` — ${run.message}` : ''}`,
  ].filter((line): line is string => line !== undefined);
  return {
    kind: 'run',
    runDir: run.dir,
    path: run.dir,
    label: model ? `${run.id}` : run.id,
    description: runDescription(run),
    tooltip: lines.join('\n'),
    icon: STATE_ICON[run.state],
    contextValue: `run.${run.state}${resumable ? '.resumable' : ''}${run.hasAdapter ? '.adapter' : ''}`,
    collapsible: run.checkpoints.length > 0 || run.hasAdapter || run.modelDir !== undefined || run.state === 'failed',
  };
}

/** Stop is for runs this machine trains: a watched external run has no worker here. */
export function canStop(run: RunSummary): boolean {
  return run.state === 'running' && !run.external;
}

/** Delete is for LoRA Studio's own runs: files trained elsewhere are never deleted from here (Stop Watching forgets them). */
export function canDelete(run: RunSummary): boolean {
  return run.state !== 'running' && !run.external;
}

/** A watched external run: marked as such, its menus those of a folder we only read (Merge, Compare, export, stop watching). */
function externalItem(run: RunSummary): RunItemData {
  const progress = run.totalSteps > 0 ? `${run.step}/${run.totalSteps}${percent(run.step, run.totalSteps)}` : `step ${run.step}`;
  const loss = run.last ? ` · loss ${run.last.loss.toFixed(3)}` : '';
  return {
    kind: 'run', runDir: run.dir, path: run.dir, label: run.id,
    description: `external · ${run.state === 'completed' ? `completed · ${run.step} steps` : progress}${loss}`,
    tooltip: [run.dir, 'external run: trained elsewhere (Hugging Face Trainer output folder, synced or mounted), watched here', run.message].filter(Boolean).join('\n'),
    icon: run.state === 'completed' ? STATE_ICON.completed : { id: 'cloud', color: 'charts.blue' },
    // Merge and Compare on the run row only when its adapter is the folder itself; a checkpoint's is on the adapter row.
    contextValue: `external.${run.state}${run.hasAdapter && (run.adapterDir ?? run.dir) === run.dir ? '.adapter' : ''}`,
    collapsible: run.checkpoints.length > 0 || run.hasAdapter,
  };
}

/** Children of a run: its adapter first (what users want), then checkpoints newest first; a failed run's reason. */
export function runChildren(run: RunSummary): RunItemData[] {
  const children: RunItemData[] = [];
  if (run.state === 'failed' && run.message) {
    children.push({
      kind: 'info', runDir: run.dir, path: run.dir, label: run.message, tooltip: run.message,
      icon: { id: 'warning', color: 'testing.iconFailed' }, contextValue: 'info', collapsible: false,
    });
  }
  if (run.hasAdapter) {
    const adapterDir = run.adapterDir ?? run.dir;
    children.push({
      kind: 'adapter', runDir: run.dir, path: adapterDir, label: 'adapter',
      description: adapterDir !== run.dir ? `PEFT adapter (${basename(adapterDir)})` : run.state === 'completed' ? 'PEFT adapter' : `PEFT adapter (step ${run.step})`,
      tooltip: `${adapterDir}\nadapter_config.json + adapter_model.safetensors — merge it, compare it, or load it with PEFT`,
      icon: { id: 'package' }, contextValue: 'adapter', collapsible: false,
    });
  }
  if (run.modelDir) {
    children.push({
      kind: 'model', runDir: run.dir, path: run.modelDir, label: 'model',
      description: run.state === 'completed' ? 'Hugging Face model' : `Hugging Face model (step ${run.step})`,
      tooltip: `${run.modelDir}\nthe whole trained model (config, tokenizer, safetensors) — compare it, generate with it, or load it with transformers`,
      icon: { id: 'package' }, contextValue: 'trainedModel', collapsible: false,
    });
  }
  for (const checkpoint of [...run.checkpoints].reverse()) {
    children.push({
      kind: 'checkpoint', runDir: run.dir, path: checkpoint.path, label: basename(checkpoint.path),
      description: `step ${checkpoint.step}`, tooltip: checkpoint.path,
      icon: { id: 'save' }, contextValue: 'checkpoint', collapsible: false,
    });
  }
  return children;
}
