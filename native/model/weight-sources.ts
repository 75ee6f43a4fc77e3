// A model folder's frozen weights as ONNX external data: byte ranges of its safetensors files, never read into memory.
import { realpathSync } from 'node:fs';
import { dirname, parse, relative, sep } from 'node:path';
import type { WeightSource } from '../engine/onnx-export';
import type { WeightStore } from './safetensors';

/** The deepest folder holding every one of `dirs` (absolute, real paths). */
function commonFolder(dirs: string[]): string {
  const parts = dirs.map((dir) => dir.split(sep));
  let common = parts[0];
  for (const other of parts.slice(1)) {
    let k = 0;
    while (k < common.length && k < other.length && common[k] === other[k]) k++;
    common = common.slice(0, k);
  }
  return common.length <= 1 ? parse(dirs[0]).root : common.join(sep);
}

/**
 * Weight sources pointing into a model folder's safetensors files (never read into memory). ONNX external data is
 * resolved relative to a folder ORT confines it to, so the graph is loaded from bytes with that folder set. ORT
 * resolves links before it checks (weakly_canonical), and a Hugging Face cache snapshot's shards are links to
 * ../../blobs: so the folder is the deepest one holding the real files of the model folder and of every shard (the
 * model folder itself when nothing is linked out of it; links were vetted when the folder was opened, folder-links.ts),
 * and each location is the shard's real path from there. `alsoDirs` (existing folders) are folders the graph's
 * other external data lives in (a LISA run's released layers, native/train/lisa-released.ts): the folder holds them too.
 */
export function storeWeightSources(store: WeightStore, modelDir: string, alsoDirs: string[] = []): { weights: (name: string) => WeightSource; externalDataDir: string } {
  const real = new Map(store.files.map((file) => [file.path, realpathSync(file.path)]));
  const externalDataDir = commonFolder([realpathSync(modelDir), ...[...real.values()].map(dirname), ...alsoDirs.map((dir) => realpathSync(dir))]);
  const weights = (name: string): WeightSource => {
    const found = store.entry(name);
    if (!found) throw new Error(`weight ${name} is missing from the model's safetensors`);
    const dtype = found.entry.dtype;
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16' && dtype !== 'F64') throw new Error(`weight ${name} has dtype ${dtype}, expected a float type`);
    return { kind: 'file', location: relative(externalDataDir, real.get(found.file.path)!), dtype, offset: found.entry.offset, length: found.entry.length };
  };
  return { weights, externalDataDir };
}
