// The readers model-inspect.ts uses, bound to the model library: parseHfConfig (architecture checks, defaults),
// linearModules (the LoRA-targetable linears of a block) and the exact parameter count from the safetensors headers.
import { parseHfConfig, type ModelConfig } from '../../native/model/hf-config';
import { linearModules } from '../../native/model/linear-modules';
import { parameterCount } from '../../native/model/model-folder';
import { openWeights } from '../../native/model/safetensors';
import { modelParameterCount } from '../../native/train/estimate';
import type { InspectReaders } from './model-inspect';

export const modelReaders: InspectReaders = {
  parseConfig: parseHfConfig,
  linearModules,
  // Headers only (a few KiB per shard); a folder without weights still inspects, with the count from config.json.
  countParams(dir: string): number | undefined {
    try {
      return parameterCount(openWeights(dir));
    } catch {
      return undefined;
    }
  },
};

export const computeParams = (config: ModelConfig): number => modelParameterCount(config);
