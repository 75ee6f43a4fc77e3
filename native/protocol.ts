// The host ⇄ worker protocol, defined once: `RunConfig` (what a run is), `MetricRecord` (a metrics.jsonl line),
// `WorkerEvent` (each NDJSON line the worker and `lora-studio train --json` print) and `WorkerCommand` (what the
// host sends to a worker), plus `GenerateStreamLine` (`lora-studio generate --stream-json` → the Compare view). Both sides `import type` from here; nothing in this file does I/O.

/** Bumped whenever an event or command changes shape; `start` carries it so a host can refuse a newer worker. */
export const WORKER_PROTOCOL_VERSION = 1;

export type DeviceChoice = 'auto' | 'cpu' | 'cuda' | `cuda:${number}`;
/** Whether a setting or flag names a device: auto, cpu, cuda or cuda:N (N in decimal digits). */
export const isDeviceChoice = (value: unknown): value is DeviceChoice => typeof value === 'string' && /^(auto|cpu|cuda(:\d+)?)$/.test(value);
export type SchedulerName = 'constant' | 'linear' | 'cosine';
/**
 * The method field is a union so variants slot in behind one interface (DoRA is LoRA with `use_dora`, as in PEFT).
 * 'adalora': AdaLoRA (PEFT's AdaLoraConfig; the fields init_r … total_step below). 'prompt-tuning' / 'prefix-tuning':
 * PEFT's PROMPT_TUNING / PREFIX_TUNING (num_virtual_tokens …; the LoRA fields are unused, the base model is frozen).
 * 'lisa': LISA (lisa_layers, lisa_period; the LoRA fields are unused and the run's output is a model folder).
 */
/** The methods, once, as a value: train's --method choices, validation and compare-methods' known methods read it. */
export const METHOD_NAMES = ['lora', 'adalora', 'prompt-tuning', 'prefix-tuning', 'lisa'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/**
 * Every option of a run, resolved: this object is written verbatim as `training_config.json`.
 * Names are PEFT's and HF's (`r`, `lora_alpha`, `target_modules`, `learning_rate`, …).
 */
export interface RunConfig {
  /** Local Hugging Face model folder. */
  model: string;
  /** Training JSONL file (alpaca or chat records). */
  data: string;
  /** Optional separate evaluation JSONL file. */
  eval_data?: string;
  /** Fraction of the training records held out for evaluation when no `eval_data` is given (0 = none). */
  eval_split: number;
  /** Output (run) folder: adapter files, metrics.jsonl, checkpoints/. */
  out: string;
  method: MethodName;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  /** Module names (exact or suffix match) or the literal 'all-linear'. */
  target_modules: string[] | 'all-linear';
  use_rslora: boolean;
  /**
   * DoRA (Liu et al. 2024): a trainable magnitude per output feature of each adapted module, with LoRA giving the
   * direction (PEFT's `use_dora`). Absent means false (runs written before the option existed).
   */
  use_dora?: boolean;
  /**
   * PEFT's init_lora_weights: true (A Kaiming-uniform, B zero), 'pissa' (Meng et al. 2024: A and B from the top-r
   * singular vectors of W, training against the residual W − s·B₀A₀), 'pissa_niter_N' (the same from a randomized SVD
   * with N power iterations: seconds instead of minutes per module), or 'olora' (A, B from W's QR). The base files are
   * never rewritten, and the saved adapter is PEFT's conversion to a rank-2r LoRA of the original base. Absent: true.
   */
  init_lora_weights?: true | 'pissa' | `pissa_niter_${number}` | 'olora';
  /**
   * ReLoRA (Lialin et al. 2023): every relora_steps optimizer steps merge s·B·A into the frozen base (a low-rank term
   * in the graph), restart A and B, prune the AdamW moments by magnitude (relora_prune: the fraction zeroed, 0.99 in
   * the paper, 1 = reset) and warm the learning rate up again over relora_warmup_steps. The saved adapter of k cycles
   * is one LoRA of rank k·r. Absent or 0: off.
   */
  relora_steps?: number;
  relora_prune?: number;
  relora_warmup_steps?: number;
  /** LoRA+: learning rate of B = ratio × learning_rate. 1 means plain LoRA. */
  loraplus_lr_ratio: number;
  /**
   * AdaLoRA (method 'adalora', Zhang et al. 2023), PEFT's AdaLoraConfig names; absent: PEFT's defaults. `r` is unused
   * (as in PEFT): each module starts at init_r and the total rank shrinks to target_r per module on average, by a
   * cubic schedule after tinit steps, reallocated every deltaT steps, fixed for the last tfinal steps.
   */
  init_r?: number;
  target_r?: number;
  tinit?: number;
  tfinal?: number;
  deltaT?: number;
  /** EMA factors of the importance: sensitivity (beta1) and uncertainty (beta2). */
  beta1?: number;
  beta2?: number;
  /** Weight of the orthogonal regularization ‖AAᵀ − I‖_F + ‖BᵀB − I‖_F added to the loss. */
  orth_reg_weight?: number;
  /** The step count of the budget schedule; absent: the run's total optimizer steps. */
  total_step?: number;
  /**
   * Prompt tuning (Lester et al. 2021) and prefix tuning (Li & Liang 2021), PEFT's names: the number of trainable
   * virtual tokens (prepended embeddings, or every layer's prefix keys/values); absent: 20.
   */
  num_virtual_tokens?: number;
  /** Prompt tuning's init: RANDOM (N(0, 1), PEFT's default) or TEXT (the embeddings of prompt_tuning_init_text's tokens, repeated to N). */
  prompt_tuning_init?: 'RANDOM' | 'TEXT';
  prompt_tuning_init_text?: string;
  /**
   * LISA (method 'lisa', Pan et al. 2024): the embeddings and head train always, lisa_layers (γ) decoder layers drawn
   * uniformly every lisa_period (K) steps train in full; the output is a whole model folder. Absent: γ = 2, K = 20.
   */
  lisa_layers?: number;
  lisa_period?: number;
  learning_rate: number;
  weight_decay: number;
  warmup_steps: number;
  lr_scheduler_type: SchedulerName;
  micro_batch_size: number;
  gradient_accumulation_steps: number;
  max_grad_norm: number;
  /** Exactly one of num_epochs / max_steps bounds the run; max_steps wins when both are set. */
  num_epochs: number;
  max_steps?: number;
  /** 0 disables periodic evaluation / checkpoints. */
  eval_every: number;
  save_every: number;
  /** Keep only the newest N periodic checkpoints (older ones are deleted after a newer one is complete); 0 keeps all. */
  save_total_limit: number;
  seed: number;
  device: DeviceChoice;
  max_seq_len: number;
  /**
   * Let max_seq_len (plus any virtual tokens) go past the model's max_position_embeddings, with a warning: for models
   * that handle longer contexts (rope_scaling) or a knowing extrapolation. Without it such a run is refused. Absent
   * means false (runs written before the option existed).
   */
  allow_long_context?: boolean;
  train_on_prompt: boolean;
  /**
   * Keep only each decoder layer's input from the forward pass and recompute the layer in the backward pass (less
   * memory, about a third more compute). Absent means on (runs written before the option existed).
   */
  gradient_checkpointing?: boolean;
  /**
   * Precision of the large matrix products: auto (bf16 on CUDA, fp32 on the CPU), fp32, bf16 or fp16 (with dynamic
   * loss scaling). Norms, softmax, the loss, LoRA weights and AdamW state are float32 in every mode; on the CPU,
   * bf16/fp16 are emulated (float32 products rounded at the same points). Absent means auto.
   */
  precision?: 'auto' | 'fp32' | 'bf16' | 'fp16';
  /**
   * Base weights as stored ('none') or as 4-bit NF4 (QLoRA: the decoder's linear weights quantized once into a user
   * cache, dequantized in the graph where used). Needs gradient_checkpointing. Absent means none.
   */
  quantization?: 'none' | 'nf4';
  /** Save LoRA tensors in this dtype (they train in float32). */
  save_dtype: 'float32' | 'float16' | 'bfloat16';
}

/** One line of metrics.jsonl (and the payload of a `step` event). */
export interface MetricRecord {
  step: number;
  epoch: number;
  loss: number;
  eval_loss?: number;
  lr: number;
  grad_norm: number;
  /** Tokens processed so far (all micro-batches, padding excluded). */
  tokens: number;
  tokens_per_s: number;
  elapsed_s: number;
  /** Resident memory of the worker in MiB (device memory where known). */
  memory_mb: number;
  /** AdaLoRA: the rank budget (total rank over all adapted modules) of the schedule at this step. */
  rank_budget?: number;
}

export type WorkerPhase = 'loading-model' | 'quantizing' | 'tokenizing' | 'compiling' | 'training' | 'evaluating' | 'saving';

export type WorkerEvent =
  /** The run began (or resumed): its resolved config and how many optimizer steps it will take. */
  | { type: 'start'; protocol: number; run_dir: string; total_steps: number; resumed_from_step: number; config: RunConfig; pid: number }
  /** Human-readable progress before steps arrive: "loading model…", "tokenizing 12,345 records…". */
  | { type: 'status'; phase: WorkerPhase; message: string }
  /** One optimizer step finished. */
  | ({ type: 'step'; total_steps: number } & MetricRecord)
  /** An evaluation pass finished. */
  | { type: 'eval'; step: number; eval_loss: number }
  /** A checkpoint folder was committed (renamed into place). */
  | { type: 'checkpoint'; step: number; path: string }
  /**
   * The run ended normally (completed) or on request (stopped); the adapter folder is complete. `model`: the whole
   * trained model folder a method writes instead of an adapter (LISA's <run>/model); `adapter` is then the run folder.
   */
  | { type: 'done'; adapter: string; reason: 'completed' | 'stopped'; step: number; model?: string }
  /** The run failed; `message` says what, where and how to fix it. */
  | { type: 'error'; message: string; code?: string };

/**
 * Each NDJSON line `lora-studio generate --stream-json` prints (the Compare view reads them): a `token` per decoded
 * piece, then one `done` with the wall time, the decoding rate and the process's peak memory.
 */
export type GenerateStreamLine =
  | { type: 'token'; text: string }
  | { type: 'done'; tokens: number; seconds: number; tokens_per_s: number; memory_mb?: number };

export type WorkerCommand =
  /** Save a checkpoint and exit cleanly. */
  | { type: 'stop' }
  /** Liveness check; the worker answers with a `status` event. */
  | { type: 'ping' };

const EVENT_TYPES = new Set(['start', 'status', 'step', 'eval', 'checkpoint', 'done', 'error']);

export function isWorkerEvent(value: unknown): value is WorkerEvent {
  return typeof value === 'object' && value !== null && EVENT_TYPES.has((value as { type?: unknown }).type as string);
}

export function isWorkerCommand(value: unknown): value is WorkerCommand {
  const type = (value as { type?: unknown } | null)?.type;
  return type === 'stop' || type === 'ping';
}

/** The defaults of the LoRA literature (Lit-LLaMA / PEFT): r 8, alpha 16, dropout 0.05, lr 3e-4, … */
export const DEFAULT_RUN_OPTIONS: Omit<RunConfig, 'model' | 'data' | 'out'> = {
  eval_split: 0,
  method: 'lora',
  r: 8,
  lora_alpha: 16,
  lora_dropout: 0.05,
  target_modules: ['q_proj', 'v_proj'],
  use_rslora: false,
  use_dora: false,
  loraplus_lr_ratio: 1,
  learning_rate: 3e-4,
  weight_decay: 0,
  warmup_steps: 100,
  lr_scheduler_type: 'linear',
  micro_batch_size: 4,
  gradient_accumulation_steps: 1,
  max_grad_norm: 1,
  num_epochs: 1,
  eval_every: 0,
  save_every: 100,
  save_total_limit: 3,
  seed: 42,
  device: 'auto',
  max_seq_len: 512,
  allow_long_context: false,
  train_on_prompt: false,
  gradient_checkpointing: true,
  precision: 'auto',
  quantization: 'none',
  save_dtype: 'float32',
};
