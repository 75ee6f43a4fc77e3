// `lora-studio train` flags → a RunConfig (PEFT/HF names). Flags follow the CLI issue: --rank, --alpha, --lr, …
import { Option, type Command } from 'commander';
import type { DeviceChoice, RunConfig, SchedulerName } from '../protocol';
import { DEFAULT_RUN_OPTIONS, METHOD_NAMES } from '../protocol';
import { optionalNumberFlag } from './number-flag';
import { ALLOW_OUTSIDE_LINKS_HELP } from '../model/folder-links';
import { ALLOW_LONG_CONTEXT_HELP } from '../model/context-length';
import { DTYPE_NAMES_HELP, parseDtypeFlag } from './dtype-flag';
import { DEFAULT_VIRTUAL_TOKENS } from '../model/prompt-learning';
import { LISA_DEFAULT_LAYERS, LISA_DEFAULT_PERIOD } from '../train/lisa-config';

export interface TrainFlags {
  model?: string;
  data?: string;
  out?: string;
  evalData?: string;
  evalSplit?: string;
  rank?: string;
  alpha?: string;
  dropout?: string;
  targetModules?: string;
  rslora?: boolean;
  useDora?: boolean;
  init?: string;
  reloraEvery?: string;
  reloraPrune?: string;
  reloraWarmup?: string;
  method?: string;
  lisaLayers?: string;
  lisaPeriod?: string;
  initR?: string;
  targetR?: string;
  tinit?: string;
  tfinal?: string;
  deltaT?: string;
  beta1?: string;
  beta2?: string;
  orthRegWeight?: string;
  totalStep?: string;
  numVirtualTokens?: string;
  promptInit?: string;
  promptInitText?: string;
  loraplusRatio?: string;
  lr?: string;
  weightDecay?: string;
  warmupSteps?: string;
  scheduler?: string;
  batchSize?: string;
  gradAccum?: string;
  maxGradNorm?: string;
  epochs?: string;
  maxSteps?: string;
  evalEvery?: string;
  saveEvery?: string;
  saveTotalLimit?: string;
  seed?: string;
  device?: string;
  maxSeqLen?: string;
  allowLongContext?: boolean;
  trainOnPrompt?: boolean;
  gradientCheckpointing?: string;
  precision?: string;
  quantization?: string;
  saveDtype?: string;
  resume?: string;
  json?: boolean;
  allowOutsideLinks?: boolean;
}

const d = DEFAULT_RUN_OPTIONS;

export function addTrainOptions(command: Command): Command {
  return command
    .option('--model <dir>', 'local Hugging Face model folder (config.json, *.safetensors, tokenizer.json); required unless --resume')
    .option('--data <file.jsonl>', 'training data: alpaca or chat records, one per line; required unless --resume')
    .option('--out <dir>', 'output (run) folder: adapter, metrics.jsonl, checkpoints/; required unless --resume')
    .option('--eval-data <file.jsonl>', 'separate evaluation data')
    .option('--eval-split <fraction>', 'hold out this fraction of --data for evaluation', String(d.eval_split))
    .option('--rank <r>', 'LoRA rank r', String(d.r))
    .option('--alpha <alpha>', 'LoRA alpha (scaling = alpha / r)', String(d.lora_alpha))
    .option('--dropout <p>', 'LoRA dropout', String(d.lora_dropout))
    .option('--target-modules <names>', 'comma-separated module names (exact or suffix match) or all-linear', (d.target_modules as string[]).join(','))
    .option('--rslora', 'rank-stabilized scaling alpha / sqrt(r)', false)
    .option('--use-dora', 'DoRA: also train a magnitude per output feature, LoRA giving the direction (PEFT use_dora)', false)
    .option('--init <how>', 'PEFT init_lora_weights: true, pissa (exact SVD: minutes per 4096² module in JS), pissa_niter_N (randomized SVD, N power iterations: seconds; pissa_niter_4 recommended) or olora; the adapter saved is a rank-2r LoRA of the original base')
    .option('--relora-every <steps>', 'ReLoRA: merge LoRA into the frozen base and restart it every N optimizer steps (the saved adapter of k cycles has rank k·r)')
    .option('--relora-prune <ratio>', 'ReLoRA: fraction of the AdamW state zeroed by magnitude at each restart (1 = full reset)', '0.99')
    .option('--relora-warmup <steps>', 'ReLoRA: learning-rate warmup steps after each restart (default: a tenth of --relora-every)')
    .addOption(new Option('--method <name>', 'lora; adalora: AdaLoRA (Zhang et al. 2023), an SVD-form adapter whose ranks are reallocated by importance (PEFT AdaLoraConfig); prompt-tuning: trained virtual token embeddings before the input (Lester et al. 2021); prefix-tuning: trained keys/values before every layer\'s (Li & Liang 2021); lisa: the embeddings, the head and a few decoder layers sampled every few steps trained in full (Pan et al. 2024), saved as a model folder').choices([...METHOD_NAMES]).default(d.method))
    .option('--lisa-layers <n>', `LISA: decoder layers trained at a time, γ (default ${LISA_DEFAULT_LAYERS}, the paper's E+H+2L)`)
    .option('--lisa-period <steps>', `LISA: optimizer steps between two samples of layers, K (default ${LISA_DEFAULT_PERIOD})`)
    .option('--num-virtual-tokens <n>', 'prompt/prefix tuning: the number of virtual tokens (PEFT num_virtual_tokens, default 20)')
    .addOption(new Option('--prompt-init <how>', 'prompt tuning: start the virtual tokens from N(0, 1) (random) or from the embeddings of --prompt-init-text (text)').choices(['random', 'text']))
    .option('--prompt-init-text <text>', 'prompt tuning with --prompt-init text: the text whose tokens\' embeddings start the virtual tokens, repeated or cut to --num-virtual-tokens')
    .option('--init-r <r>', 'AdaLoRA: initial rank of every module (PEFT init_r, default 12)')
    .option('--target-r <r>', 'AdaLoRA: average final rank per module (PEFT target_r, default 8)')
    .option('--tinit <n>', 'AdaLoRA: steps before the rank budget starts to shrink (default 0)')
    .option('--tfinal <n>', 'AdaLoRA: final steps with the rank pattern fixed (default 0)')
    .option('--delta-t <n>', 'AdaLoRA: steps between two rank reallocations (PEFT deltaT, default 1)')
    .option('--beta1 <b>', 'AdaLoRA: EMA factor of the sensitivity (default 0.85)')
    .option('--beta2 <b>', 'AdaLoRA: EMA factor of the uncertainty (default 0.85)')
    .option('--orth-reg-weight <w>', 'AdaLoRA: weight of the orthogonal regularization in the loss (default 0.5)')
    .option('--total-step <n>', 'AdaLoRA: step count of the budget schedule (default: the run\'s total steps)')
    .option('--loraplus-ratio <ratio>', 'LoRA+: learning rate of B = ratio × lr (1 = plain LoRA)', String(d.loraplus_lr_ratio))
    .option('--lr <lr>', 'peak learning rate', String(d.learning_rate))
    .option('--weight-decay <wd>', 'AdamW decoupled weight decay', String(d.weight_decay))
    .option('--warmup-steps <n>', 'linear warmup steps', String(d.warmup_steps))
    .addOption(new Option('--scheduler <name>', 'learning-rate schedule after warmup').choices(['linear', 'cosine', 'constant']).default(d.lr_scheduler_type))
    .option('--batch-size <n>', 'micro-batch size', String(d.micro_batch_size))
    .option('--grad-accum <n>', 'gradient accumulation steps', String(d.gradient_accumulation_steps))
    .option('--max-grad-norm <x>', 'global gradient-norm clipping (0 = off)', String(d.max_grad_norm))
    .option('--epochs <n>', 'passes over the data', String(d.num_epochs))
    .option('--max-steps <n>', 'optimizer steps (overrides --epochs)')
    .option('--eval-every <n>', 'evaluate every N steps (0 = at the end only)', String(d.eval_every))
    .option('--save-every <n>', 'checkpoint every N steps (0 = at the end only)', String(d.save_every))
    .option('--save-total-limit <n>', 'keep only the newest N checkpoints (0 = keep all)', String(d.save_total_limit))
    .option('--seed <n>', 'seed for initialization, shuffling and dropout', String(d.seed))
    .option('--device <device>', 'auto, cpu, cuda or cuda:N', d.device)
    .option('--max-seq-len <n>', 'truncate records to this many tokens', String(d.max_seq_len))
    .option('--allow-long-context', `${ALLOW_LONG_CONTEXT_HELP}; on --resume it may be added`, false)
    .option('--train-on-prompt', 'compute the loss on prompt tokens too', false)
    .addOption(new Option('--precision <p>', 'matrix products in fp32, bf16 or fp16 (auto: bf16 on CUDA, fp32 on the CPU; on the CPU bf16/fp16 are emulated)').choices(['auto', 'fp32', 'bf16', 'fp16']).default('auto'))
    .addOption(new Option('--quantization <q>', 'base weights as stored (none) or 4-bit NF4, QLoRA (quantized once into the user cache, reused)').choices(['none', 'nf4']).default('none'))
    .addOption(new Option('--gradient-checkpointing <on|off>', 'recompute each layer in the backward pass: far less memory, ~1/3 more compute').choices(['on', 'off']).default('on'))
    .option('--save-dtype <dtype>', `dtype of the saved LoRA tensors: ${DTYPE_NAMES_HELP}`, d.save_dtype)
    .option('--resume <dir>', 'continue the run in DIR from its latest checkpoint with its own settings; --max-steps / --epochs extend it (the schedule stretches to the new total)')
    .option('--json', 'print one JSON event per line on stdout', false)
    .option('--allow-outside-links', ALLOW_OUTSIDE_LINKS_HELP, false);
}

// Ranges are the RunConfig validation's to check (all problems at once, by field); here a flag only has to be a number.
const number = optionalNumberFlag;

/** ReLoRA's fields when --relora-every is given (and not 0). */
function reloraFromFlags(flags: TrainFlags): Partial<RunConfig> {
  const every = number('relora-every', flags.reloraEvery, 0);
  if (every === 0) return {};
  return {
    relora_steps: every,
    relora_prune: number('relora-prune', flags.reloraPrune, 0.99),
    relora_warmup_steps: number('relora-warmup', flags.reloraWarmup, Math.floor(every / 10)),
  };
}

/** Maps parsed flags to a RunConfig (not yet validated: run resolveRunConfig/assertValidRunConfig next). */
export function runConfigFromFlags(flags: TrainFlags): RunConfig {
  const targets = (flags.targetModules ?? '').trim();
  return {
    model: flags.model ?? '',
    data: flags.data ?? '',
    out: flags.out ?? '',
    eval_data: flags.evalData,
    eval_split: number('eval-split', flags.evalSplit, d.eval_split),
    method: (flags.method ?? d.method) as RunConfig['method'],
    r: number('rank', flags.rank, d.r),
    lora_alpha: number('alpha', flags.alpha, d.lora_alpha),
    lora_dropout: number('dropout', flags.dropout, d.lora_dropout),
    target_modules: targets === 'all-linear' ? 'all-linear' : targets === '' ? d.target_modules : targets.split(',').map((t) => t.trim()).filter((t) => t !== ''),
    use_rslora: flags.rslora ?? false,
    use_dora: flags.useDora ?? false,
    ...(flags.init !== undefined && flags.init !== 'true' ? { init_lora_weights: flags.init as RunConfig['init_lora_weights'] } : {}),
    ...reloraFromFlags(flags),
    loraplus_lr_ratio: number('loraplus-ratio', flags.loraplusRatio, d.loraplus_lr_ratio),
    learning_rate: number('lr', flags.lr, d.learning_rate),
    weight_decay: number('weight-decay', flags.weightDecay, d.weight_decay),
    warmup_steps: number('warmup-steps', flags.warmupSteps, d.warmup_steps),
    lr_scheduler_type: (flags.scheduler ?? d.lr_scheduler_type) as SchedulerName,
    micro_batch_size: number('batch-size', flags.batchSize, d.micro_batch_size),
    gradient_accumulation_steps: number('grad-accum', flags.gradAccum, d.gradient_accumulation_steps),
    max_grad_norm: number('max-grad-norm', flags.maxGradNorm, d.max_grad_norm),
    num_epochs: number('epochs', flags.epochs, d.num_epochs),
    max_steps: flags.maxSteps === undefined ? undefined : number('max-steps', flags.maxSteps, 0),
    eval_every: number('eval-every', flags.evalEvery, d.eval_every),
    save_every: number('save-every', flags.saveEvery, d.save_every),
    save_total_limit: number('save-total-limit', flags.saveTotalLimit, d.save_total_limit),
    seed: number('seed', flags.seed, d.seed),
    device: (flags.device ?? d.device) as DeviceChoice,
    max_seq_len: number('max-seq-len', flags.maxSeqLen, d.max_seq_len),
    allow_long_context: flags.allowLongContext ?? false,
    train_on_prompt: flags.trainOnPrompt ?? false,
    gradient_checkpointing: (flags.gradientCheckpointing ?? 'on') === 'on',
    precision: (flags.precision ?? 'auto') as RunConfig['precision'],
    quantization: (flags.quantization ?? 'none') as RunConfig['quantization'],
    save_dtype: flags.saveDtype ? parseDtypeFlag('save-dtype', flags.saveDtype) : d.save_dtype,
    ...adaloraFromFlags(flags),
    ...promptLearningFromFlags(flags),
    ...lisaFromFlags(flags),
  };
}

/** LISA's fields from their flags, resolved to the defaults for --method lisa (saved configs say what ran). */
function lisaFromFlags(flags: TrainFlags): Partial<RunConfig> {
  const out: Partial<RunConfig> = {};
  const lisa = flags.method === 'lisa';
  if (flags.lisaLayers !== undefined || lisa) out.lisa_layers = number('lisa-layers', flags.lisaLayers, LISA_DEFAULT_LAYERS);
  if (flags.lisaPeriod !== undefined || lisa) out.lisa_period = number('lisa-period', flags.lisaPeriod, LISA_DEFAULT_PERIOD);
  if (lisa && flags.dropout === undefined) out.lora_dropout = 0; // no LoRA branch: saved configs read 0, not an ignored 0.05
  return out;
}

/** Prompt/prefix tuning's fields from their flags (validation says which method takes which). */
function promptLearningFromFlags(flags: TrainFlags): Partial<RunConfig> {
  const out: Partial<RunConfig> = {};
  if (flags.numVirtualTokens !== undefined) out.num_virtual_tokens = number('num-virtual-tokens', flags.numVirtualTokens, 0);
  else if (flags.method === 'prompt-tuning' || flags.method === 'prefix-tuning') out.num_virtual_tokens = DEFAULT_VIRTUAL_TOKENS;
  if (flags.promptInit !== undefined) out.prompt_tuning_init = flags.promptInit === 'text' ? 'TEXT' : 'RANDOM';
  else if (flags.promptInitText !== undefined) out.prompt_tuning_init = 'TEXT'; // a text given means a text init
  if (flags.promptInitText !== undefined) out.prompt_tuning_init_text = flags.promptInitText;
  if (flags.method === 'prompt-tuning' || flags.method === 'prefix-tuning') {
    // LoRA's dropout default does not apply: there is no LoRA branch (saved configs read 0, not an ignored 0.05).
    if (flags.dropout === undefined) out.lora_dropout = 0;
  }
  return out;
}

/** AdaLoRA's fields from their flags: only those given (absent ones take PEFT's defaults when the run starts). */
function adaloraFromFlags(flags: TrainFlags): Partial<RunConfig> {
  const out: Partial<RunConfig> = {};
  const fields = [['initR', 'init-r', 'init_r'], ['targetR', 'target-r', 'target_r'], ['tinit', 'tinit', 'tinit'], ['tfinal', 'tfinal', 'tfinal'], ['deltaT', 'delta-t', 'deltaT'],
    ['beta1', 'beta1', 'beta1'], ['beta2', 'beta2', 'beta2'], ['orthRegWeight', 'orth-reg-weight', 'orth_reg_weight'], ['totalStep', 'total-step', 'total_step']] as const;
  for (const [key, flag, field] of fields) if (flags[key] !== undefined) out[field] = number(flag, flags[key], 0);
  return out;
}
