// Merging a LoRA adapter into its base model: W' = W + scaling · B·A for every adapted linear layer (DoRA:
// W' = (m / ‖W + scaling · B·A‖_row) ⊙ (W + scaling · B·A), native/model/dora.ts), written as a
// complete Hugging Face folder with exactly the base's tensor names, order, sharding and dtypes (no tensor added or
// dropped: a tied model gets no lm_head.weight). Streams tensor by tensor — peak memory stays near the largest
// tensor — into a staging folder that is renamed into place only when complete.
import { closeSync, copyFileSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { makeDirs } from '../util/make-dirs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../util/errors';
import { commitFolderAtomic } from '../util/atomic-write';
import { pidAlive } from '../util/pid-alive';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, openWeights, readTensorBytes, ST_DTYPE_BYTES, type SafetensorsFile, type StEntry } from './safetensors';
import { readPeftAdapter } from './peft-io';
import { requireModelDir } from './model-folder';
import { checkModelFileLinks } from './folder-links';
import { mergeDora } from './dora';

export interface MergeProgress {
  done: number;
  total: number;
  tensor: string;
}

export interface MergeOptions {
  modelDir: string;
  adapterDir: string;
  outDir: string;
  onProgress?: (progress: MergeProgress) => void;
  /** Checked between tensors; a cancelled merge leaves nothing behind. */
  cancelled?: () => boolean;
  /** dtype of the merged float tensors: 'same' (default) keeps each tensor's dtype. */
  dtype?: MergeDtype;
  /** Told of each folder a killed merge left beside the output folder, as it is removed. */
  onLeftoverRemoved?: (path: string) => void;
}

/** A merge writes into `.<out>.merging-<pid>-<hex>` beside its output folder and renames it into place at the end. */
const MERGING = /^\..+\.merging-(\d+)-[0-9a-f]+$/;

/**
 * Removes the staging folders in `parent` whose merge process is gone (killed before its rename): a live merge's
 * folder, named with its pid, is left alone. Returns the folders removed.
 */
export function removeMergeLeftovers(parent: string, isAlive: (pid: number) => boolean = pidAlive): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = MERGING.exec(name);
    if (!match || isAlive(Number(match[1]))) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
    removed.push(join(parent, name));
  }
  return removed;
}

export type MergeDtype = 'same' | 'f32' | 'f16' | 'bf16';
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);
const TARGET: Record<Exclude<MergeDtype, 'same'>, StEntry['dtype']> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };

/** Files of the base folder that are copied unchanged (everything except the weights themselves). */
export function companionFiles(modelDir: string): string[] {
  // Files only: a subfolder such as Llama 3's original/ holds the weights in another format, which the merge does not
  // update, so copying it would ship the unmerged model beside the merged one. A link to a file counts as the file
  // (the Hugging Face cache is all links) once it is known to stay in the folder: its content is what is copied.
  const names = readdirSync(modelDir, { withFileTypes: true })
    .filter((entry) => (entry.isFile() || (entry.isSymbolicLink() && isFileBehindLink(join(modelDir, entry.name)))) &&
      !entry.name.endsWith('.safetensors') && !entry.name.startsWith('.') && !/\.(bin|pt|pth|ckpt|gguf|onnx)$/.test(entry.name))
    .map((entry) => entry.name);
  checkModelFileLinks(modelDir, names.map((name) => join(modelDir, name)));
  return names;
}

function isFileBehindLink(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false; // a broken link: nothing to copy
  }
}

function decode(entry: StEntry, bytes: Uint8Array): Float32Array {
  const count = entry.length / (entry.dtype === 'F32' ? 4 : 2);
  if (entry.dtype === 'F32') return new Float32Array(bytes.buffer, bytes.byteOffset, count).slice();
  const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
  return entry.dtype === 'BF16' ? bf16ToF32(halves) : f16ToF32(halves);
}

export function encode(dtype: StEntry['dtype'], values: Float32Array): Uint8Array {
  const typed = dtype === 'F32' ? values : dtype === 'BF16' ? f32ToBf16(values) : dtype === 'F16' ? f32ToF16(values) : dtype === 'F64' ? Float64Array.from(values) : undefined;
  // Integer tensors are never decoded to float, so asking to encode one is a bug, not an input problem.
  if (typed === undefined) throw new Error(`encode: ${dtype} is not a float dtype`);
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

/** W [out, in] += scaling · B [out, r] · A [r, in], accumulated in float64 per element. */
export function addLoraDelta(weight: Float32Array, A: Float32Array, B: Float32Array, r: number, inF: number, outF: number, scaling: number): void {
  const row = new Float64Array(inF);
  for (let o = 0; o < outF; o += 1) {
    row.fill(0);
    for (let k = 0; k < r; k += 1) {
      const b = B[o * r + k];
      if (b === 0) continue;
      const aRow = k * inF;
      for (let i = 0; i < inF; i += 1) row[i] += b * A[aRow + i];
    }
    const wRow = o * inF;
    for (let i = 0; i < inF; i += 1) weight[wRow + i] = Math.fround(weight[wRow + i] + scaling * row[i]);
  }
}

/** Writes one safetensors file with `file`'s tensors in order (names, shapes; dtypes per `dtypeOf`), streaming each tensor's bytes. */
export async function writeMergedFile(file: SafetensorsFile, target: string, dtypeOf: (entry: StEntry) => StEntry['dtype'], tensorBytes: (entry: StEntry) => Uint8Array): Promise<number> {
  const entries = [...file.entries.values()].sort((a, b) => a.offset - b.offset);
  const header: Record<string, unknown> = {};
  header.__metadata__ = { ...file.metadata, format: 'pt' };
  let offset = 0;
  for (const e of entries) {
    const dtype = dtypeOf(e);
    const length = (e.length / ST_DTYPE_BYTES[e.dtype]) * ST_DTYPE_BYTES[dtype];
    header[e.name] = { dtype, shape: e.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(target, 'w');
  try {
    const write = (bytes: Uint8Array) => {
      let offset = 0;
      while (offset < bytes.byteLength) offset += writeSync(fd, bytes, offset, bytes.byteLength - offset);
    };
    write(prefix);
    write(Buffer.from(json, 'utf8'));
    for (const entry of entries) {
      // Between tensors the event loop runs, so SIGINT/SIGTERM (the UI's Cancel) reach `cancelled` within a tensor.
      await new Promise((resolve) => setImmediate(resolve));
      write(tensorBytes(entry));
    }
  } finally {
    closeSync(fd);
  }
  return offset;
}

/** The copied index's metadata.total_size must follow the merged tensors' byte size when --dtype changed it. */
function setIndexTotalSize(path: string, totalSize: number): void {
  if (!existsSync(path)) return;
  const index = JSON.parse(readFileSync(path, 'utf8')) as { metadata?: Record<string, unknown> };
  index.metadata = { ...(index.metadata ?? {}), total_size: totalSize };
  writeFileSync(path, JSON.stringify(index, null, 2) + '\n');
}

/** config.json's torch_dtype (and `dtype`, where present) follow the merged weights' dtype. */
function setTorchDtype(path: string, dtype: string): void {
  if (!existsSync(path)) return;
  const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  config.torch_dtype = dtype;
  if ('dtype' in config) config.dtype = dtype; // newer transformers write `dtype` beside (or instead of) torch_dtype
  writeFileSync(path, JSON.stringify(config, null, 2) + '\n');
}

export async function mergeAdapter(options: MergeOptions): Promise<void> {
  const { modelDir, adapterDir, outDir } = options;
  if (existsSync(outDir) && readdirSync(outDir).length > 0) {
    throw new UserError(`the output folder ${outDir} is not empty`, { where: { file: outDir }, fix: 'choose a new or empty folder for the merged model' });
  }
  requireModelDir(modelDir);
  const adapter = readPeftAdapter(adapterDir);
  const weights = openWeights(modelDir);
  const companions = companionFiles(modelDir);
  // Check every adapted module before writing anything.
  for (const [baseName, lora] of adapter.weights) {
    const found = weights.entry(`${baseName}.weight`);
    if (!found) {
      throw new UserError(`the adapter adapts ${baseName}, which ${modelDir} does not have`, { where: { file: join(adapterDir, 'adapter_model.safetensors') }, fix: 'merge into the base model the adapter was trained on' });
    }
    const [outF, inF] = found.entry.shape;
    if (outF !== lora.out || inF !== lora.in) {
      throw new UserError(`${baseName}: the model's weight is [${outF}, ${inF}] but the adapter's B·A is [${lora.out}, ${lora.in}]`, { where: { file: join(adapterDir, 'adapter_model.safetensors') }, fix: 'merge into the base model the adapter was trained on' });
    }
    if (!['F32', 'F16', 'BF16'].includes(found.entry.dtype)) throw new UserError(`${baseName}.weight is ${found.entry.dtype}; only float weights can be merged`, { where: { file: found.file.path } });
  }
  for (const leftover of removeMergeLeftovers(dirname(outDir))) options.onLeftoverRemoved?.(leftover);
  const staging = join(dirname(outDir), `.${basename(outDir)}.merging-${process.pid}-${randomBytes(3).toString('hex')}`);
  makeDirs(staging);
  try {
    const total = weights.names().length;
    let done = 0;
    let totalSize = 0;
    for (const file of weights.files) {
      const dtypeOf = (entry: StEntry) => (options.dtype && options.dtype !== 'same' && FLOAT_DTYPES.has(entry.dtype) ? TARGET[options.dtype] : entry.dtype);
      totalSize += await writeMergedFile(file, join(staging, basename(file.path)), dtypeOf, (entry) => {
        if (options.cancelled?.()) throw new UserError('merge cancelled', { fix: 'run it again to merge' });
        const bytes = readTensorBytes(file, entry.name);
        const lora = entry.name.endsWith('.weight') ? adapter.weights.get(entry.name.slice(0, -'.weight'.length)) : undefined;
        done += 1;
        options.onProgress?.({ done, total, tensor: entry.name });
        const outDtype = dtypeOf(entry);
        if (!lora && outDtype === entry.dtype) return bytes;
        const values = decode(entry, bytes);
        if (lora?.m) mergeDora(values, lora.A, lora.B, lora.m, lora.r, lora.in, lora.out, adapter.scaling);
        else if (lora) addLoraDelta(values, lora.A, lora.B, lora.r, lora.in, lora.out, adapter.scaling);
        return encode(outDtype, values);
      });
    }
    for (const name of companions) copyFileSync(join(modelDir, name), join(staging, name));
    if (options.dtype && options.dtype !== 'same') setIndexTotalSize(join(staging, 'model.safetensors.index.json'), totalSize);
    if (options.dtype && options.dtype !== 'same') setTorchDtype(join(staging, 'config.json'), { f32: 'float32', f16: 'float16', bf16: 'bfloat16' }[options.dtype]);
    makeDirs(dirname(outDir));
    if (existsSync(outDir)) rmSync(outDir, { recursive: true }); // empty (checked above)
    commitFolderAtomic(staging, outDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
