// RunConfig → the settings of the exported TRL script (train.py, trl-script.ts): `sft` is passed to TRL's SFTConfig
// (TrainingArguments' fields and SFT's own, trl/trainer/sft_config.py), `lora` to PEFT's LoraConfig, `bnb` to
// transformers' BitsAndBytesConfig — checked against test/fixtures/cluster-schemas/trl.json. The rest (model, data,
// LoRA+ ratio) is read by the script itself. PEFT takes LoRA Studio's names unchanged (they are PEFT's).
import { parseLoraInit } from '../../model/svd-init';
import { ConfigMapping, hfPrecision, hfScheduler, loraRank, hfSaveCadence, mapCommon } from './mapping';
import type { TrainerConfigInput } from './axolotl';
import { DEEPSPEED_FILE } from './parallel';

export interface TrlSettings {
  model: string;
  train_file: string;
  eval_file: string | null;
  /** LoRA+ (Hayou et al. 2024) through peft.optimizers.create_loraplus_optimizer; null: plain AdamW. */
  loraplus_lr_ratio: number | null;
  /** PiSSA/OLoRA: save the adapter converted to a LoRA of the original base (as LoRA Studio does). */
  convert_residual_adapter: boolean;
  sft: Record<string, unknown>;
  lora: Record<string, unknown>;
  bnb: Record<string, unknown> | null;
}

export function trlSettings(input: TrainerConfigInput): { settings: TrlSettings; mapping: ConfigMapping } {
  const c = input.config;
  const m = new ConfigMapping(c);
  mapCommon(m);
  const precision = hfPrecision(c);
  m.use('model', 'precision');

  const lora: Record<string, unknown> = {
    r: loraRank(c),
    lora_alpha: c.lora_alpha,
    lora_dropout: c.lora_dropout,
    target_modules: c.target_modules,
    use_rslora: c.use_rslora,
    use_dora: c.use_dora ?? false,
    bias: 'none',
    task_type: 'CAUSAL_LM',
  };
  m.use('r', 'lora_alpha', 'lora_dropout', 'target_modules', 'use_rslora', 'use_dora');
  const init = parseLoraInit(c.init_lora_weights);
  if (c.init_lora_weights !== undefined && init && init.kind !== 'default') lora.init_lora_weights = c.init_lora_weights;
  m.use('init_lora_weights');
  if ((c.relora_steps ?? 0) > 0) {
    for (const field of ['relora_steps', 'relora_prune', 'relora_warmup_steps'] as const) m.skip(field, 'ReLoRA: TRL has no merge-and-restart; the run is plain LoRA (use the Axolotl export for ReLoRA)');
  } else m.use('relora_steps', 'relora_prune', 'relora_warmup_steps');
  m.use('loraplus_lr_ratio');

  const bnb = c.quantization === 'nf4'
    ? {
      load_in_4bit: true, bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: false,
      bnb_4bit_compute_dtype: precision.fp16 ? 'float16' : 'bfloat16',
      // FSDP and ZeRO-3 shard the 4-bit weights: they must be stored in the dtype of the other parameters.
      ...(input.parallelism === 'fsdp' || input.parallelism === 'zero3' ? { bnb_4bit_quant_storage: precision.fp16 ? 'float16' : 'bfloat16' } : {}),
    }
    : null;
  m.use('quantization');

  const sft: Record<string, unknown> = {
    output_dir: 'output',
    learning_rate: c.learning_rate,
    weight_decay: c.weight_decay,
    lr_scheduler_type: hfScheduler(c),
    warmup_steps: c.warmup_steps,
    max_grad_norm: c.max_grad_norm,
    per_device_train_batch_size: c.micro_batch_size,
    per_device_eval_batch_size: c.micro_batch_size,
    gradient_accumulation_steps: c.gradient_accumulation_steps,
    num_train_epochs: c.num_epochs,
    ...(c.max_steps !== undefined ? { max_steps: c.max_steps } : {}),
    seed: c.seed,
    max_length: c.max_seq_len,
    // prompt/completion records learn the completion only; `messages` records (train_on_prompt) learn every token.
    completion_only_loss: !c.train_on_prompt,
    ...precision,
    gradient_checkpointing: c.gradient_checkpointing ?? true,
    logging_steps: 1,
    report_to: 'none',
    optim: 'adamw_torch',
  };
  m.use('learning_rate', 'weight_decay', 'lr_scheduler_type', 'warmup_steps', 'max_grad_norm', 'micro_batch_size', 'gradient_accumulation_steps', 'num_epochs', 'max_steps', 'seed', 'max_seq_len', 'train_on_prompt', 'gradient_checkpointing');
  if (input.hasEval) {
    if (c.eval_every > 0) Object.assign(sft, { eval_strategy: 'steps', eval_steps: c.eval_every });
    else m.note('eval_every 0: train.py evaluates once, at the end, as LoRA Studio does.');
  }
  m.use('eval_every');
  Object.assign(sft, hfSaveCadence(m));
  if (input.parallelism === 'zero2' || input.parallelism === 'zero3') sft.deepspeed = DEEPSPEED_FILE;

  return {
    settings: {
      model: input.model,
      train_file: 'data/train.jsonl',
      eval_file: input.hasEval ? 'data/eval.jsonl' : null,
      loraplus_lr_ratio: c.loraplus_lr_ratio !== 1 ? c.loraplus_lr_ratio : null,
      convert_residual_adapter: init !== undefined && init.kind !== 'default',
      sft, lora, bnb,
    },
    mapping: m,
  };
}
