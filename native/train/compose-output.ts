// The folder `lora-studio compose` leaves: a standard PEFT LoRA adapter (adapter_config.json with PEFT's keys only,
// adapter_model.safetensors) plus the LoRAHub record — lorahub.json (machine-readable: sources, weights, losses) and
// README.md (the same for people). Written into a staging sibling and renamed into place, so a cancelled or failed
// composition leaves no half folder.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { makeDirs } from '../util/make-dirs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../util/errors';
import { commitFolderAtomic, writeFileAtomic, writeJsonAtomic } from '../util/atomic-write';
import { writePeftAdapter } from '../model/peft-io';
import { composeLora, type Hub } from '../model/lorahub';

export const LORAHUB_RECORD = 'lorahub.json';

export interface ComposeRecord {
  method: 'lorahub';
  /** How the adapters were combined (LoRAHub eq. 1). */
  composition: 'A = sum(w_i * A_i), B = sum(w_i * B_i)';
  base_model: string;
  adapters: { path: string; weight: number; r: number; lora_alpha: number; use_rslora: boolean; base_model_name_or_path: string | null }[];
  data: string;
  examples: number;
  tokens: number;
  steps: number;
  l1: number;
  seed: number;
  /** The base weights the loss was computed on: the stored ones, or their NF4 copy (QLoRA adapters). */
  quantization: 'none' | 'nf4';
  /** Few-shot cross-entropy at the weights found, and its value plus the L1 penalty (what the search minimized). */
  loss: number;
  objective: number;
  /** The loss at wᵢ = 1/N, and at w = 0 (the base model alone), for comparison. */
  uniform_loss: number;
  base_loss: number;
}

/** Refuses an output folder that holds anything (checked before the search, so a long run does not fail at the end). */
export function checkComposeOut(out: string): void {
  if (existsSync(out) && readdirSync(out).length > 0) {
    throw new UserError(`the output folder ${out} is not empty`, { where: { file: out }, fix: 'choose a new or empty folder for the composed adapter' });
  }
}

export function writeComposedAdapter(out: string, hub: Hub, weights: readonly number[], record: ComposeRecord): void {
  checkComposeOut(out);
  const staging = join(dirname(out), `.${basename(out)}.composing-${randomBytes(3).toString('hex')}`);
  makeDirs(staging);
  try {
    writePeftAdapter(staging, {
      config: { r: hub.r, lora_alpha: hub.lora_alpha, lora_dropout: 0, use_rslora: hub.use_rslora, use_dora: false },
      baseModel: record.base_model, targets: hub.targets, weights: composeLora(hub.adapters, weights), dtype: 'float32',
    });
    writeJsonAtomic(join(staging, LORAHUB_RECORD), record);
    writeFileAtomic(join(staging, 'README.md'), composeReadme(record));
    if (existsSync(out)) rmSync(out, { recursive: true }); // empty (checked above)
    commitFolderAtomic(staging, out);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

const num = (n: number) => (Number.isFinite(n) ? n.toFixed(4) : String(n));

export function composeReadme(record: ComposeRecord): string {
  const rows = record.adapters.map((a, i) => `| ${i + 1} | \`${a.path}\` | ${num(a.weight)} | ${a.r} | ${a.lora_alpha}${a.use_rslora ? ' (rsLoRA)' : ''} |`);
  return [
    '---',
    'library_name: peft',
    `base_model: ${JSON.stringify(record.base_model)}`,
    'tags: [lora, lorahub]',
    '---',
    '',
    '# LoRAHub composition',
    '',
    `This PEFT LoRA adapter is a weighted composition of ${record.adapters.length} adapters of \`${record.base_model}\`, made by`,
    '`lora-studio compose` as in LoRAHub (Huang et al. 2023, arXiv:2307.13269): every module\'s',
    '`lora_A = Σ wᵢ·lora_Aᵢ` and `lora_B = Σ wᵢ·lora_Bᵢ`, with the weights found by a gradient-free search',
    `((1+1)-ES, ${record.steps} evaluations, seed ${record.seed}) minimizing the few-shot loss plus ${record.l1}·Σ|wᵢ|.`,
    '',
    '| # | adapter | weight | r | lora_alpha |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `Few-shot data: \`${record.data}\` (${record.examples} examples, ${record.tokens} trained tokens)${record.quantization === 'nf4' ? ', the loss computed on the base\'s NF4 copy (the adapters are QLoRA ones)' : ''}.`,
    '',
    '| weights | few-shot loss |',
    '|---|---|',
    `| found | ${num(record.loss)} |`,
    `| uniform (1/${record.adapters.length} each) | ${num(record.uniform_loss)} |`,
    `| none (base model) | ${num(record.base_loss)} |`,
    '',
    `The same record, machine-readable, is in \`${LORAHUB_RECORD}\`. Use the adapter like any other:`,
    '`lora-studio generate --adapter <this folder>`, `lora-studio merge`, or PEFT\'s `PeftModel.from_pretrained`.',
    '',
  ].join('\n');
}
