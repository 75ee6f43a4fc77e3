// Reads what the Dataset Preview needs from a chosen Hugging Face model folder: the chat template and BOS/EOS
// tokens from tokenizer_config.json, and the tokenizer itself (token counts, the exact training text).
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '../../native/util/errors';
import type { PreviewModel, RenderSegments } from './preview-session';
import { TemplatePool } from '../../native/data/template-pool';
import { alpacaPrompt } from '../../native/data/template';
import { loadTokenizer, type TextTokenizer } from '../../native/model/tokenizer';
import { checkModelFileLinks, TOKENIZER_FILES } from '../../native/model/folder-links';

/** Shown beside the disabled "tokens" option when the folder's tokenizer.json cannot be loaded. */
export const TOKENIZER_MISSING = 'token counts need the model\'s tokenizer.json, which could not be loaded';

/** Tokenizers of chosen models by their chat template, so the training-text renderer can apply the same template. */
export const tokenizersByTemplate = new Map<string, TextTokenizer>();
export const NO_MODEL = 'choose a model (Model…) to count tokens';

/** A special token as tokenizer_config.json writes it: a string or an AddedToken object with `content`. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

/** `chat_template` is a string, or a list of {name, template} where "default" is the one used for chat. */
function chatTemplateOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.filter((t): t is { name: string; template: string } =>
      typeof t === 'object' && t !== null && typeof t.name === 'string' && typeof t.template === 'string');
    return (named.find((t) => t.name === 'default') ?? named[0])?.template;
  }
  return undefined;
}

export async function loadPreviewModel(folder: string): Promise<PreviewModel> {
  // The folder's files are read only where they are (folder-links.ts): no link may lead out of it.
  checkModelFileLinks(folder, TOKENIZER_FILES.map((name) => join(folder, name)));
  const file = join(folder, 'tokenizer_config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UserError('no tokenizer_config.json in the chosen folder', {
      where: { file: folder },
      fix: 'choose a Hugging Face model folder (the one holding config.json and tokenizer.json)',
    });
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new UserError(`not valid JSON: ${(error as Error).message}`, { where: { file }, fix: 'restore the file from the model repository' });
  }
  const object = typeof config === 'object' && config !== null ? (config as Record<string, unknown>) : {};
  // Newer transformers versions save the template beside the config as chat_template.jinja.
  const chatTemplate = chatTemplateOf(object.chat_template) ?? (await readFile(join(folder, 'chat_template.jinja'), 'utf8').catch(() => undefined));
  let tokenizer: TextTokenizer | undefined;
  let tokenizerProblem = TOKENIZER_MISSING;
  try {
    tokenizer = loadTokenizer(folder);
    if (tokenizer.chatTemplate !== undefined) tokenizersByTemplate.set(tokenizer.chatTemplate, tokenizer);
  } catch (error) {
    tokenizerProblem = `token counts unavailable: ${error instanceof Error ? error.message : String(error)}`;
  }
  return {
    name: basename(folder),
    chatTemplate: tokenizer?.chatTemplate ?? chatTemplate,
    bosToken: tokenText(object.bos_token),
    eosToken: tokenText(object.eos_token),
    ...(tokenizer ? { countTokens: (text: string) => tokenizer.encode(text, false).length } : { tokensUnavailable: tokenizerProblem }),
  };
}

/**
 * The exact training text: the Alpaca prompt format here (our own code), or the chosen model's chat template (as
 * training renders it) in a template worker of this panel: never in the extension host's thread, where a template
 * that loops would block every extension.
 */
export function renderer(pools: Map<string, TemplatePool>): RenderSegments {
  return async (records, template) => {
    if (template.kind === 'alpaca') {
      return records.map((record) => record.format === 'alpaca'
        ? [{ text: alpacaPrompt(record.instruction, record.input, record.system), train: false }, { text: record.output, train: true }]
        : { error: 'chat records need a chat template' });
    }
    const tokenizer = tokenizersByTemplate.get(template.chatTemplate);
    if (!tokenizer) return records.map(() => [{ text: 'Choose a model (Model…) to render this record with its chat template.', train: false }]);
    let pool = pools.get(template.chatTemplate);
    if (!pool) pools.set(template.chatTemplate, pool = new TemplatePool(tokenizer, 1));
    const results = await pool.segments(records.map((record, i) => ({ line: i + 1, record })));
    return results.map((r) => ('segments' in r ? r.segments : { error: r.error.message }));
  };
}
