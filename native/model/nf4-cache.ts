// The NF4 copy of a model folder (QLoRA): made once, tensor by tensor (never the whole float model in memory), into
// a user cache folder, and reused by later runs. One safetensors file holds every decoder linear weight as its NF4
// codes (`<name>`, U8 [out, in/2]) and block absmax (`<name>.absmax`, F32 [out·in/64]), and every other tensor as
// stored (embeddings, norms, head, biases): the graph's external data all lives in the cache folder, the one folder
// ONNX Runtime is told to read from. A manifest written after the data records the file's SHA-256; a cache whose
// file does not match it (torn, edited, truncated) is rebuilt, never used.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync, fsyncSync } from 'node:fs';
import { makeDirs } from '../util/make-dirs';
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { NF4_BLOCK, nf4ShapeProblem, nf4StoredShapes, quantizeNf4 } from '../engine/nf4';
import type { WeightSource } from '../engine/onnx-export';
import { writeFileAtomic } from '../util/atomic-write';
import { UserError } from '../util/errors';
import { linearModules } from './linear-modules';
import type { ModelFolder } from './model-folder';
import { openSafetensors, readTensorF32, ST_DTYPE_BYTES, type StDType } from './safetensors';

const FORMAT = 'lora-studio-nf4-v1';
const FILE = 'model.safetensors';
const MANIFEST = 'manifest.json';

/** Where quantized models are cached: $LORA_STUDIO_CACHE, else $XDG_CACHE_HOME/lora-studio, else ~/.cache/lora-studio. */
export function userCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LORA_STUDIO_CACHE) return env.LORA_STUDIO_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lora-studio');
}

/** The decoder linear weights NF4 replaces (not embeddings, norms, biases or the LM head). */
export function nf4WeightNames(model: Pick<ModelFolder, 'config'>): Set<string> {
  const names = new Set<string>();
  for (const m of linearModules(model.config)) for (let l = 0; l < model.config.num_hidden_layers; l++) names.add(`${m.path(l)}.weight`);
  return names;
}

/** Cache key: the config's bytes and each weight file's name, size and modification time. */
export function nf4CacheKey(model: Pick<ModelFolder, 'dir' | 'weights'>): string {
  const hash = createHash('sha256').update(FORMAT).update(readFileSync(join(model.dir, 'config.json')));
  for (const file of model.weights.files) {
    const stat = statSync(file.path);
    hash.update(`\0${basename(file.path)}\0${stat.size}\0${stat.mtimeMs}`);
  }
  return hash.digest('hex').slice(0, 24);
}

export interface Nf4Cache {
  dir: string;
  /** Bytes of the quantized file (what the frozen weights now take). */
  bytes: number;
  /** Whether this call made it (false: reused). */
  made: boolean;
  /** Why an existing cache was not used, when it was rebuilt. */
  rebuiltBecause?: string;
  /** Weight sources for the engine: external data in `dir`. */
  weights: (name: string) => WeightSource;
}

export interface Nf4CacheOptions {
  root?: string;
  /** Called after each tensor: tensors done, of how many, and its name. */
  onProgress?: (done: number, total: number, name: string) => void;
}

interface Planned {
  name: string;
  quantize: boolean;
  dtype: StDType;
  shape: number[];
}

/** The NF4 cache of `model`, made (or remade, if stale or corrupt) when needed. */
export function ensureNf4Cache(model: ModelFolder, options: Nf4CacheOptions = {}): Nf4Cache {
  const stages = cacheStages(model, options);
  for (;;) {
    const next = stages.next();
    if (next.done) return next.value;
  }
}

/**
 * ensureNf4Cache with `stopPoint` awaited between tensors and between 16 MiB pieces of the checksum: quantizing a
 * large model takes minutes, and a run's start must stop on SIGINT/SIGTERM. What a stop interrupts is removed (the
 * temp file); a cache is only ever used once its manifest says it is complete.
 */
export async function ensureNf4CacheStopping(model: ModelFolder, options: Nf4CacheOptions & { stopPoint: () => Promise<void> }): Promise<Nf4Cache> {
  const stages = cacheStages(model, options);
  for (;;) {
    try {
      await options.stopPoint();
    } catch (error) {
      stages.throw(error); // the stage cleans up where it stands and rethrows
      throw error;
    }
    const next = stages.next();
    if (next.done) return next.value;
  }
}

/** The cache's work in stages: a yield between tensors and between pieces of the checksum. */
function* cacheStages(model: ModelFolder, options: Nf4CacheOptions): Generator<void, Nf4Cache> {
  const dir = join(options.root ?? userCacheRoot(), 'nf4', nf4CacheKey(model));
  const problem = yield* checkCache(dir);
  let made = false;
  if (problem !== undefined) {
    yield* buildCache(model, dir, options.onProgress);
    made = true;
  }
  const file = openSafetensors(join(dir, FILE));
  const weights = (name: string): WeightSource => {
    const entry = file.entries.get(name);
    if (!entry) throw new Error(`weight ${name} is missing from the NF4 cache ${dir}`);
    const range = (e: { offset: number; length: number }) => ({ location: FILE, offset: e.offset, length: e.length });
    if (entry.dtype === 'U8') {
      const absmax = file.entries.get(`${name}.absmax`);
      if (!absmax) throw new Error(`weight ${name} has no absmax in the NF4 cache ${dir}`);
      return { kind: 'nf4', codes: range(entry), absmax: range(absmax) };
    }
    if (entry.dtype !== 'F32' && entry.dtype !== 'F16' && entry.dtype !== 'BF16' && entry.dtype !== 'F64') throw new Error(`weight ${name} has dtype ${entry.dtype} in ${dir}`);
    return { kind: 'file', dtype: entry.dtype, ...range(entry) };
  };
  return { dir, bytes: statSync(join(dir, FILE)).size, made, rebuiltBecause: made && problem ? problem : undefined, weights };
}

/** undefined when the cache in `dir` is complete and intact; else why not ('' when there is none yet). */
function* checkCache(dir: string): Generator<void, string | undefined> {
  const manifestPath = join(dir, MANIFEST), filePath = join(dir, FILE);
  if (!existsSync(manifestPath) || !existsSync(filePath)) return '';
  let manifest: { format?: string; sha256?: string; bytes?: number };
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as typeof manifest;
  } catch {
    return 'its manifest is not valid JSON';
  }
  if (manifest.format !== FORMAT) return `it has format ${JSON.stringify(manifest.format)}, not ${FORMAT}`;
  const size = statSync(filePath).size;
  if (manifest.bytes !== size) return `its file has ${size} bytes, the manifest says ${manifest.bytes}`;
  if ((yield* sha256File(filePath)) !== manifest.sha256) return 'its checksum does not match (the file was damaged or changed)';
  return undefined;
}

function* sha256File(path: string): Generator<void, string> {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(16 * 2 ** 20);
    let read: number;
    while ((read = readSync(fd, buffer, 0, buffer.length, null)) > 0) {
      hash.update(buffer.subarray(0, read));
      yield;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** Copies bytes of a file in 64 MiB pieces (an embedding table can be gigabytes). */
function copyRange(path: string, offset: number, length: number, write: (bytes: Uint8Array) => void): void {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(length, 64 * 2 ** 20));
    for (let done = 0; done < length;) {
      const read = readSync(fd, buffer, 0, Math.min(buffer.length, length - done), offset + done);
      if (read === 0) throw new Error(`${path} ended at byte ${offset + done}, inside a tensor`);
      write(buffer.subarray(0, read));
      done += read;
    }
  } finally {
    closeSync(fd);
  }
}

function* buildCache(model: ModelFolder, dir: string, onProgress?: Nf4CacheOptions['onProgress']): Generator<void, void> {
  const quantized = nf4WeightNames(model);
  const plan: Planned[] = [];
  for (const file of model.weights.files) {
    for (const entry of file.entries.values()) {
      const quantize = quantized.has(entry.name);
      if (quantize && !['F32', 'F16', 'BF16', 'F64'].includes(entry.dtype)) {
        throw new UserError(`cannot quantize ${entry.name} to NF4: it is stored as ${entry.dtype}, not a floating-point type`, {
          where: { file: file.path }, fix: 'NF4 quantizes float32/float16/bfloat16 weights; use a model folder with unquantized weights, or --quantization none',
        });
      }
      const shapeProblem = quantize ? nf4ShapeProblem(entry.shape) : undefined;
      if (shapeProblem) {
        throw new UserError(`cannot quantize ${entry.name} to NF4: ${shapeProblem}`, {
          where: { file: file.path }, fix: 'NF4 needs linear weights whose rows are a multiple of 64 values; train this model with --quantization none',
        });
      }
      plan.push({ name: entry.name, quantize, dtype: entry.dtype, shape: entry.shape });
    }
  }
  // The header first (every size is known from the shapes), then each tensor as it is made.
  const header: Record<string, unknown> = { __metadata__: { format: FORMAT, source: model.dir, block_size: String(NF4_BLOCK) } };
  let offset = 0;
  const put = (name: string, dtype: StDType, shape: number[]) => {
    const length = shape.reduce((a, b) => a * b, 1) * ST_DTYPE_BYTES[dtype];
    header[name] = { dtype, shape, data_offsets: [offset, offset + length] };
    offset += length;
  };
  for (const t of plan) {
    if (!t.quantize) put(t.name, t.dtype, t.shape);
    else {
      const stored = nf4StoredShapes(t.shape);
      put(t.name, 'U8', stored.codes);
      put(`${t.name}.absmax`, 'F32', stored.absmax);
    }
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));

  makeDirs(dir);
  rmSync(join(dir, MANIFEST), { force: true }); // no manifest, no use: a crash below leaves a cache that is rebuilt
  const temp = join(dir, `.${FILE}.${process.pid}.tmp`);
  const fd = openSync(temp, 'w');
  const hash = createHash('sha256');
  const write = (bytes: Uint8Array) => {
    hash.update(bytes);
    let done = 0;
    while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
  };
  try {
    write(prefix);
    write(Buffer.from(json, 'utf8'));
    for (const [i, t] of plan.entries()) {
      yield;
      const found = model.weights.entry(t.name)!;
      if (!t.quantize) copyRange(found.file.path, found.entry.offset, found.entry.length, write);
      else {
        const q = quantizeNf4(readTensorF32(found.file, t.name), t.shape, t.name);
        write(q.codes);
        write(new Uint8Array(q.absmax.buffer, q.absmax.byteOffset, q.absmax.byteLength));
      }
      onProgress?.(i + 1, plan.length, t.name);
    }
    fsyncSync(fd);
    const bytes = fstatSync(fd).size;
    closeSync(fd);
    renameSync(temp, join(dir, FILE));
    writeFileAtomic(join(dir, MANIFEST), `${JSON.stringify({ format: FORMAT, source: model.dir, sha256: hash.digest('hex'), bytes }, null, 2)}\n`);
  } catch (error) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(temp, { force: true });
    throw error;
  }
}
