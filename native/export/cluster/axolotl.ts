// RunConfig → an Axolotl config.yaml (field names from src/axolotl/utils/schemas/*.py: AxolotlInputConfig, SFTDataset,
// FSDPConfig; checked against test/fixtures/cluster-schemas/axolotl.json). Axolotl reads PEFT's options with its own
// prefixes (lora_r, peft_use_dora, …) and runs ReLoRA itself (relora + jagged_restart_steps).
import type { RunConfig } from '../../protocol';
import { parseLoraInit } from '../../model/svd-init';
import { ConfigMapping, hfPrecision, hfScheduler, loraRank, hfSaveCadence, mapCommon } from './mapping';
import type { DataShape } from './dataset';
import { DEEPSPEED_FILE, fsdpOptions, type Parallelism } from './parallel';
import type { YamlValue } from './yaml';

export interface TrainerConfigInput {
  config: RunConfig;
  /** The model as the cluster loads it: a Hugging Face id, or a path the README tells the user to fix. */
  model: string;
  shape: DataShape;
  parallelism: Parallelism;
  hasEval: boolean;
}

/** Axolotl's FSDP options are accelerate's without the `fsdp_` prefix (FSDPConfig), the version beside them. */
function axolotlFsdp(): { fsdp_version: number; fsdp_config: { [key: string]: YamlValue } } {
  const entries = Object.entries(fsdpOptions()).filter(([key]) => key !== 'fsdp_version');
  return { fsdp_version: 2, fsdp_config: Object.fromEntries(entries.map(([key, value]) => [key.replace(/^fsdp_/, ''), value])) };
}

export function axolotlConfig(input: TrainerConfigInput): { yaml: { [key: string]: YamlValue }; mapping: ConfigMapping } {
  const c = input.config;
  const m = new ConfigMapping(c);
  mapCommon(m);
  const dataset = (path: string) => input.shape === 'messages'
    ? { path, type: 'chat_template', ds_type: 'json', field_messages: 'messages', roles_to_train: ['assistant'] }
    : { path, type: 'alpaca', ds_type: 'json' };
  const y: { [key: string]: YamlValue } = {};

  y.base_model = input.model;
  m.use('model');
  const qlora = c.quantization === 'nf4';
  y.adapter = qlora ? 'qlora' : 'lora';
  if (qlora) y.load_in_4bit = true;
  m.use('quantization');
  y.lora_r = loraRank(c);
  y.lora_alpha = c.lora_alpha;
  y.lora_dropout = c.lora_dropout;
  if (c.target_modules === 'all-linear') y.lora_target_linear = true;
  else y.lora_target_modules = c.target_modules;
  m.use('r', 'lora_alpha', 'lora_dropout', 'target_modules');
  if (c.use_rslora) y.peft_use_rslora = true;
  if (c.use_dora) y.peft_use_dora = true;
  m.use('use_rslora', 'use_dora');
  const init = parseLoraInit(c.init_lora_weights);
  if (c.init_lora_weights !== undefined && init && init.kind !== 'default') {
    y.peft_init_lora_weights = c.init_lora_weights;
    m.note(`${init.kind === 'olora' ? 'OLoRA' : 'PiSSA'}: Axolotl saves PEFT's residual adapter (to be loaded on the residual base), not the rank-2r conversion to the original base LoRA Studio saves — convert it with PEFT's save_pretrained(path_initial_model_for_weight_conversion=…) before merging into the original model.`);
  }
  m.use('init_lora_weights');
  if ((c.relora_steps ?? 0) > 0) {
    y.relora = true;
    y.jagged_restart_steps = c.relora_steps!;
    y.jagged_restart_warmup_steps = c.relora_warmup_steps ?? 0;
    y.relora_prune_ratio = c.relora_prune ?? 0.99;
    y.relora_prune_method = 'magnitude';
  }
  m.use('relora_steps', 'relora_warmup_steps', 'relora_prune');
  if (c.loraplus_lr_ratio !== 1) y.loraplus_lr_ratio = c.loraplus_lr_ratio;
  m.use('loraplus_lr_ratio');

  y.datasets = [dataset('data/train.jsonl')];
  if (input.hasEval) y.test_datasets = [{ ...dataset('data/eval.jsonl'), split: 'train' }];
  y.val_set_size = 0;
  if (input.shape === 'messages') y.chat_template = 'tokenizer_default';
  y.train_on_inputs = c.train_on_prompt;
  y.sequence_len = c.max_seq_len;
  m.use('train_on_prompt', 'max_seq_len');
  y.dataset_prepared_path = 'output/prepared';
  y.output_dir = 'output';

  y.optimizer = 'adamw_torch';
  y.learning_rate = c.learning_rate;
  y.weight_decay = c.weight_decay;
  y.lr_scheduler = hfScheduler(c);
  y.warmup_steps = c.warmup_steps;
  y.max_grad_norm = c.max_grad_norm;
  y.micro_batch_size = c.micro_batch_size;
  y.gradient_accumulation_steps = c.gradient_accumulation_steps;
  if (c.max_steps !== undefined) y.max_steps = c.max_steps;
  y.num_epochs = c.num_epochs;
  y.seed = c.seed;
  m.use('learning_rate', 'weight_decay', 'lr_scheduler_type', 'warmup_steps', 'max_grad_norm', 'micro_batch_size', 'gradient_accumulation_steps', 'max_steps', 'num_epochs', 'seed');
  Object.assign(y, hfPrecision(c));
  y.gradient_checkpointing = c.gradient_checkpointing ?? true;
  m.use('precision', 'gradient_checkpointing');

  y.logging_steps = 1;
  if (input.hasEval) {
    if (c.eval_every > 0) Object.assign(y, { eval_strategy: 'steps', eval_steps: c.eval_every });
    else {
      y.eval_strategy = 'epoch';
      m.note('eval_every 0 (LoRA Studio evaluates once at the end): Axolotl evaluates at the end of each epoch.');
    }
  }
  m.use('eval_every');
  Object.assign(y, hfSaveCadence(m));

  if (input.parallelism === 'zero2' || input.parallelism === 'zero3') y.deepspeed = DEEPSPEED_FILE;
  if (input.parallelism === 'fsdp') Object.assign(y, axolotlFsdp());
  return { yaml: y, mapping: m };
}
