// RunConfig validation (pure): every field's type and range, plus file checks through an injected `exists`, reporting
// ALL problems at once with the field they belong to (the panel shows each next to its field; the CLI lists them).
import { DEFAULT_RUN_OPTIONS, isDeviceChoice, METHOD_NAMES, type RunConfig } from '../protocol';
import { MAX_SEED } from '../util/random';
import { UserError } from '../util/errors';
import { ADALORA_DEFAULTS } from '../model/adalora-settings';
import { parseLoraInit } from '../model/svd-init';
import { LONG_CONTEXT_CEILING } from '../model/context-length';
import { validateLisa } from './lisa-config';

export interface ConfigProblem {
  field: keyof RunConfig | 'config';
  message: string;
}

export interface ConfigChecks {
  /**
   * Whether a path exists and is a file ('file'), a folder ('dir') or anything at all, a dangling or looping link
   * included ('any'); omitted → no file-system checks.
   */
  exists?: (path: string, kind: 'file' | 'dir' | 'any') => boolean;
}

const SCHEDULERS = ['constant', 'linear', 'cosine'];
const METHODS: readonly string[] = METHOD_NAMES;
const SAVE_DTYPES = ['float32', 'float16', 'bfloat16'];
const PRECISIONS: readonly string[] = ['auto', 'fp32', 'bf16', 'fp16'];

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}
function isNum(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Fills defaults for missing options, then validates. Returns the resolved config and every problem found. */
export function resolveRunConfig(input: Partial<RunConfig>, checks: ConfigChecks = {}): { config: RunConfig; problems: ConfigProblem[] } {
  const config = { ...DEFAULT_RUN_OPTIONS, ...dropUndefined(input) } as RunConfig;
  return { config, problems: validateRunConfig(config, checks) };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function validateRunConfig(config: RunConfig, checks: ConfigChecks = {}): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const problem = (field: ConfigProblem['field'], message: string) => problems.push({ field, message });
  const intAtLeast = (field: keyof RunConfig, min: number, hint: string) => {
    const why = notWholeAtLeast(config[field], min, hint);
    if (why) problem(field, why);
  };

  if (typeof config.model !== 'string' || config.model === '') problem('model', 'is required — choose a local Hugging Face model folder (with config.json)');
  else if (checks.exists && !checks.exists(config.model, 'dir')) problem('model', `folder not found: ${config.model} — choose a local Hugging Face model folder`);
  else if (checks.exists && !checks.exists(`${config.model}/config.json`, 'file')) problem('model', `${config.model} has no config.json — choose the folder that holds config.json and the .safetensors files`);

  if (typeof config.data !== 'string' || config.data === '') problem('data', 'is required — choose a .jsonl dataset file');
  else if (checks.exists && !checks.exists(config.data, 'file')) problem('data', notAFile(config.data, checks.exists));
  if (config.eval_data !== undefined && config.eval_data !== '' && checks.exists && !checks.exists(config.eval_data, 'file')) {
    problem('eval_data', notAFile(config.eval_data, checks.exists));
  }
  if (typeof config.out !== 'string' || config.out === '') problem('out', 'is required — choose an output folder');

  if (!METHODS.includes(config.method)) problem('method', `unknown method ${JSON.stringify(config.method)}; supported: ${METHODS.join(', ')}`);
  if (config.method === 'adalora') validateAdaLora(config, problem);
  validatePromptLearning(config, problem);
  validateLisa(config, problem);
  intAtLeast('r', 1, 'typical values are 4–64');
  // Bounded as adapters are when read (peft-io.ts): alpha / r must stay a float32 scale, and 1e308 is only ever a typo.
  if (!isNum(config.lora_alpha) || config.lora_alpha <= 0 || config.lora_alpha > 1e6) problem('lora_alpha', `must be a positive number up to 1,000,000, got ${JSON.stringify(config.lora_alpha)} — commonly 2 × r`);
  if (!isNum(config.lora_dropout) || config.lora_dropout < 0 || config.lora_dropout >= 1) problem('lora_dropout', `must be in [0, 1), got ${JSON.stringify(config.lora_dropout)}`);
  const targets = config.target_modules;
  if (targets !== 'all-linear' && (!Array.isArray(targets) || targets.length === 0 || targets.some((t) => typeof t !== 'string' || t === ''))) {
    problem('target_modules', 'must be a non-empty list of module names (e.g. ["q_proj","v_proj"]) or "all-linear"');
  }
  if (typeof config.use_rslora !== 'boolean') problem('use_rslora', 'must be true or false');
  if (config.use_dora !== undefined && typeof config.use_dora !== 'boolean') problem('use_dora', 'must be true or false');
  const init = parseLoraInit(config.init_lora_weights);
  if (!init) problem('init_lora_weights', `must be true, "pissa", "pissa_niter_N" (N ≥ 0) or "olora", got ${JSON.stringify(config.init_lora_weights)}`);
  else if (init.kind !== 'default' && config.use_dora) problem('init_lora_weights', `${init.kind === 'olora' ? 'OLoRA' : 'PiSSA'} with use_dora is not supported — choose one of them`);
  else if (init.kind !== 'default' && config.method !== 'lora') problem('init_lora_weights', `${config.method} has its own init — leave init_lora_weights unset`);
  const relora = config.relora_steps ?? 0;
  if (!isInt(relora) || relora < 0) problem('relora_steps', `must be a whole number ≥ 0 (0 = no ReLoRA), got ${JSON.stringify(config.relora_steps)}`);
  else if (relora > 0 && (config.use_dora || config.method !== 'lora' || (init && init.kind !== 'default'))) {
    problem('relora_steps', 'ReLoRA restarts plain LoRA — it cannot be combined with DoRA, AdaLoRA, PiSSA or OLoRA');
  }
  const prune = config.relora_prune ?? 0.99;
  if (!isNum(prune) || prune < 0 || prune > 1) problem('relora_prune', `must be in [0, 1] (the fraction of optimizer state zeroed at a restart; the paper uses 0.99), got ${JSON.stringify(config.relora_prune)}`);
  const warmup = config.relora_warmup_steps ?? 0;
  if (!isInt(warmup) || warmup < 0 || (isInt(relora) && relora > 0 && warmup >= relora)) {
    problem('relora_warmup_steps', `must be a whole number in [0, relora_steps), got ${JSON.stringify(config.relora_warmup_steps)}`);
  }
  if (!isNum(config.loraplus_lr_ratio) || config.loraplus_lr_ratio < 1) problem('loraplus_lr_ratio', `must be ≥ 1 (1 = plain LoRA; LoRA+ suggests 16), got ${JSON.stringify(config.loraplus_lr_ratio)}`);
  if (!isNum(config.learning_rate) || config.learning_rate <= 0 || config.learning_rate > 1) problem('learning_rate', `must be in (0, 1], got ${JSON.stringify(config.learning_rate)} — LoRA commonly uses 1e-4 to 3e-4`);
  if (!isNum(config.weight_decay) || config.weight_decay < 0) problem('weight_decay', `must be ≥ 0, got ${JSON.stringify(config.weight_decay)}`);
  else if (isNum(config.learning_rate) && config.learning_rate > 0 && isNum(config.loraplus_lr_ratio)) {
    // Decoupled decay multiplies the weights by 1 − lr·wd each step (B's lr is lr × loraplus_lr_ratio): at 1 or more
    // that zeroes or flips them, and training goes on silently with garbage (--weight-decay 1e6 exited 0).
    const ratio = Math.max(1, config.loraplus_lr_ratio);
    const product = config.learning_rate * ratio * config.weight_decay;
    if (product >= 1) {
      problem('weight_decay', `learning_rate × ${ratio > 1 ? 'loraplus_lr_ratio × ' : ''}weight_decay is ${Number(product.toPrecision(4))}, so each step would multiply the weights by 1 − that (zeroing or flipping them), got ${JSON.stringify(config.weight_decay)} — AdamW's weight decay is commonly 0 to 0.1`);
    }
  }
  intAtLeast('warmup_steps', 0, 'use 0 for no warmup');
  if (!SCHEDULERS.includes(config.lr_scheduler_type)) problem('lr_scheduler_type', `must be one of ${SCHEDULERS.join(', ')}, got ${JSON.stringify(config.lr_scheduler_type)}`);
  intAtLeast('micro_batch_size', 1, 'lower it if memory runs out');
  intAtLeast('gradient_accumulation_steps', 1, 'effective batch = micro_batch_size × gradient_accumulation_steps');
  if (!isNum(config.max_grad_norm) || config.max_grad_norm < 0) problem('max_grad_norm', `must be ≥ 0 (0 disables clipping), got ${JSON.stringify(config.max_grad_norm)}`);
  if (config.max_steps === undefined) intAtLeast('num_epochs', 1, 'or set max_steps');
  else intAtLeast('max_steps', 1, 'or leave it unset and use num_epochs');
  intAtLeast('eval_every', 0, '0 evaluates only at the end');
  intAtLeast('save_every', 0, '0 saves only at the end');
  intAtLeast('save_total_limit', 0, '0 keeps every checkpoint');
  intAtLeast('seed', 0, 'any whole number');
  // Upper bounds: a typo (1e9 epochs, accumulation or rank) must not start a job that would never end or that grows
  // memory until the machine kills it. The model-dependent bounds (rank ≤ a module's size, sequence length ≤ its
  // positions) are checked once the model is read (run.ts).
  const atMost = (field: keyof RunConfig, max: number, hint: string) => {
    const value = config[field];
    if (isNum(value) && value > max) problem(field, `must be at most ${max.toLocaleString('en-US')}, got ${JSON.stringify(value)} — ${hint}`);
  };
  atMost('num_epochs', 10_000, 'LoRA fine-tuning takes 1–10 epochs; set max_steps for a step budget');
  atMost('max_steps', 100_000_000, 'a typo? runs of millions of steps are rare');
  atMost('gradient_accumulation_steps', 65_536, 'effective batch = micro_batch_size × gradient_accumulation_steps; typical values are 1–64');
  atMost('micro_batch_size', 65_536, 'typical values are 1–64');
  atMost('r', 65_536, 'typical ranks are 4–64');
  atMost('max_seq_len', LONG_CONTEXT_CEILING, 'a typical context is 512–8,192 tokens');
  atMost('seed', MAX_SEED, 'seeds are 32-bit (as numpy\'s): 4,294,967,296 would repeat seed 0');
  if (!isDeviceChoice(config.device)) {
    problem('device', `must be auto, cpu, cuda or cuda:N, got ${JSON.stringify(config.device)}`);
  }
  intAtLeast('max_seq_len', 8, 'records longer than this are truncated');
  if (config.allow_long_context !== undefined && typeof config.allow_long_context !== 'boolean') problem('allow_long_context', 'must be true or false');
  if (typeof config.train_on_prompt !== 'boolean') problem('train_on_prompt', 'must be true or false');
  if (config.gradient_checkpointing !== undefined && typeof config.gradient_checkpointing !== 'boolean') problem('gradient_checkpointing', 'must be true or false');
  if (config.precision !== undefined && !PRECISIONS.includes(config.precision)) problem('precision', `must be one of ${PRECISIONS.join(', ')}, got ${JSON.stringify(config.precision)}`);
  if (config.quantization !== undefined && config.quantization !== 'none' && config.quantization !== 'nf4') problem('quantization', `must be none or nf4, got ${JSON.stringify(config.quantization)}`);
  // Outside recomputed layers a dequantized weight would live from the forward to the backward pass: no saving.
  if (config.quantization === 'nf4' && config.gradient_checkpointing === false) problem('quantization', 'nf4 needs gradient_checkpointing on (each layer\'s weights are dequantized where used and again in its backward)');
  if (!isNum(config.eval_split) || config.eval_split < 0 || config.eval_split >= 1) problem('eval_split', `must be in [0, 1), got ${JSON.stringify(config.eval_split)}`);
  if (config.eval_split > 0 && config.eval_data) problem('eval_split', 'set either eval_data or eval_split, not both');
  if (!SAVE_DTYPES.includes(config.save_dtype)) problem('save_dtype', `must be one of ${SAVE_DTYPES.join(', ')}`);
  return problems;
}

/** Throws one UserError listing every problem (the CLI's and worker's form of validation). */
export function assertValidRunConfig(config: RunConfig, checks: ConfigChecks = {}): void {
  const problems = validateRunConfig(config, checks);
  if (problems.length > 0) {
    const list = problems.map((p) => `  ${p.field}: ${p.message}`).join('\n');
    throw new UserError(`invalid training options (${problems.length}):\n${list}`, { code: 'invalid-config' });
  }
}

/**
 * Why a dataset path is not a file: a folder (a common slip: the folder instead of the file in it), something else
 * (`--data <(cat a.jsonl)` is a pipe, said "file not found" for a path that is there), or nothing.
 */
function notAFile(path: string, exists: NonNullable<ConfigChecks['exists']>): string {
  if (exists(path, 'dir')) return `${path} is a folder, not a file — choose the .jsonl file in it`;
  if (exists(path, 'any')) return `${path} is not a regular file (a pipe, a device, or a link that leads nowhere or in a loop) — save the data as a .jsonl file and pass that`;
  return `file not found: ${path}`;
}

/** The problem with a value that should be a whole number ≥ min, or undefined when it is one. */
function notWholeAtLeast(value: unknown, min: number, hint: string): string | undefined {
  return isInt(value) && value >= min ? undefined : `must be a whole number ≥ ${min}, got ${JSON.stringify(value)} — ${hint}`;
}

/**
 * Prompt/prefix tuning's fields (PEFT's PromptTuningConfig / PrefixTuningConfig), and the LoRA-only options they
 * cannot take; the fields are refused on the LoRA methods, where they would silently do nothing.
 */
function validatePromptLearning(config: RunConfig, problem: (field: ConfigProblem['field'], message: string) => void): void {
  const virtual = config.method === 'prompt-tuning' || config.method === 'prefix-tuning';
  if (!virtual) {
    for (const field of ['num_virtual_tokens', 'prompt_tuning_init', 'prompt_tuning_init_text'] as const) {
      if (config[field] !== undefined) problem(field, `is for prompt-tuning and prefix-tuning, not ${config.method} — remove it or choose one of those methods`);
    }
    return;
  }
  const tokens = config.num_virtual_tokens;
  if (tokens !== undefined && (notWholeAtLeast(tokens, 1, 'PEFT examples use 8–30') || tokens > 4096)) problem('num_virtual_tokens', `must be a whole number in [1, 4096], got ${JSON.stringify(tokens)} — PEFT examples use 8–30`);
  const init = config.prompt_tuning_init;
  if (init !== undefined && config.method !== 'prompt-tuning') problem('prompt_tuning_init', 'is for prompt-tuning (prefix tuning starts from N(0, 1)) — remove it');
  else if (init !== undefined && init !== 'RANDOM' && init !== 'TEXT') problem('prompt_tuning_init', `must be RANDOM or TEXT, got ${JSON.stringify(init)}`);
  const text = config.prompt_tuning_init_text;
  if (init === 'TEXT' && (typeof text !== 'string' || text.trim() === '')) problem('prompt_tuning_init_text', 'is required with prompt_tuning_init TEXT — the text whose token embeddings start the virtual tokens (e.g. "Classify the sentiment of this review:")');
  else if (text !== undefined && init !== 'TEXT') problem('prompt_tuning_init_text', 'is only read with prompt_tuning_init TEXT — set that too, or remove the text');
  const what = config.method === 'prompt-tuning' ? 'Prompt tuning' : 'Prefix tuning';
  if (config.use_dora) problem('use_dora', `${what} trains virtual tokens, not LoRA — DoRA does not apply; turn it off`);
  if (config.use_rslora) problem('use_rslora', `${what} trains virtual tokens, not LoRA — rsLoRA does not apply; turn it off`);
  if (config.loraplus_lr_ratio !== 1 && isNum(config.loraplus_lr_ratio)) problem('loraplus_lr_ratio', `${what} has no LoRA B matrix — set it to 1`);
}

/** AdaLoRA's fields, with PEFT's AdaLoraConfig.__post_init__ and RankAllocator checks (absent fields take PEFT's defaults). */
function validateAdaLora(config: RunConfig, problem: (field: ConfigProblem['field'], message: string) => void): void {
  const d = ADALORA_DEFAULTS;
  const int = (field: 'init_r' | 'target_r' | 'tinit' | 'tfinal' | 'deltaT' | 'total_step', min: number, hint: string) => {
    const why = config[field] === undefined ? undefined : notWholeAtLeast(config[field], min, hint);
    if (why) problem(field, why);
  };
  int('init_r', 1, 'the starting rank of every module (PEFT default 12)');
  int('target_r', 0, 'the average final rank per module (PEFT default 8)');
  int('tinit', 0, 'steps before the budget starts to shrink');
  int('tfinal', 0, 'steps at the end with the final rank pattern fixed');
  int('deltaT', 1, 'steps between two reallocations');
  int('total_step', 1, 'the step count of the budget schedule (absent: the run\'s total steps)');
  const initR = config.init_r ?? d.init_r, targetR = config.target_r ?? d.target_r;
  if (isInt(initR) && isInt(targetR) && targetR > initR) problem('target_r', `must be ≤ init_r (${initR}): the budget only shrinks, got ${targetR}`);
  for (const field of ['beta1', 'beta2'] as const) {
    const value = config[field];
    if (value !== undefined && (!isNum(value) || value <= 0 || value >= 1)) problem(field, `must be in (0, 1) (an EMA factor; PEFT default 0.85), got ${JSON.stringify(value)}`);
  }
  if (config.orth_reg_weight !== undefined && (!isNum(config.orth_reg_weight) || config.orth_reg_weight < 0)) problem('orth_reg_weight', `must be ≥ 0 (PEFT default 0.5), got ${JSON.stringify(config.orth_reg_weight)}`);
  const tinit = config.tinit ?? d.tinit, tfinal = config.tfinal ?? d.tfinal;
  const total = config.total_step ?? config.max_steps;
  if (total !== undefined && isInt(total) && isInt(tinit) && isInt(tfinal) && tinit >= total - tfinal) {
    problem(config.total_step !== undefined ? 'total_step' : 'tinit', `tinit (${tinit}) must be < total_step − tfinal (${total} − ${tfinal}): the schedule leaves no budgeting phase — decrease tinit/tfinal or train longer`);
  }
  if (config.use_dora) problem('use_dora', 'AdaLoRA does not support DoRA (as PEFT) — choose one of them');
  if (config.use_rslora) problem('use_rslora', 'AdaLoRA scales by lora_alpha / init_r; rsLoRA does not apply — turn it off');
}
