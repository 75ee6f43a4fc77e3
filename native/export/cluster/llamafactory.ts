// RunConfig → a LLaMA-Factory train config (the YAML `llamafactory-cli train` reads: ModelArguments, DataArguments,
// FinetuningArguments and transformers' Seq2SeqTrainingArguments, src/llamafactory/hparams/*.py) and its
// data/dataset_info.json (the keys src/llamafactory/data/parser.py reads). Checked against
// test/fixtures/cluster-schemas/llamafactory.json. With no `template`, LLaMA-Factory parses the tokenizer's chat
// template (data/template.py get_template_and_fix_tokenizer), as LoRA Studio uses it.
import { parseLoraInit } from '../../model/svd-init';
import { ConfigMapping, hfPrecision, hfScheduler, loraRank, hfSaveCadence, mapCommon } from './mapping';
import type { TrainerConfigInput } from './axolotl';
import { DEEPSPEED_FILE } from './parallel';
import type { YamlValue } from './yaml';

export const LF_TRAIN_DATASET = 'lora_studio_train';
export const LF_EVAL_DATASET = 'lora_studio_eval';

/** data/dataset_info.json: the exported files described in the format they are written in. */
export function llamafactoryDatasetInfo(shape: TrainerConfigInput['shape'], hasEval: boolean): object {
  const entry = (file: string) => shape === 'messages'
    ? {
      file_name: file, formatting: 'sharegpt',
      columns: { messages: 'messages' },
      tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant', system_tag: 'system' },
    }
    : { file_name: file, formatting: 'alpaca', columns: { prompt: 'instruction', query: 'input', response: 'output', system: 'system' } };
  return { [LF_TRAIN_DATASET]: entry('train.jsonl'), ...(hasEval ? { [LF_EVAL_DATASET]: entry('eval.jsonl') } : {}) };
}

export function llamafactoryConfig(input: TrainerConfigInput): { yaml: { [key: string]: YamlValue }; mapping: ConfigMapping } {
  const c = input.config;
  const m = new ConfigMapping(c);
  mapCommon(m);
  const y: { [key: string]: YamlValue } = {};

  y.model_name_or_path = input.model;
  m.use('model');
  if (c.quantization === 'nf4') Object.assign(y, { quantization_bit: 4, quantization_method: 'bnb', quantization_type: 'nf4' });
  m.use('quantization');

  y.stage = 'sft';
  y.do_train = true;
  y.finetuning_type = 'lora';
  y.lora_rank = loraRank(c);
  y.lora_alpha = c.lora_alpha;
  y.lora_dropout = c.lora_dropout;
  y.lora_target = c.target_modules === 'all-linear' ? 'all' : c.target_modules.join(',');
  m.use('r', 'lora_alpha', 'lora_dropout', 'target_modules');
  if (c.use_rslora) y.use_rslora = true;
  if (c.use_dora) y.use_dora = true;
  m.use('use_rslora', 'use_dora');
  const init = parseLoraInit(c.init_lora_weights);
  if (init?.kind === 'pissa') {
    // pissa_iter -1 is the exact SVD; pissa_convert saves the rank-2r LoRA of the original base, as LoRA Studio does.
    Object.assign(y, { pissa_init: true, pissa_iter: init.niter ?? -1, pissa_convert: true });
    m.use('init_lora_weights');
  } else if (init?.kind === 'olora') {
    m.skip('init_lora_weights', 'OLoRA initialization: LLaMA-Factory has PiSSA only; the run starts from the default LoRA init');
  } else m.use('init_lora_weights');
  if ((c.relora_steps ?? 0) > 0) {
    for (const field of ['relora_steps', 'relora_prune', 'relora_warmup_steps'] as const) m.skip(field, 'ReLoRA: LLaMA-Factory has no merge-and-restart; the run is plain LoRA (use the Axolotl export for ReLoRA)');
  } else m.use('relora_steps', 'relora_prune', 'relora_warmup_steps');
  if (c.loraplus_lr_ratio !== 1) y.loraplus_lr_ratio = c.loraplus_lr_ratio;
  m.use('loraplus_lr_ratio');

  y.dataset_dir = 'data';
  y.dataset = LF_TRAIN_DATASET;
  if (input.hasEval) y.eval_dataset = LF_EVAL_DATASET;
  if (input.shape === 'alpaca') y.template = 'alpaca';
  y.cutoff_len = c.max_seq_len;
  y.train_on_prompt = c.train_on_prompt;
  m.use('train_on_prompt', 'max_seq_len');
  if (input.shape === 'alpaca') m.note('Without a chat template LLaMA-Factory uses its "alpaca" template, whose system text differs slightly from the Stanford Alpaca prompt LoRA Studio uses.');

  y.output_dir = 'output';
  y.plot_loss = true;
  y.logging_steps = 1;
  y.report_to = 'none';
  y.learning_rate = c.learning_rate;
  y.weight_decay = c.weight_decay;
  y.lr_scheduler_type = hfScheduler(c);
  y.warmup_steps = c.warmup_steps;
  y.max_grad_norm = c.max_grad_norm;
  y.per_device_train_batch_size = c.micro_batch_size;
  y.per_device_eval_batch_size = c.micro_batch_size;
  y.gradient_accumulation_steps = c.gradient_accumulation_steps;
  y.num_train_epochs = c.num_epochs;
  if (c.max_steps !== undefined) y.max_steps = c.max_steps;
  y.seed = c.seed;
  m.use('learning_rate', 'weight_decay', 'lr_scheduler_type', 'warmup_steps', 'max_grad_norm', 'micro_batch_size', 'gradient_accumulation_steps', 'max_steps', 'num_epochs', 'seed');
  Object.assign(y, hfPrecision(c));
  y.gradient_checkpointing = c.gradient_checkpointing ?? true;
  m.use('precision', 'gradient_checkpointing');

  if (input.hasEval) {
    if (c.eval_every > 0) Object.assign(y, { eval_strategy: 'steps', eval_steps: c.eval_every });
    else {
      y.eval_strategy = 'epoch';
      m.note('eval_every 0 (LoRA Studio evaluates once at the end): LLaMA-Factory evaluates at the end of each epoch.');
    }
  }
  m.use('eval_every');
  Object.assign(y, hfSaveCadence(m));
  if (input.parallelism === 'zero2' || input.parallelism === 'zero3') y.deepspeed = DEEPSPEED_FILE;
  return { yaml: y, mapping: m };
}
