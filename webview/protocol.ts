// Host ⇄ webview messages of the training panel, the run dashboard, the compare view and the Compare Methods view,
// defined once with guards.
// Each view has a union per direction keyed by `type`; the host `import`s this file, the webviews bundle it.
// Only types come from native/protocol.ts and native/model/hf-config.ts, so nothing Node-side reaches the browser bundle.
import type { ModelConfig } from '../native/model/hf-config';
import type { DeviceChoice, MetricRecord, RunConfig, WorkerEvent } from '../native/protocol';
import type { CompareResult, CompareSummary } from '../native/train/compare-events';

/** Bumped whenever a message changes shape; every `init` carries it. */
export const WEBVIEW_PROTOCOL_VERSION = 3;

// ---- shared pieces -------------------------------------------------------------------------------------------

/** A problem shown next to its field (`config` = not tied to one field). */
export interface FieldProblem {
  field: string;
  message: string;
}

/** One linear module kind of the model (same shape in every layer), for the target-module editor. */
export interface ModuleInfo {
  name: string;
  in: number;
  out: number;
  /** Full name with `{layer}` for the layer index, e.g. `model.layers.{layer}.self_attn.q_proj`. */
  pathTemplate: string;
  /** 'attention' or 'mlp': the "attention only" preset takes the first group. */
  group: 'attention' | 'mlp';
}

/** What the host learned by inspecting a model folder (config.json and the safetensors headers). */
export interface ModelInfo {
  dir: string;
  architecture: string;
  modelType: string;
  totalParams: number;
  dtype: 'float32' | 'float16' | 'bfloat16';
  layers: number;
  hiddenSize: number;
  vocabSize: number;
  maxPositions: number;
  /** The fields estimate.ts needs (ModelConfig subset). */
  shape: {
    vocab_size: number; hidden_size: number; intermediate_size: number; num_hidden_layers: number; num_attention_heads: number;
    num_key_value_heads: number; head_dim: number; tie_word_embeddings: boolean; attention_bias: boolean; qk_norm: boolean;
    torch_dtype: 'float32' | 'float16' | 'bfloat16';
  };
  modules: ModuleInfo[];
  /** The parsed config.json: the panel resolves target_modules with native/model/lora.ts on it, as training does. */
  config: ModelConfig;
}

export interface TokenStats {
  count: number;
  min: number;
  median: number;
  p95: number;
  max: number;
  /** Records longer than the max length the stats were asked for (they will be truncated). */
  overLimit: number;
  limit: number;
}

/** A workspace *.jsonl and what validation found in it. */
export interface DatasetInfo {
  path: string;
  /** Path relative to the workspace folder, for display. */
  label: string;
  format?: 'alpaca' | 'chat' | 'mixed' | 'empty';
  records?: number;
  errors?: number;
  /** The first error as `line: message`, so the panel can say what is wrong without opening Problems. */
  firstError?: string;
  /** Why the file as a whole is not a dataset (UTF-16, …), with its path and the fix: then no line was read. */
  fileError?: string;
  tokens?: TokenStats;
}

export interface DeviceInfo {
  id: DeviceChoice;
  label: string;
  freeBytes?: number;
  totalBytes?: number;
}

// ---- training panel ------------------------------------------------------------------------------------------

export type PathField = 'model' | 'data' | 'eval_data' | 'out';

export type TrainingHostMessage =
  /** First message after `ready`: defaults, what the workspace has, and a run to resume (read-only) if any. */
  | { type: 'init'; protocol: number; values: Partial<RunConfig>; recentModels: string[]; datasets: DatasetInfo[]; devices: DeviceInfo[];
      resume?: { runDir: string; step: number } }
  /** The result of inspecting a model folder: its description or why it cannot be used. */
  | { type: 'model'; dir: string; info: ModelInfo | null; error?: string }
  /** The workspace datasets (refreshed on change). */
  | { type: 'datasets'; datasets: DatasetInfo[] }
  /** One dataset's validation / token statistics finished. */
  | { type: 'dataset'; dataset: DatasetInfo }
  | { type: 'devices'; devices: DeviceInfo[] }
  /** A path chosen with the native dialog. */
  | { type: 'path'; field: PathField; path: string }
  /** A preset was loaded: replace the form's values. */
  | { type: 'preset'; values: Partial<RunConfig>; path: string }
  /** Start refused: problems by field (validation with file checks, done by the host). */
  | { type: 'problems'; problems: FieldProblem[] }
  /** The run was created and its worker spawned. */
  | { type: 'started'; runDir: string }
  /** "Run on a Cluster…" wrote its folder: where, and what to know (settings that did not map). */
  | { type: 'exported'; out: string; notes: string[] }
  | { type: 'error'; message: string };

export type TrainingWebviewMessage =
  | { type: 'ready' }
  /** Inspect this model folder (typed, picked from recent). */
  | { type: 'inspectModel'; dir: string }
  /** Open the native file/folder dialog for a field. */
  | { type: 'browse'; field: PathField }
  /** Validate a dataset and, when a model is known, count its tokens up to `maxSeqLen`. */
  | { type: 'datasetStats'; path: string; model?: string; maxSeqLen: number }
  | { type: 'refreshDevices' }
  /** Validate and start (or resume, when the panel was opened for a run). */
  | { type: 'start'; values: Partial<RunConfig> }
  | { type: 'savePreset'; values: Partial<RunConfig> }
  | { type: 'loadPreset' }
  /** Run on a Cluster…: export the form's settings for Axolotl, LLaMA-Factory or TRL (the host asks which, and where). */
  | { type: 'exportCluster'; values: Partial<RunConfig> }
  /** Compare Methods…: train each chosen method on the form's model and data and compare them (the host asks which). */
  | { type: 'compareMethods'; values: Partial<RunConfig> }
  /** Show a dataset's problems (opens the file; its diagnostics are in Problems). */
  | { type: 'openDataset'; path: string };

// ---- dashboard -----------------------------------------------------------------------------------------------

export type RunStateName = 'pending' | 'running' | 'completed' | 'stopped' | 'failed';

/**
 * AdaLoRA's final rank per module, from the run folder's adapter_config.json (PEFT's rank_pattern: kept triplets of
 * each module's init_r).
 */
export interface ModuleRanks {
  initR: number;
  /** The average final rank the budget aimed at (PEFT target_r), when the config says. */
  targetR?: number;
  /** Module path as in the model (`model.layers.0.self_attn.q_proj`) and its kept rank, 0…initR. */
  modules: { name: string; rank: number }[];
}

/** A past run offered for the comparison overlay. */
export interface RunRef {
  runDir: string;
  name: string;
}

export type DashboardHostMessage =
  /** Everything the view needs, rebuilt from the run folder (so a reload loses nothing). */
  | { type: 'init'; protocol: number; runDir: string; name: string; config: RunConfig | null; state: RunStateName; step: number;
      totalSteps: number; message?: string; metrics: MetricRecord[]; evals: { step: number; eval_loss: number }[]; live: boolean;
      canResume: boolean; history: RunRef[];
      /** AdaLoRA runs whose adapter has a rank pattern: the final rank per module (absent for other methods). */
      ranks?: ModuleRanks }
  /** A live worker event, exactly as the worker sent it. */
  | { type: 'event'; event: WorkerEvent }
  /** The run's state changed without an event (worker gone, re-attached). */
  | { type: 'state'; state: RunStateName; live: boolean; canResume: boolean; message?: string }
  /** Metrics of another run to draw over this one. */
  | { type: 'overlay'; run: RunRef; metrics: MetricRecord[] };

/**
 * What the dashboard webview keeps with setState: its toggles and the run folder. VS Code hands it back to the
 * host's WebviewPanelSerializer after a window reload, which reopens the same run's dashboard.
 */
export interface DashboardViewState {
  log: boolean;
  smoothing: number;
  runDir?: string;
}

/** The run folder in a restored dashboard's saved state, if it holds one. */
export function dashboardRunDir(state: unknown): string | undefined {
  return isRec(state) && isStr(state.runDir) && state.runDir !== '' ? state.runDir : undefined;
}

export type DashboardWebviewMessage =
  | { type: 'ready' }
  | { type: 'stop' }
  | { type: 'resume' }
  | { type: 'openFolder' }
  | { type: 'showLog' }
  | { type: 'overlay'; runDir: string };

// ---- compare -------------------------------------------------------------------------------------------------

export type CompareSide = 'base' | 'adapter';

export interface GenerateSettings {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}

export type CompareHostMessage =
  | { type: 'init'; protocol: number; model?: string; adapter?: string; settings: GenerateSettings }
  | { type: 'path'; field: 'model' | 'adapter'; path: string }
  /** Waiting for the device (a training run holds it); generation starts when it is free. */
  | { type: 'queued'; message: string }
  | { type: 'token'; side: CompareSide; text: string }
  | { type: 'done'; side: CompareSide; tokens: number; seconds: number; tokensPerSecond: number; memoryMb?: number }
  | { type: 'error'; side?: CompareSide; message: string };

export type CompareWebviewMessage =
  | { type: 'ready' }
  | { type: 'browse'; field: 'model' | 'adapter' }
  | { type: 'generate'; model: string; adapter: string; prompt: string; settings: GenerateSettings }
  | { type: 'cancel' };

// ---- compare methods -----------------------------------------------------------------------------------------

/** A method's train-loss curve, from its run's metrics.jsonl: steps and losses, the same length. */
export interface LossCurve {
  steps: number[];
  losses: number[];
}

export type CompareMethodsHostMessage =
  /** The comparison asked for: its methods in order (each shown pending until it runs), steps, model and data. */
  | { type: 'init'; protocol: number; methods: { method: string; label: string }[]; steps: number; model: string; data: string; out: string }
  /** A method's run started in `runDir`. */
  | { type: 'method'; method: string; runDir: string }
  /** A step of the running method (its curve grows live). */
  | { type: 'progress'; method: string; step: number; totalSteps: number; loss: number }
  /** A method's row, and its whole curve read back from its run folder (the truth, not the streamed steps). */
  | { type: 'result'; result: CompareResult; curve: LossCurve }
  | { type: 'summary'; summary: CompareSummary }
  /** The comparison ended: completed, stopped (Cancel) or failed (`message` says why). */
  | { type: 'ended'; outcome: 'completed' | 'stopped' | 'failed'; message: string };

export type CompareMethodsWebviewMessage =
  | { type: 'ready' }
  /** Stop the running method's run (cleanly) and the methods after it. */
  | { type: 'cancel' }
  /** Open a method's run in the dashboard. */
  | { type: 'openRun'; runDir: string };

// ---- guards --------------------------------------------------------------------------------------------------

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length <= max;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const PATH_FIELDS: readonly string[] = ['model', 'data', 'eval_data', 'out'] satisfies PathField[];

/** Form values: an object whose keys are RunConfig keys (values are validated by validateRunConfig later). */
function isValues(v: unknown): v is Partial<RunConfig> {
  return isRec(v) && Object.keys(v).length <= 64;
}

export function isGenerateSettings(v: unknown): v is GenerateSettings {
  return isRec(v) && isCount(v.maxNewTokens) && v.maxNewTokens >= 1 && v.maxNewTokens <= 8192 && isNum(v.temperature) && v.temperature >= 0 &&
    isNum(v.topP) && v.topP > 0 && v.topP <= 1 && isCount(v.seed);
}

/** What the host accepts from the training panel: the webview is sandboxed but its messages are checked anyway. */
export function isTrainingWebviewMessage(v: unknown): v is TrainingWebviewMessage {
  if (!isRec(v) || typeof v.type !== 'string') return false;
  switch (v.type) {
    case 'ready': case 'refreshDevices': case 'loadPreset': return true;
    case 'inspectModel': return isStr(v.dir) && v.dir !== '';
    case 'browse': return typeof v.field === 'string' && PATH_FIELDS.includes(v.field);
    case 'datasetStats': return isStr(v.path) && v.path !== '' && (v.model === undefined || isStr(v.model)) && isCount(v.maxSeqLen);
    case 'start': case 'savePreset': case 'exportCluster': case 'compareMethods': return isValues(v.values);
    case 'openDataset': return isStr(v.path) && v.path !== '';
    default: return false;
  }
}

export function isDashboardWebviewMessage(v: unknown): v is DashboardWebviewMessage {
  if (!isRec(v) || typeof v.type !== 'string') return false;
  switch (v.type) {
    case 'ready': case 'stop': case 'resume': case 'openFolder': case 'showLog': return true;
    case 'overlay': return isStr(v.runDir) && v.runDir !== '';
    default: return false;
  }
}

export function isCompareWebviewMessage(v: unknown): v is CompareWebviewMessage {
  if (!isRec(v) || typeof v.type !== 'string') return false;
  switch (v.type) {
    case 'ready': case 'cancel': return true;
    case 'browse': return v.field === 'model' || v.field === 'adapter';
    case 'generate': return isStr(v.model) && isStr(v.adapter) && isStr(v.prompt, 100_000) && isGenerateSettings(v.settings);
    default: return false;
  }
}

export function isCompareMethodsWebviewMessage(v: unknown): v is CompareMethodsWebviewMessage {
  if (!isRec(v) || typeof v.type !== 'string') return false;
  switch (v.type) {
    case 'ready': case 'cancel': return true;
    case 'openRun': return isStr(v.runDir) && v.runDir !== '';
    default: return false;
  }
}

const TRAINING_HOST: readonly string[] = ['init', 'model', 'datasets', 'dataset', 'devices', 'path', 'preset', 'problems', 'started', 'exported', 'error'] satisfies TrainingHostMessage['type'][];
const DASHBOARD_HOST: readonly string[] = ['init', 'event', 'state', 'overlay'] satisfies DashboardHostMessage['type'][];
const COMPARE_HOST: readonly string[] = ['init', 'path', 'queued', 'token', 'done', 'error'] satisfies CompareHostMessage['type'][];

const COMPARE_METHODS_HOST: readonly string[] = ['init', 'method', 'progress', 'result', 'summary', 'ended'] satisfies CompareMethodsHostMessage['type'][];

/** What the training panel accepts: the tag and the fields it dispatches on. */
export function isTrainingHostMessage(v: unknown): v is TrainingHostMessage {
  if (!isRec(v) || typeof v.type !== 'string' || !TRAINING_HOST.includes(v.type)) return false;
  switch (v.type) {
    case 'init': return v.protocol === WEBVIEW_PROTOCOL_VERSION && isValues(v.values) && Array.isArray(v.datasets) && Array.isArray(v.devices);
    case 'model': return isStr(v.dir) && (v.info === null || (isRec(v.info) && isRec(v.info.config)));
    case 'datasets': return Array.isArray(v.datasets);
    case 'dataset': return isRec(v.dataset) && isStr(v.dataset.path);
    case 'devices': return Array.isArray(v.devices);
    case 'path': return typeof v.field === 'string' && PATH_FIELDS.includes(v.field) && isStr(v.path);
    case 'preset': return isValues(v.values);
    case 'problems': return Array.isArray(v.problems) && v.problems.every((p) => isRec(p) && isStr(p.field) && isStr(p.message, 100_000));
    case 'exported': return isStr(v.out) && Array.isArray(v.notes) && v.notes.every((n) => isStr(n, 100_000));
    default: return true;
  }
}

function isModuleRanks(v: unknown): v is ModuleRanks {
  return isRec(v) && isCount(v.initR) && (v.targetR === undefined || isCount(v.targetR)) && Array.isArray(v.modules) &&
    v.modules.every((m) => isRec(m) && isStr(m.name) && isCount(m.rank));
}

export function isDashboardHostMessage(v: unknown): v is DashboardHostMessage {
  if (!isRec(v) || typeof v.type !== 'string' || !DASHBOARD_HOST.includes(v.type)) return false;
  switch (v.type) {
    case 'init': return v.protocol === WEBVIEW_PROTOCOL_VERSION && Array.isArray(v.metrics) && Array.isArray(v.evals) && Array.isArray(v.history) &&
      (v.ranks === undefined || isModuleRanks(v.ranks));
    case 'event': return isRec(v.event) && typeof v.event.type === 'string';
    case 'overlay': return isRec(v.run) && isStr(v.run.runDir) && Array.isArray(v.metrics);
    default: return true;
  }
}

export function isCompareHostMessage(v: unknown): v is CompareHostMessage {
  if (!isRec(v) || typeof v.type !== 'string' || !COMPARE_HOST.includes(v.type)) return false;
  switch (v.type) {
    case 'init': return v.protocol === WEBVIEW_PROTOCOL_VERSION && isGenerateSettings(v.settings);
    case 'token': return (v.side === 'base' || v.side === 'adapter') && typeof v.text === 'string';
    case 'done': return (v.side === 'base' || v.side === 'adapter') && isNum(v.tokens) && isNum(v.seconds);
    default: return true;
  }
}

const isCurve = (v: unknown): v is LossCurve => isRec(v) && Array.isArray(v.steps) && Array.isArray(v.losses) && v.steps.length === v.losses.length;

/** What the Compare Methods view accepts: the tag and the fields it draws from. */
export function isCompareMethodsHostMessage(v: unknown): v is CompareMethodsHostMessage {
  if (!isRec(v) || typeof v.type !== 'string' || !COMPARE_METHODS_HOST.includes(v.type)) return false;
  switch (v.type) {
    case 'init': return v.protocol === WEBVIEW_PROTOCOL_VERSION && Array.isArray(v.methods) && v.methods.every((m) => isRec(m) && isStr(m.method) && isStr(m.label)) && isCount(v.steps);
    case 'method': return isStr(v.method) && isStr(v.runDir);
    case 'progress': return isStr(v.method) && isCount(v.step) && isCount(v.totalSteps) && typeof v.loss === 'number';
    case 'result': return isRec(v.result) && v.result.type === 'result' && isStr(v.result.method) && isCurve(v.curve);
    case 'summary': return isRec(v.summary) && v.summary.type === 'summary';
    case 'ended': return (v.outcome === 'completed' || v.outcome === 'stopped' || v.outcome === 'failed') && isStr(v.message, 100_000);
    default: return false;
  }
}
