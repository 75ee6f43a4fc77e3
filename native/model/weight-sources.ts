// A model folder's frozen weights as ONNX external data: byte ranges of its safetensors files, never read into memory.
import { relative } from 'node:path';
import type { WeightSource } from '../engine/onnx-export';
import type { WeightStore } from './safetensors';

/**
 * Weight sources pointing into a model folder's safetensors files (never read into memory). ONNX external data is
 * resolved relative to a folder ORT confines it to, so the graph is loaded from bytes with that folder set to the model's.
 */
export function storeWeightSources(store: WeightStore, modelDir: string): { weights: (name: string) => WeightSource; externalDataDir: string } {
  const weights = (name: string): WeightSource => {
    const found = store.entry(name);
    if (!found) throw new Error(`weight ${name} is missing from the model's safetensors`);
    const dtype = found.entry.dtype;
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16' && dtype !== 'F64') throw new Error(`weight ${name} has dtype ${dtype}, expected a float type`);
    return { kind: 'file', location: relative(modelDir, found.file.path), dtype, offset: found.entry.offset, length: found.entry.length };
  };
  return { weights, externalDataDir: modelDir };
}
