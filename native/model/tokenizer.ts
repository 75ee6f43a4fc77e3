// The model's tokenizer: tokenizer.json through @huggingface/tokenizers, special tokens and the chat template from
// tokenizer_config.json (or chat_template.jinja) rendered with @huggingface/jinja — the same files transformers reads.
//
// A chat template is code from the model folder: `{% for i in range(1000000000) %}` exhausts memory and nested loops
// never end. So callers render it only inside a template worker (native/data/template-pool.ts: a worker thread with
// a heap limit and a wall-clock watchdog), never on a thread that must survive it (the CLI's, the training worker's,
// the extension host's). applyChatTemplate itself bounds only the output's length.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { UserError } from '../util/errors';
import { speedUpTokenizer } from './tokenizer-speedups';
import { fastEncoder } from './fast-encode';
import type { ChatMessage } from '../data/records';

export type { ChatMessage };

export interface TextTokenizer {
  /** Token ids of `text`; special-token strings in it (e.g. `<|im_start|>`) become their ids. */
  encode(text: string, addSpecialTokens?: boolean): number[];
  decode(ids: number[], skipSpecial?: boolean): string;
  /** One more than the largest id the tokenizer can produce (base vocabulary plus added tokens). */
  vocabSize: number;
  bosId?: number;
  eosId?: number;
  padId: number;
  /** Text of the special tokens (used to keep BOS from being doubled and to find turn ends). */
  bosToken?: string;
  eosToken?: string;
  chatTemplate?: string;
  /** The file the chat template came from (tokenizer_config.json or chat_template.jinja), for messages. */
  chatTemplateFile?: string;
  /** True when encode(text, true) puts BOS in front (the post-processor or add_bos_token does). */
  addsBos: boolean;
  /** What a template worker needs to build the same tokenizer (template-pool.ts). */
  files: TokenizerFiles;
  /** Renders the chat template, unbounded in time and memory: call it only in a template worker (see the header); `variables` are extra template variables such as `enable_thinking` (as transformers' kwargs). */
  applyChatTemplate(messages: ChatMessage[], addGenerationPrompt: boolean, variables?: ChatTemplateVariables): string;
}

/** Template variables beyond messages and special tokens that the product sets. */
export interface ChatTemplateVariables {
  /** Qwen3-style templates: false opens the reply with an empty think block (`<think>\n\n</think>\n\n`). */
  enable_thinking?: boolean;
}

type Json = Record<string, unknown>;

/** The parsed tokenizer files and the chat template already picked, so a worker builds the tokenizer without disk. */
export interface TokenizerFiles {
  tokenizerJson: Json;
  tokenizerConfig: Json;
  dir: string;
  chatTemplate?: { text: string; file: string };
}

function readJson(file: string, what: string): Json {
  if (!existsSync(file)) {
    throw new UserError(`${what} not found`, { where: { file }, fix: 'copy the tokenizer files of the model into its folder (from the same Hugging Face repository as the weights)' });
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(`is not valid JSON (${error instanceof Error ? error.message : String(error)})`, { where: { file }, fix: 'download the file again' });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError('must hold a JSON object', { where: { file }, fix: 'download the file again' });
  return value as Json;
}

/** tokenizer_config.json spells special tokens as a string or as an AddedToken object `{ content, … }`. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return undefined;
}

/** `chat_template` is a string or a list of `{ name, template }` (the one named "default" is used). */
function pickChatTemplate(config: Json, dir: string, file: string): { text: string; file: string } | undefined {
  const raw = config.chat_template;
  if (typeof raw === 'string') return { text: raw, file };
  if (Array.isArray(raw)) {
    const named = raw.filter((t): t is { name: string; template: string } =>
      typeof t === 'object' && t !== null && typeof (t as Json).name === 'string' && typeof (t as Json).template === 'string');
    const chosen = named.find((t) => t.name === 'default') ?? named[0];
    if (!chosen) throw new UserError('is a list without a usable { "name", "template" } entry', { where: { file, field: 'chat_template' }, fix: 'fix chat_template or remove it' });
    return { text: chosen.template, file };
  }
  if (raw !== undefined && raw !== null) throw new UserError('must be a string or a list of templates', { where: { file, field: 'chat_template' }, fix: 'fix chat_template or remove it' });
  // transformers ≥ 4.43 may save the template beside the config instead.
  const jinjaFile = join(dir, 'chat_template.jinja');
  return existsSync(jinjaFile) ? { text: readFileSync(jinjaFile, 'utf8'), file: jinjaFile } : undefined;
}

/** Builds a TextTokenizer from parsed tokenizer.json and tokenizer_config.json (`dir` locates chat_template.jinja). */
export function createTokenizer(tokenizerJson: Json, tokenizerConfig: Json, dir: string): TextTokenizer {
  const chatTemplate = pickChatTemplate(tokenizerConfig, dir, join(dir, 'tokenizer_config.json'));
  return tokenizerFromFiles({ tokenizerJson, tokenizerConfig, dir, chatTemplate });
}

/** Builds a TextTokenizer from files already read (a template worker rebuilds the main thread's tokenizer so). */
export function tokenizerFromFiles(files: TokenizerFiles): TextTokenizer {
  const { tokenizerJson, tokenizerConfig, dir } = files;
  const configFile = join(dir, 'tokenizer_config.json');
  let inner: Tokenizer;
  try {
    inner = new Tokenizer(tokenizerJson, tokenizerConfig);
  } catch (error) {
    throw new UserError(`cannot be loaded: ${error instanceof Error ? error.message : String(error)}`, {
      where: { file: join(dir, 'tokenizer.json') }, fix: 'use the tokenizer.json of the model (written by the tokenizers library)',
    });
  }
  // The fast encoder caches whole pieces; the library's speedups (their own word caches) serve the tokenizers it cannot.
  const fast = fastEncoder(inner);
  if (!fast) speedUpTokenizer(inner);
  const idOf = (field: string): { text?: string; id?: number } => {
    const text = tokenText(tokenizerConfig[field]);
    if (text === undefined) return {};
    const id = inner.token_to_id(text);
    if (id === undefined) throw new UserError(`"${text}" is not a token of tokenizer.json`, { where: { file: configFile, field }, fix: 'use the tokenizer files of one model together' });
    return { text, id };
  };
  const bos = idOf('bos_token');
  const eos = idOf('eos_token');
  const pad = idOf('pad_token');
  let vocabSize = 0;
  for (const id of inner.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);
  const chatTemplate = files.chatTemplate?.text;
  const templateFile = files.chatTemplate?.file ?? configFile;
  let compiled: Template | undefined;
  const specials = {
    bos_token: bos.text ?? '', eos_token: eos.text ?? '', pad_token: pad.text ?? '', unk_token: tokenText(tokenizerConfig.unk_token) ?? '',
  };
  // transformers honours add_bos_token even when tokenizer.json's post-processor does not add BOS (Llama 2-era
  // files); tokenizers.js only runs the post-processor, so BOS is added here in that case.
  const forceBos = tokenizerConfig.add_bos_token === true && bos.id !== undefined && !inner.encode('', { add_special_tokens: true }).ids.includes(bos.id);
  const encode = (text: string, addSpecialTokens = true): number[] => {
    if (!addSpecialTokens && fast) return fast(text);
    const ids = inner.encode(text, { add_special_tokens: addSpecialTokens }).ids;
    return addSpecialTokens && forceBos && ids[0] !== bos.id ? [bos.id!, ...ids] : ids;
  };
  return {
    addsBos: bos.id !== undefined && encode('', true).includes(bos.id),
    files,
    chatTemplateFile: files.chatTemplate?.file,
    encode,
    decode: (ids, skipSpecial = false) => inner.decode(ids, { skip_special_tokens: skipSpecial }),
    vocabSize,
    bosId: bos.id,
    eosId: eos.id,
    // Without a pad token, padding uses EOS (its positions are masked out anyway), else id 0.
    padId: pad.id ?? eos.id ?? 0,
    bosToken: bos.text,
    eosToken: eos.text,
    chatTemplate,
    applyChatTemplate(messages, addGenerationPrompt, variables = {}) {
      if (chatTemplate === undefined) throw new UserError('the model has no chat template', { where: { file: configFile, field: 'chat_template' }, fix: 'use alpaca records, or a model whose tokenizer_config.json has a chat_template' });
      const where = templateFile === configFile ? { file: configFile, field: 'chat_template' } : { file: templateFile };
      const limit = outputLimit(messages);
      const tooLong = () => new UserError(`the chat template's output is longer than ${limit.toLocaleString('en-US')} characters (1 MiB plus 8 per character of the messages)`, {
        where, fix: 'fix the chat template (or restore it from the model\'s repository); without a chat_template, alpaca records train with the Alpaca prompt', code: 'template-limit',
      });
      let text: string;
      try {
        compiled ??= new Template(chatTemplate);
        text = compiled.render({ ...variables, messages, add_generation_prompt: addGenerationPrompt, ...specials });
      } catch (error) {
        // V8's string length limit: a template that doubles a string until it cannot.
        if (error instanceof RangeError && /string length/i.test(error.message)) throw tooLong();
        throw new UserError(`chat template failed: ${error instanceof Error ? error.message : String(error)}`, { where, fix: 'check the records (roles, order) or fix the chat template' });
      }
      if (text.length > limit) throw tooLong();
      return text;
    },
  };
}

/** The longest rendering accepted: real templates add a few KB of framing around the messages, not multiples of them. */
function outputLimit(messages: ChatMessage[]): number {
  let chars = 0;
  for (const m of messages) chars += typeof m.content === 'string' ? m.content.length : 0;
  return 2 ** 20 + 8 * chars;
}

/** Loads `tokenizer.json` + `tokenizer_config.json` from a model folder. */
export function loadTokenizer(modelDir: string): TextTokenizer {
  const tokenizerJson = readJson(join(modelDir, 'tokenizer.json'), 'tokenizer.json');
  const configFile = join(modelDir, 'tokenizer_config.json');
  // Some repositories ship no tokenizer_config.json; then there are no special tokens and no chat template.
  const tokenizerConfig = existsSync(configFile) ? readJson(configFile, 'tokenizer_config.json') : {};
  return createTokenizer(tokenizerJson, tokenizerConfig, modelDir);
}
