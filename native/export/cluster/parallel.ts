// How the training is spread over GPUs: plain data parallel (DDP), DeepSpeed ZeRO-2 / ZeRO-3 (a JSON the Hugging Face
// Trainer reads; "auto" values are filled from the TrainingArguments by transformers' HfTrainerDeepSpeedConfig, so the
// batch, accumulation, clipping and precision are said once, in the trainer's config) or FSDP (an accelerate config).
// The DeepSpeed files follow LLaMA-Factory's examples/deepspeed/ds_z{2,3}_config.json; the FSDP settings are accelerate's
// `fsdp_*` launch options (accelerate/commands/launch.py), wrapping each decoder layer (the model's _no_split_modules).
import type { YamlValue } from './yaml';

export type Parallelism = 'ddp' | 'zero2' | 'zero3' | 'fsdp';

export const DEEPSPEED_FILE = 'deepspeed.json';
export const ACCELERATE_FILE = 'accelerate.yaml';

/** The DeepSpeed config for ZeRO stage 2 (optimizer state and gradients sharded) or 3 (parameters too). */
export function deepspeedConfig(stage: 2 | 3): object {
  const common = {
    train_batch_size: 'auto',
    train_micro_batch_size_per_gpu: 'auto',
    gradient_accumulation_steps: 'auto',
    gradient_clipping: 'auto',
    zero_allow_untested_optimizer: true,
    fp16: { enabled: 'auto', loss_scale: 0, loss_scale_window: 1000, initial_scale_power: 16, hysteresis: 2, min_loss_scale: 1 },
    bf16: { enabled: 'auto' },
  };
  const zero = stage === 2
    ? { stage: 2, allgather_partitions: true, allgather_bucket_size: 5e8, overlap_comm: false, reduce_scatter: true, reduce_bucket_size: 5e8, contiguous_gradients: true, round_robin_gradients: true }
    : {
      stage: 3, overlap_comm: false, contiguous_gradients: true, sub_group_size: 1e9, reduce_bucket_size: 'auto',
      stage3_prefetch_bucket_size: 'auto', stage3_param_persistence_threshold: 'auto', stage3_max_live_parameters: 1e9,
      stage3_max_reuse_distance: 1e9,
      // The adapter and the final checkpoint are gathered into ordinary 16-bit tensors (not ZeRO shards) on save.
      stage3_gather_16bit_weights_on_model_save: true,
    };
  return { ...common, zero_optimization: zero };
}

/** FSDP as accelerate's launch options name them (the `fsdp_config` of an accelerate config file). */
export function fsdpOptions(): { [key: string]: YamlValue } {
  return {
    fsdp_version: 2,
    fsdp_auto_wrap_policy: 'TRANSFORMER_BASED_WRAP',
    fsdp_reshard_after_forward: true,
    fsdp_state_dict_type: 'SHARDED_STATE_DICT',
    fsdp_cpu_ram_efficient_loading: true,
    fsdp_offload_params: false,
    // The trainers' own gradient_checkpointing setting does the recomputation; FSDP's would do it twice.
    fsdp_activation_checkpointing: false,
  };
}

/**
 * The accelerate config file of an FSDP launch (TRL, LLaMA-Factory; Axolotl configures FSDP from its own YAML). The
 * machine count, rank and address are given on the command line by the launch scripts, so one file serves every node.
 * DeepSpeed and plain data parallel need no such file: the Trainer reads deepspeed.json from its own arguments under
 * torchrun.
 */
export function accelerateFsdpConfig(mixedPrecision: 'bf16' | 'fp16' | 'no'): { [key: string]: YamlValue } {
  return {
    compute_environment: 'LOCAL_MACHINE',
    debug: false,
    distributed_type: 'FSDP',
    mixed_precision: mixedPrecision,
    use_cpu: false,
    rdzv_backend: 'static',
    same_network: true,
    main_training_function: 'main',
    fsdp_config: fsdpOptions(),
  };
}
