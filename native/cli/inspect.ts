// lora-studio inspect --model DIR [--json]: what a model folder holds — architecture, sizes, dtype, parameter count and
// the linear modules LoRA can target with their shapes. Reads headers only, so it is instant even for large models.
import type { Command } from 'commander';
import { loadModelFolder, parameterCount, stopTokenIds, type ModelFolder } from '../model/model-folder';
import { ALLOW_OUTSIDE_LINKS_HELP, allowOutsideLinks } from '../model/folder-links';
import { linearModules } from '../model/linear-modules';
import { nf4WeightNames } from '../model/nf4-cache';
import { nf4ShapeProblem, nf4StoredShapes } from '../engine/nf4';

export interface InspectReport {
  model: string;
  architecture: string;
  model_type: string;
  layers: number;
  hidden_size: number;
  intermediate_size: number;
  attention_heads: number;
  kv_heads: number;
  head_dim: number;
  vocab_size: number;
  tokenizer_vocab: number;
  dtype: string;
  /** dtypes of the stored tensors (a checkpoint's torch_dtype can disagree with what it holds). */
  stored_dtypes: string[];
  parameters: number;
  tie_word_embeddings: boolean;
  attention_bias: boolean;
  qk_norm: boolean;
  rope_theta: number;
  rope_scaling: string | null;
  max_position_embeddings: number;
  chat_template: boolean;
  eos_token_ids: number[];
  weight_files: number;
  /** Bytes of the stored weights. */
  weight_bytes: number;
  /** Bytes with --quantization nf4 (the NF4 cache: linear weights at 0.5625 byte a value, the rest as stored), or null with why not. */
  nf4_bytes: number | null;
  nf4_unsupported?: string;
  /** LoRA targets: PEFT name, shape of the weight [out, in], and how many layers have one. */
  linear_modules: { name: string; in: number; out: number; layers: number; example: string }[];
}

export function inspectModel(folder: ModelFolder): InspectReport {
  const c = folder.config;
  const dtypes = new Set<string>();
  const quantized = nf4WeightNames(folder);
  let weightBytes = 0, nf4Bytes = 0;
  let nf4Unsupported: string | undefined;
  for (const name of folder.weights.names()) {
    const found = folder.weights.entry(name);
    if (!found) continue;
    const { dtype, shape, length } = found.entry;
    dtypes.add(dtype);
    weightBytes += length;
    if (!quantized.has(name)) nf4Bytes += length;
    else if (nf4ShapeProblem(shape)) nf4Unsupported ??= `${name}: ${nf4ShapeProblem(shape)}`;
    else {
      const stored = nf4StoredShapes(shape);
      nf4Bytes += stored.codes[0] * stored.codes[1] + stored.absmax[0] * 4;
    }
  }
  return {
    model: folder.dir,
    architecture: c.architecture,
    model_type: c.model_type,
    layers: c.num_hidden_layers,
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    attention_heads: c.num_attention_heads,
    kv_heads: c.num_key_value_heads,
    head_dim: c.head_dim,
    vocab_size: c.vocab_size,
    tokenizer_vocab: folder.tokenizer.vocabSize,
    dtype: c.torch_dtype,
    stored_dtypes: [...dtypes].sort(),
    parameters: parameterCount(folder.weights),
    tie_word_embeddings: c.tie_word_embeddings,
    attention_bias: c.attention_bias,
    qk_norm: c.qk_norm,
    rope_theta: c.rope_theta,
    rope_scaling: c.rope_scaling ? `${c.rope_scaling.rope_type} ×${c.rope_scaling.factor}` : null,
    max_position_embeddings: c.max_position_embeddings,
    chat_template: folder.tokenizer.chatTemplate !== undefined,
    eos_token_ids: stopTokenIds(folder),
    weight_files: folder.weights.files.length,
    weight_bytes: weightBytes,
    nf4_bytes: nf4Unsupported ? null : nf4Bytes,
    ...(nf4Unsupported ? { nf4_unsupported: nf4Unsupported } : {}),
    linear_modules: linearModules(c).map((m) => ({ name: m.name, in: m.in, out: m.out, layers: c.num_hidden_layers, example: `${m.path(0)}.weight` })),
  };
}

function humanCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export function formatInspect(r: InspectReport): string {
  const lines = [
    `${r.model}`,
    `  architecture   ${r.architecture} (${r.model_type})`,
    `  layers         ${r.layers}`,
    `  hidden size    ${r.hidden_size} (MLP ${r.intermediate_size})`,
    `  heads          ${r.attention_heads} query, ${r.kv_heads} key/value${r.kv_heads < r.attention_heads ? ' (grouped-query)' : ''}, head_dim ${r.head_dim}`,
    `  vocab          ${r.vocab_size} (tokenizer ${r.tokenizer_vocab})`,
    `  dtype          ${r.dtype} (stored ${r.stored_dtypes.join(', ')})`,
    `  parameters     ${r.parameters.toLocaleString('en-US')} (${humanCount(r.parameters)})`,
    `  embeddings     ${r.tie_word_embeddings ? 'tied' : 'untied'}${r.attention_bias ? ', q/k/v bias' : ''}${r.qk_norm ? ', q/k norm' : ''}`,
    `  rope           theta ${r.rope_theta}${r.rope_scaling ? `, ${r.rope_scaling}` : ''}, max positions ${r.max_position_embeddings}`,
    `  weights        ${(r.weight_bytes / 1e9).toFixed(2)} GB as stored; ${r.nf4_bytes === null ? `NF4 not possible: ${r.nf4_unsupported}` : `${(r.nf4_bytes / 1e9).toFixed(2)} GB with --quantization nf4`}`,
    `  chat template  ${r.chat_template ? 'yes' : 'no (Alpaca prompt for alpaca records)'}`,
    `  EOS ids        ${r.eos_token_ids.join(', ') || 'none'}`,
    `  LoRA targets (--target-modules, or all-linear):`,
    ...r.linear_modules.map((m) => `    ${m.name.padEnd(10)} ${`[${m.out}, ${m.in}]`.padEnd(14)} × ${m.layers} layers   ${m.example}`),
  ];
  return lines.join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show a model folder: architecture, sizes, dtype, parameters and the modules LoRA can target')
    .requiredOption('--model <dir>', 'Hugging Face model folder (config.json, *.safetensors, tokenizer.json)')
    .option('--json', 'print one JSON object', false)
    .option('--allow-outside-links', ALLOW_OUTSIDE_LINKS_HELP, false)
    .action((flags: { model: string; json?: boolean; allowOutsideLinks?: boolean }) => {
      if (flags.allowOutsideLinks) allowOutsideLinks();
      const report = inspectModel(loadModelFolder(flags.model));
      process.stdout.write(flags.json ? JSON.stringify(report) + '\n' : formatInspect(report));
    });
}
