// Greedy generation two ways for the GGUF checks: real llama.cpp through node-llama-cpp (its prebuilt CPU binary from
// @node-llama-cpp/linux-x64: gpu off, build 'never' and no download, so a test never compiles or fetches anything),
// and our own KV-cache decoder (native/model/generate.ts) with each step's top-2 logit margin.
import { KvDecoder, loadAdapterForDecoding, sampleToken } from '../../../../native/model/generate';
import { loadModelFolder } from '../../../../native/model/model-folder';
import { storeWeightSources } from '../../../../native/model/weight-sources';

let llamaInstance: ReturnType<typeof load> | undefined;
async function load() {
  // node-llama-cpp is ESM-only; a dynamic import loads it from this CommonJS test.
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  return getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, logLevel: LlamaLogLevel.error });
}

/** The llama.cpp binding, loaded once per process. */
export function loadLlama(): ReturnType<typeof load> {
  llamaInstance ??= load();
  return llamaInstance;
}

/** Greedy ids from llama.cpp for `prompt`, the base GGUF optionally with a LoRA GGUF applied at scale 1. */
export async function llamaCppGreedy(modelPath: string, prompt: number[], count: number, loraPath?: string): Promise<number[]> {
  const llama = await loadLlama();
  const model = await llama.loadModel({ modelPath });
  try {
    const context = await model.createContext({
      contextSize: 64, batchSize: 64, threads: 1,
      ...(loraPath ? { lora: { adapters: [{ filePath: loraPath, scale: 1 }] } } : {}),
    });
    try {
      const out: number[] = [];
      // yieldEogToken: an end-of-generation id (<|im_end|>, …) is yielded and decoding goes on, as ours does with no stop ids.
      for await (const token of context.getSequence().evaluate(prompt.map((t) => t as never), { temperature: 0, yieldEogToken: true })) {
        out.push(Number(token));
        if (out.length >= count) break;
      }
      return out;
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

export interface OurGreedy {
  ids: number[];
  /** Per step: best logit minus the second best (how clearly greedy picks its token). */
  margins: number[];
}

/** Our greedy ids (float32 compute, as `lora-studio generate`) with the top-2 margin of every step. */
export async function ourGreedy(modelDir: string, prompt: number[], count: number, adapterDir?: string): Promise<OurGreedy> {
  const folder = loadModelFolder(modelDir);
  const lora = adapterDir ? loadAdapterForDecoding(adapterDir, folder.weights) : undefined;
  const spec = { config: folder.config, ...storeWeightSources(folder.weights, modelDir), lora, dtype: 'float32' as const };
  const decoder = await KvDecoder.create(spec, prompt.length, prompt.length + count);
  const ids: number[] = [];
  const margins: number[] = [];
  try {
    let logits = await decoder.prefill(prompt);
    for (let n = 0; n < count; n++) {
      const id = sampleToken(logits, 0, 1, () => 0);
      let second = -Infinity;
      for (let i = 0; i < logits.length; i++) if (i !== id && logits[i] > second) second = logits[i];
      ids.push(id);
      margins.push(logits[id] - second);
      if (n + 1 < count) logits = await decoder.next(id);
    }
  } finally {
    await decoder.dispose();
  }
  return { ids, margins };
}

/**
 * The f16 rule: llama.cpp's ids equal ours, except that from the first step where our top-2 logits are within
 * `tolerance` the two may part (a tie llama.cpp's f16 arithmetic may break the other way); the ids after it are not
 * compared. Returns the steps compared, or a description of the first real mismatch.
 */
export function compareGreedy(ours: OurGreedy, theirs: number[], tolerance = 1e-3): { compared: number; mismatch?: string } {
  for (let n = 0; n < ours.ids.length; n++) {
    if (ours.ids[n] === theirs[n]) continue;
    if (ours.margins[n] < tolerance) return { compared: n };
    return { compared: n, mismatch: `step ${n}: llama.cpp ${theirs[n]}, ours ${ours.ids[n]} (our top-2 margin ${ours.margins[n].toFixed(4)}); ours ${ours.ids.join(' ')}, llama.cpp ${theirs.join(' ')}` };
  }
  return { compared: ours.ids.length };
}
