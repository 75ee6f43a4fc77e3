// A LISA run's output: a complete Hugging Face model folder, written as merge writes one (native/model/merge.ts) —
// the base's tensor names, order, shards and dtypes, its config, tokenizer and other companion files copied — with
// every tensor that trained replaced by its trained values in the tensor's stored dtype (no tensor added or dropped:
// a tied model still has no lm_head.weight). It goes into a staging folder renamed into place when complete.
import { copyFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { commitFolderAtomic } from '../util/atomic-write';
import { makeDirs } from '../util/make-dirs';
import { readTensorBytes, type StEntry } from '../model/safetensors';
import { companionFiles, encode, writeMergedFile } from '../model/merge';
import type { ModelFolder } from '../model/model-folder';

/** The folder of a run that holds its trained model. */
export const LISA_MODEL_DIR = 'model';

/** Writes `model` with `trained` (float32 by HF name) into `outDir`; a previous folder there is replaced whole. */
export async function writeLisaModel(model: ModelFolder, trained: ReadonlyMap<string, Float32Array>, outDir: string): Promise<void> {
  for (const name of trained.keys()) if (!model.weights.entry(name)) throw new Error(`LISA output: the model has no tensor ${name}`);
  const staging = join(dirname(outDir), `.${basename(outDir)}.writing-${process.pid}-${randomBytes(3).toString('hex')}`);
  makeDirs(staging);
  try {
    for (const file of model.weights.files) {
      await writeMergedFile(file, join(staging, basename(file.path)), (entry: StEntry) => entry.dtype, (entry) => {
        const values = trained.get(entry.name);
        return values ? encode(entry.dtype, values) : readTensorBytes(file, entry.name);
      });
    }
    for (const name of companionFiles(model.dir)) copyFileSync(join(model.dir, name), join(staging, name));
    commitFolderAtomic(staging, outDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
