// A LISA run's released layers: a decoder layer that trained for a period and was released stays frozen in the model's
// stored dtype (issue 16), not as float32 twice (a host copy plus an in-memory initializer in every compiled program,
// 8 bytes a parameter and protobuf's 2 GB limit). On release its tensors are rounded to the dtypes the base's
// safetensors store them in — round-to-nearest-even, with merge's encoder, so the output folder (lisa-output.ts) holds
// exactly what the run trains on afterwards — and written atomically to <run>/lisa-weights/layer-<l>.safetensors, which
// the next programs read as ONNX external data the way they read the base's shards (memory-mapped, never copied).
// The folder is scratch: the checkpoints hold the same values (as float32, exactly), a resume writes it again from
// them, and the trainer removes it when it is disposed.
import { realpathSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { WeightSource } from '../engine/onnx-export';
import { encode } from '../model/merge';
import { makeDirs } from '../util/make-dirs';
import { openSafetensors, writeSafetensors, type StDType, type WeightStore } from '../model/safetensors';
import { storeWeightSources } from '../model/weight-sources';
import { weightValues } from '../model/weight-values';

/** The run's folder of released layers. */
export const LISA_WEIGHTS_DIR = 'lisa-weights';

/** The decoder layer a tensor belongs to, or undefined (embeddings, head, final norm). */
export function layerOf(name: string): number | undefined {
  const match = /^model\.layers\.(\d+)\./.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** The dtype a released tensor is held in: its stored one (float64, which no encoder writes, as float32: lossless here). */
export const releasedDtype = (stored: StDType): 'F32' | 'BF16' | 'F16' => (stored === 'BF16' || stored === 'F16' ? stored : 'F32');

export interface ReleasedLayers {
  /** The folder (created empty; a previous process's files are stale and removed). */
  readonly dir: string;
  /** The base model's frozen weights (its safetensors as external data). */
  base(name: string): WeightSource;
  /** The folder every source here is relative to: it holds the base's files and `dir`. */
  readonly externalDataDir: string;
  /** Rounds `tensors` (one layer's, float32 by HF name) to their stored dtypes and writes them; they are sources from now on. */
  release(layer: number, tensors: ReadonlyMap<string, Float32Array>): void;
  /** The external-data source of a released tensor, or undefined. */
  source(name: string): WeightSource | undefined;
  /** A released tensor's values as float32 (exactly its stored-dtype values), read from its file. */
  values(name: string): Float32Array;
  /** Every released tensor's name. */
  names(): string[];
  /** Reads layer `layer`'s tensors back as float32 and forgets them (the layer trains again). */
  take(layer: number): Map<string, Float32Array>;
  /** Removes the folder. */
  remove(): void;
}

/** The released layers of a run on the model in `modelDir` (`store`: its weights), kept in `dir` (made empty here). */
export function createReleasedLayers(store: WeightStore, modelDir: string, dir: string): ReleasedLayers {
  rmSync(dir, { recursive: true, force: true });
  makeDirs(dir);
  // ONNX Runtime reads external data from one folder only: the one holding the base's files and this folder.
  const { weights: base, externalDataDir } = storeWeightSources(store, modelDir, [dir]);
  const sources = new Map<string, Extract<WeightSource, { kind: 'file' }>>();
  const byLayer = new Map<number, string[]>();
  const api: ReleasedLayers = {
    dir, base, externalDataDir,
    release(layer, tensors) {
      const names = [...tensors.keys()];
      const file = join(dir, `layer-${layer}.safetensors`);
      writeSafetensors(file, names.map((name) => {
        const entry = store.entry(name)?.entry;
        if (!entry) throw new Error(`LISA: the model has no tensor ${name}`);
        return { name, dtype: releasedDtype(entry.dtype), shape: [...entry.shape], data: encode(releasedDtype(entry.dtype), tensors.get(name)!) };
      }));
      const written = openSafetensors(file);
      const location = relative(externalDataDir, realpathSync(file));
      for (const name of names) {
        const entry = written.entries.get(name)!;
        sources.set(name, { kind: 'file', dtype: releasedDtype(entry.dtype), location, offset: entry.offset, length: entry.length });
      }
      byLayer.set(layer, names);
    },
    source: (name) => sources.get(name),
    values(name) {
      const source = sources.get(name);
      if (!source) throw new Error(`LISA: ${name} is not a released tensor`);
      return weightValues(source, externalDataDir);
    },
    names: () => [...sources.keys()],
    take(layer) {
      const out = new Map((byLayer.get(layer) ?? []).map((name) => [name, api.values(name)]));
      for (const name of out.keys()) sources.delete(name);
      byLayer.delete(layer);
      return out;
    },
    remove() {
      sources.clear();
      byLayer.clear();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return api;
}
