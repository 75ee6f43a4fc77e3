// A Hugging Face model folder → one GGUF file llama.cpp loads (as convert_hf_to_gguf.py does for Llama, Mistral,
// Qwen2 and Qwen3): the architecture's hyperparameters under "<arch>.*", the tokenizer and chat template, and every
// weight under llama.cpp's name, q/k rows permuted for Llama-style rotary, Llama 3 rope scaling as the rope_freqs
// tensor. 1-D tensors (norms, biases) stay F32 as convert_hf_to_gguf keeps them; 2-D weights take --dtype, except that
// a Q8_0 weight whose rows are not whole 32-value blocks falls back to F16 (as the converter does).
// Weights are read a slice of rows at a time straight from the safetensors files, so memory stays near one chunk.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadModelFolder } from '../model/model-folder';
import type { ModelConfig } from '../model/hf-config';
import { bf16ToF32, f16ToF32, type SafetensorsFile, type StEntry } from '../model/safetensors';
import { ropeInvFreq } from '../model/llama';
import { UserError } from '../util/errors';
import { encodeTensor } from './gguf-quant';
import { GGUF_ARCH, ggufTensorName, permuteHeads, qkRowOrder } from './gguf-names';
import { addTokenizerMetadata } from './gguf-tokenizer';
import { GgufMetadata, writeGguf, type GgmlType, type GgufTensor, type WriteGgufOptions } from './gguf-writer';

export const GGUF_DTYPES = ['f16', 'bf16', 'q8_0'] as const;
export type GgufDtype = (typeof GGUF_DTYPES)[number];

const TYPE_OF: Record<GgufDtype, GgmlType> = { f16: 'F16', bf16: 'BF16', q8_0: 'Q8_0' };
/** gguf-py constants.py LlamaFileType. */
const FILE_TYPE: Record<GgufDtype, number> = { f16: 1, bf16: 32, q8_0: 7 };
/** Source bytes read per chunk. */
const CHUNK_BYTES = 32 * 2 ** 20;

export interface GgufModelExport extends WriteGgufOptions {
  modelDir: string;
  outFile: string;
  dtype: GgufDtype;
  /** general.name (default: the folder's name). */
  name?: string;
}

export interface GgufModelResult {
  tensors: number;
  bytes: number;
  notes: string[];
}

/** Rows [start, start+count) of a 2-D (or 1-D: one row) safetensors tensor as float32. */
export function readRowsF32(file: SafetensorsFile, entry: StEntry, start: number, count: number): Float32Array {
  const rowLength = entry.shape.length === 1 ? entry.shape[0] : entry.shape.slice(1).reduce((a, b) => a * b, 1);
  const width = entry.dtype === 'F32' ? 4 : entry.dtype === 'F16' || entry.dtype === 'BF16' ? 2 : 0;
  if (width === 0) throw new UserError(`tensor ${entry.name} is ${entry.dtype}; GGUF export reads F32, F16 or BF16`, { where: { file: file.path } });
  const bytes = new Uint8Array(count * rowLength * width);
  const fd = openSync(file.path, 'r');
  try {
    let done = 0;
    const from = entry.offset + start * rowLength * width;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, from + done);
      if (n === 0) throw new UserError(`${file.path} ends inside tensor ${entry.name}`, { where: { file: file.path }, fix: 'the file is truncated; download it again' });
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  if (width === 4) return new Float32Array(bytes.buffer);
  const halves = new Uint16Array(bytes.buffer);
  return entry.dtype === 'BF16' ? bf16ToF32(halves) : f16ToF32(halves);
}

/** The GGUF type a tensor of `shape` gets for `dtype`, and a note when Q8_0 cannot hold it. */
function tensorType(shape: readonly number[], dtype: GgufDtype): GgmlType {
  if (shape.length < 2) return 'F32';
  if (dtype === 'q8_0' && shape[shape.length - 1] % 32 !== 0) return 'F16';
  return TYPE_OF[dtype];
}

/** llama.cpp's rope_freqs: per frequency, the factor it divides theta by (unscaled inv_freq / Llama 3 inv_freq). */
export function ropeFreqFactors(config: ModelConfig): Float32Array | undefined {
  if (!config.rope_scaling) return undefined;
  const scaled = ropeInvFreq(config);
  const plain = ropeInvFreq({ ...config, rope_scaling: null });
  return Float32Array.from(plain, (p, i) => p / scaled[i]);
}

/** The "<arch>.*" hyperparameters (convert_hf_to_gguf.py TextModel.set_gguf_parameters and LlamaModel's additions). */
export function addArchitectureMetadata(meta: GgufMetadata, config: ModelConfig): void {
  const arch = GGUF_ARCH[config.architecture];
  meta.u32(`${arch}.context_length`, config.max_position_embeddings);
  meta.u32(`${arch}.embedding_length`, config.hidden_size);
  meta.u32(`${arch}.block_count`, config.num_hidden_layers);
  meta.u32(`${arch}.feed_forward_length`, config.intermediate_size);
  meta.u32(`${arch}.attention.head_count`, config.num_attention_heads);
  meta.u32(`${arch}.attention.head_count_kv`, config.num_key_value_heads);
  meta.f32(`${arch}.rope.freq_base`, config.rope_theta);
  meta.f32(`${arch}.attention.layer_norm_rms_epsilon`, config.rms_norm_eps);
  // head_dim may differ from hidden / heads (Qwen3): llama.cpp reads it from key_length/value_length.
  meta.u32(`${arch}.attention.key_length`, config.head_dim);
  meta.u32(`${arch}.attention.value_length`, config.head_dim);
  meta.u32(`${arch}.rope.dimension_count`, config.head_dim);
  meta.u32(`${arch}.vocab_size`, config.vocab_size);
}

/** Writes the GGUF of a model folder. */
export async function exportGgufModel(options: GgufModelExport): Promise<GgufModelResult> {
  const folder = loadModelFolder(options.modelDir);
  const { config, weights } = folder;
  const arch = GGUF_ARCH[config.architecture];
  const meta = new GgufMetadata()
    .string('general.architecture', arch)
    .string('general.type', 'model')
    .string('general.name', options.name ?? basename(options.modelDir))
    .u32('general.alignment', 32)
    .u32('general.file_type', FILE_TYPE[options.dtype])
    .u32('general.quantization_version', 2);
  addArchitectureMetadata(meta, config);
  const tokenizerFile = join(options.modelDir, 'tokenizer.json');
  const { notes } = addTokenizerMetadata(meta, JSON.parse(readFileSync(tokenizerFile, 'utf8')) as Record<string, unknown>, config, folder.tokenizer, tokenizerFile);

  const tensors: GgufTensor[] = [];
  const factors = ropeFreqFactors(config);
  if (factors) tensors.push({ name: 'rope_freqs.weight', shape: [factors.length], type: 'F32', data: () => encodeTensor(factors, 'F32') });
  let fellBack = 0;
  for (const hfName of weights.names()) {
    const found = weights.entry(hfName)!;
    const name = ggufTensorName(hfName);
    if (name === undefined) {
      // Tensors the forward pass does not read (rotary_emb.inv_freq in old checkpoints) are not part of the model.
      if (/rotary_emb\.inv_freq$/.test(hfName)) continue;
      throw new UserError(`tensor "${hfName}" has no llama.cpp name`, { where: { file: found.file.path }, fix: 'export a plain Llama, Mistral, Qwen2 or Qwen3 checkpoint' });
    }
    const { entry, file } = found;
    const type = tensorType(entry.shape, options.dtype);
    if (options.dtype === 'q8_0' && type === 'F16') fellBack++;
    const heads = permuteHeads(hfName, config);
    tensors.push({ name, shape: entry.shape, type, data: () => tensorChunks(file, entry, type, heads) });
  }
  if (fellBack > 0) notes.push(`note: ${fellBack} weight(s) have rows that are not whole Q8_0 blocks of 32 and were written as F16`);
  const bytes = await writeGguf(options.outFile, meta.map, tensors, options);
  return { tensors: tensors.length, bytes, notes };
}

/** A tensor's GGUF bytes, a slice of rows at a time; q/k rows permuted per head when `heads` is set. */
function* tensorChunks(file: SafetensorsFile, entry: StEntry, type: GgmlType, heads: number | undefined): Iterable<Uint8Array> {
  const rows = entry.shape.length === 1 ? 1 : entry.shape[0];
  const rowBytes = entry.length / rows;
  if (heads !== undefined) {
    // Permutation moves rows within a head; whole heads are read together. A bias (1-D) is one row of `rows` values.
    const values = readRowsF32(file, entry, 0, rows);
    const n = entry.shape[0], width = values.length / n;
    const order = qkRowOrder(n, heads);
    const out = new Float32Array(values.length);
    for (let r = 0; r < n; r++) out.set(values.subarray(order[r] * width, (order[r] + 1) * width), r * width);
    yield encodeTensor(out, type);
    return;
  }
  const step = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
  for (let start = 0; start < rows; start += step) yield encodeTensor(readRowsF32(file, entry, start, Math.min(step, rows - start)), type);
}
