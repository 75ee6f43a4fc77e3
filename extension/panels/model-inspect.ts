// Inspects a model folder for the training panel: reads config.json through the model library's parser and lists
// the linear modules LoRA can target, with their shapes, plus the exact parameter count from the safetensors
// headers when a reader is given. The readers are injected so this file is tested without model files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../../native/model/hf-config';
import { UserError } from '../../native/util/errors';
import { checkModelFileLinks } from '../../native/model/folder-links';
import type { ModelInfo, ModuleInfo } from '../../webview/protocol';

export interface InspectReaders {
  /** native/model/hf-config.ts parseHfConfig. */
  parseConfig(json: unknown, file: string): ModelConfig;
  /** native/model/linear-modules.ts linearModules. */
  linearModules(config: ModelConfig): { name: string; path: (layer: number) => string; in: number; out: number }[];
  /** Exact parameter count (sum over the safetensors shapes), or undefined to compute it from the config. */
  countParams?(dir: string): number | undefined;
}

const ATTENTION = /(^|\.)(self_attn|attn|attention)\./;

export function inspectModel(dir: string, readers: InspectReaders, computeParams: (c: ModelConfig) => number): ModelInfo {
  const file = join(dir, 'config.json');
  checkModelFileLinks(dir, [file]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UserError('no config.json in this folder', { where: { file: dir }, fix: 'choose the Hugging Face model folder that holds config.json, tokenizer.json and *.safetensors' });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(`not valid JSON: ${(error as Error).message}`, { where: { file }, fix: 'restore config.json from the model repository' });
  }
  const config = readers.parseConfig(json, file);
  const modules: ModuleInfo[] = readers.linearModules(config).map((m) => {
    const first = m.path(0);
    return {
      name: m.name, in: m.in, out: m.out,
      // The layer index is the path part that differs between layer 0 and layer 1.
      pathTemplate: layerTemplate(first, m.path(1)),
      group: ATTENTION.test(first) ? 'attention' : 'mlp',
    };
  });
  const shape: ModelInfo['shape'] = {
    vocab_size: config.vocab_size, hidden_size: config.hidden_size, intermediate_size: config.intermediate_size,
    num_hidden_layers: config.num_hidden_layers, num_attention_heads: config.num_attention_heads, num_key_value_heads: config.num_key_value_heads,
    head_dim: config.head_dim, tie_word_embeddings: config.tie_word_embeddings, attention_bias: config.attention_bias, qk_norm: config.qk_norm,
    torch_dtype: config.torch_dtype,
  };
  return {
    dir, architecture: config.architecture, modelType: config.model_type, dtype: config.torch_dtype,
    totalParams: readers.countParams?.(dir) ?? computeParams(config),
    layers: config.num_hidden_layers, hiddenSize: config.hidden_size, vocabSize: config.vocab_size, maxPositions: config.max_position_embeddings,
    shape, modules, config,
  };
}

export function layerTemplate(layer0: string, layer1: string): string {
  const a = layer0.split('.');
  const b = layer1.split('.');
  if (a.length !== b.length) return layer0;
  return a.map((part, i) => (part !== b[i] && part === '0' ? '{layer}' : part)).join('.');
}
