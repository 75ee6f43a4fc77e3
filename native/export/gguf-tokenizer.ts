// The tokenizer of a Hugging Face folder as GGUF `tokenizer.ggml.*` metadata, the way llama.cpp's
// convert_hf_to_gguf.py writes it, from tokenizer.json (never a Python tokenizer):
// - byte-level BPE (Qwen, Llama 3, GPT-2 style): model "gpt2", tokens in their byte-level spelling, merges "a b",
//   and `pre` naming llama.cpp's pre-tokenizer regex (recognised from the Split regex in tokenizer.json);
// - SentencePiece-style BPE with byte fallback (Llama 2, Mistral, TinyLlama without tokenizer.model): model "llama",
//   tokens with "▁", <0xNN> byte tokens typed BYTE, and scores. convert_hf_to_gguf's LlamaHfVocab gives every token
//   -1000, which leaves llama.cpp's SPM tokenizer no merge order; here a token's score is minus the rank of the merge
//   that makes it, so llama.cpp merges in tokenizer.json's order (what HF's BPE does).
// Ids missing from the vocabulary up to config.json's vocab_size become "[PAD<id>]" UNUSED tokens (get_vocab_base).
// Special ids come from tokenizer_config.json, then config.json (gguf-py vocab.py SpecialVocab); add_bos_token is what
// our tokenizer does (tokenizer.json's post-processor or tokenizer_config.json's add_bos_token), so llama.cpp adds BOS
// exactly when transformers would.
import { UserError } from '../util/errors';
import type { ModelConfig } from '../model/hf-config';
import type { TextTokenizer } from '../model/tokenizer';
import type { GgufMetadata } from './gguf-writer';

/** gguf-py constants.py TokenType. */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** tokenizer.json Split regexes → llama.cpp's pre-tokenizer names (llama-vocab.cpp, convert_hf_to_gguf.py get_vocab_base_pre). */
const PRE_TOKENIZERS: Record<string, string> = {
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": 'qwen2',
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": 'llama-bpe',
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+": 'gpt-2',
};

type Json = Record<string, unknown>;
interface AddedToken { id: number; content: string; special?: boolean }

/** convert_hf_to_gguf.py does_token_look_special: added tokens spelled like control tokens are CONTROL. */
function looksSpecial(text: string): boolean {
  return ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(text)
    || (text.startsWith('<|') && text.endsWith('|>'))
    || (text.startsWith('<｜') && text.endsWith('｜>'))
    || (text.startsWith('<start_of_') || text.startsWith('<end_of_'));
}

function splitRegexes(pre: unknown): string[] {
  if (typeof pre !== 'object' || pre === null) return [];
  const p = pre as Json;
  if (p.type === 'Sequence' && Array.isArray(p.pretokenizers)) return p.pretokenizers.flatMap(splitRegexes);
  if (p.type === 'Split' && typeof p.pattern === 'object' && p.pattern !== null && typeof (p.pattern as Json).Regex === 'string') return [(p.pattern as Json).Regex as string];
  // A bare ByteLevel with use_regex is GPT-2's own pattern.
  if (p.type === 'ByteLevel' && p.use_regex === true) return ["'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"];
  return [];
}

function isByteLevel(tokenizerJson: Json): boolean {
  const has = (v: unknown): boolean => typeof v === 'object' && v !== null
    && ((v as Json).type === 'ByteLevel' || (Array.isArray((v as Json).pretokenizers) && ((v as Json).pretokenizers as unknown[]).some(has)));
  return has(tokenizerJson.pre_tokenizer) || has(tokenizerJson.decoder);
}

export interface TokenizerExport {
  /** Lines for the user (e.g. an unrecognised pre-tokenizer). */
  notes: string[];
}

/** Adds the tokenizer.ggml.* keys for `tokenizerJson` (parsed tokenizer.json) to `meta`. */
export function addTokenizerMetadata(meta: GgufMetadata, tokenizerJson: Json, config: ModelConfig, tokenizer: TextTokenizer, file: string): TokenizerExport {
  const model = tokenizerJson.model as Json | undefined;
  if (!model || model.type !== 'BPE' || typeof model.vocab !== 'object' || !Array.isArray(model.merges)) {
    throw new UserError(`GGUF export supports BPE tokenizers (tokenizer.json "model.type": "BPE"), got ${JSON.stringify(model?.type)}`, {
      where: { file, field: 'model.type' }, fix: 'export a model with a BPE tokenizer.json (Llama, Mistral, Qwen), or convert with llama.cpp convert_hf_to_gguf.py',
    });
  }
  const notes: string[] = [];
  const byteLevel = isByteLevel(tokenizerJson);
  if (!byteLevel && model.byte_fallback !== true) {
    throw new UserError('tokenizer.json is neither byte-level BPE nor BPE with byte_fallback', { where: { file, field: 'model' }, fix: 'convert with llama.cpp convert_hf_to_gguf.py' });
  }
  const vocab = model.vocab as Record<string, number>;
  const added = (Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : []) as AddedToken[];
  const addedById = new Map(added.map((t) => [t.id, t]));
  const byId = new Map<number, string>();
  for (const [text, id] of Object.entries(vocab)) byId.set(id, text);
  for (const t of added) byId.set(t.id, t.content);
  // token_embd has config.vocab_size rows; llama.cpp wants one token per row (loadModelFolder checked none is beyond).
  const count = config.vocab_size;
  const merges = (model.merges as (string | [string, string])[]).map((m) => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`));
  // SPM-style scores: the token made by merge i scores -i; base tokens (never made by a merge) score 0.
  const mergeRank = new Map<string, number>();
  if (!byteLevel) merges.forEach((m, i) => { const t = m.replace(' ', ''); if (!mergeRank.has(t)) mergeRank.set(t, i); });

  const tokens: string[] = [];
  const types: number[] = [];
  const scores: number[] = [];
  for (let id = 0; id < count; id++) {
    const text = byId.get(id);
    const addedToken = addedById.get(id);
    if (text === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TOKEN_TYPE.UNUSED);
      scores.push(-1000);
    } else if (addedToken) {
      tokens.push(text);
      types.push(addedToken.special || looksSpecial(text) ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED);
      scores.push(-1000);
    } else if (!byteLevel && /^<0x[0-9A-Fa-f]{2}>$/.test(text)) {
      tokens.push(text);
      types.push(TOKEN_TYPE.BYTE);
      scores.push(0);
    } else if (!byteLevel && text === model.unk_token) {
      tokens.push(text);
      types.push(TOKEN_TYPE.UNKNOWN);
      scores.push(0);
    } else {
      tokens.push(text);
      types.push(TOKEN_TYPE.NORMAL);
      scores.push(-(mergeRank.get(text) ?? -1) - 1);
    }
  }

  if (byteLevel) {
    meta.string('tokenizer.ggml.model', 'gpt2');
    const regexes = splitRegexes(tokenizerJson.pre_tokenizer);
    const pre = regexes.map((r) => PRE_TOKENIZERS[r]).find((name) => name !== undefined);
    if (!pre) notes.push(`note: tokenizer.json's pre-tokenizer is not one llama.cpp names here (qwen2, llama-bpe, gpt-2); wrote "default", so llama.cpp may split some text differently than transformers`);
    meta.string('tokenizer.ggml.pre', pre ?? 'default');
  } else {
    meta.string('tokenizer.ggml.model', 'llama');
    meta.string('tokenizer.ggml.pre', 'default');
  }
  meta.array('tokenizer.ggml.tokens', 'STRING', tokens);
  if (!byteLevel) meta.array('tokenizer.ggml.scores', 'FLOAT32', scores);
  meta.array('tokenizer.ggml.token_type', 'INT32', types);
  if (byteLevel) meta.array('tokenizer.ggml.merges', 'STRING', merges);

  const firstEos = Array.isArray(config.eos_token_id) ? config.eos_token_id[0] : config.eos_token_id;
  const bos = tokenizer.bosId ?? config.bos_token_id;
  const eos = tokenizer.eosId ?? firstEos;
  if (bos !== undefined) meta.u32('tokenizer.ggml.bos_token_id', bos);
  if (eos !== undefined) meta.u32('tokenizer.ggml.eos_token_id', eos);
  const unk = typeof model.unk_token === 'string' ? vocab[model.unk_token] : undefined;
  if (unk !== undefined) meta.u32('tokenizer.ggml.unknown_token_id', unk);
  meta.u32('tokenizer.ggml.padding_token_id', tokenizer.padId);
  const addsBos = tokenizer.bosId !== undefined && tokenizer.encode('a', true)[0] === tokenizer.bosId;
  meta.bool('tokenizer.ggml.add_bos_token', addsBos);
  meta.bool('tokenizer.ggml.add_eos_token', false);
  if (tokenizer.chatTemplate !== undefined) meta.string('tokenizer.chat_template', tokenizer.chatTemplate);
  else notes.push('note: the model has no chat template; llama.cpp chat front-ends will fall back to their default');
  return { notes };
}
