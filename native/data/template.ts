// Dataset records → token ids and loss labels through the model's template: the chat template when the model has one,
// else the Stanford Alpaca prompt (alpaca records only). Loss covers the responses unless trainOnPrompt.
//
// How response spans are found, for any chat template: the conversation is rendered once in full (the text the
// model trains on). For each assistant turn k the prompt up to it, render(messages[0..k), add_generation_prompt),
// must be a prefix of the full text: there the response starts. It ends where render(messages[0..k]) ends when that
// is also a prefix of the full text; templates that render the last turn differently from earlier ones (Qwen3 adds an
// empty <think> block only to the last turn) are not prefix-stable, and then the turn ends after the first EOS string
// (e.g. <|im_end|>) after its start. The text is then tokenized piece by piece (prompt, response, prompt, …), so every
// token belongs to exactly one piece; the pieces meet at template boundaries (special tokens, newlines), where the
// tokenizer's pre-splitting cuts anyway.
//
// Qwen3's template opens a final reply without reasoning with an empty think block (`<think>\n\n</think>\n\n`), the
// same text its generation prompt ends with when enable_thinking is false. That block is template, not answer: were
// it a trained target, the tuned model would start every answer with it. So a turn's prompt is rendered with
// enable_thinking=false whenever the conversation continues from that prompt (a reply with reasoning does not, and
// keeps its think block as a target), and generation starts from the same non-thinking prompt. Templates without
// enable_thinking render the same text either way.
//
// Rendering runs chat templates from the model folder, so these functions run inside a template worker
// (template-pool.ts, which tokenizes whole datasets with them), never directly on a thread that must survive a template.
import type { AlpacaRecord, ChatMessage, DatasetRecord } from './records';
import type { ChatTemplateVariables, TextTokenizer } from '../model/tokenizer';
import { UserError } from '../util/errors';
import { TemplateSkeletons, type Piece } from './template-skeleton';

export const IGNORE_INDEX = -100;

export interface TokenizedExample {
  inputIds: number[];
  /** PRE-SHIFTED: labels[i] is the target for position i (= inputIds[i+1]) or -100; the last is always -100. */
  labels: number[];
  truncated: boolean;
  line?: number;
}

export interface TemplateOptions {
  trainOnPrompt: boolean;
  maxSeqLen: number;
}

const ALPACA_WITH_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n';
const ALPACA_NO_INPUT = 'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n';

/** The Stanford Alpaca prompt (tatsu-lab/stanford_alpaca train.py); a system text goes in front of it. */
export function alpacaPrompt(instruction: string, input?: string, system?: string): string {
  const head = system ? `${system}\n\n` : '';
  return input
    ? `${head}${ALPACA_WITH_INPUT}### Instruction:\n${instruction}\n\n### Input:\n${input}\n\n### Response:\n`
    : `${head}${ALPACA_NO_INPUT}### Instruction:\n${instruction}\n\n### Response:\n`;
}

/** An alpaca record as a conversation: system, user (instruction + input), assistant (output). */
export function alpacaMessages(record: Pick<AlpacaRecord, 'instruction' | 'input' | 'system'>, output?: string): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (record.system) messages.push({ role: 'system', content: record.system });
  messages.push({ role: 'user', content: record.input ? `${record.instruction}\n\n${record.input}` : record.instruction });
  if (output !== undefined) messages.push({ role: 'assistant', content: output });
  return messages;
}

/**
 * The prompt generation starts from for an instruction — the same text training put before the response:
 * the chat template with the generation prompt, or the Alpaca prompt when the model has none.
 */
export function instructionPrompt(tok: TextTokenizer, instruction: string, input?: string, system?: string): string {
  if (tok.chatTemplate !== undefined) return tok.applyChatTemplate(alpacaMessages({ instruction, input, system }), true, NON_THINKING);
  return alpacaPrompt(instruction, input, system);
}

/** The template variables of a reply without reasoning (see the header). */
const NON_THINKING: ChatTemplateVariables = { enable_thinking: false };

/** [BOS] when the tokenizer adds one (add_special_tokens) and the text does not already start with it (Llama 3's template writes it). */
function bosPrefix(tok: TextTokenizer, text: string): number[] {
  const addsBos = tok.addsBos;
  const textHasBos = tok.bosToken !== undefined && text.startsWith(tok.bosToken);
  return addsBos && !textHasBos ? [tok.bosId!] : [];
}

/** Token ids of a prompt exactly as training encoded its prompt part (BOS once, no other special tokens added). */
export function encodePrompt(tok: TextTokenizer, prompt: string): number[] {
  return [...bosPrefix(tok, prompt), ...tok.encode(prompt, false)];
}

/** Each tokenizer's template skeletons (template-skeleton.ts): pieces computed once per conversation shape. */
const skeletons = new WeakMap<TextTokenizer, TemplateSkeletons>();

function chatPieces(messages: ChatMessage[], tok: TextTokenizer): Piece[] {
  let forTokenizer = skeletons.get(tok);
  if (!forTokenizer) {
    forTokenizer = new TemplateSkeletons(tok, (m) => renderedPieces(m, tok));
    skeletons.set(tok, forTokenizer);
  }
  return forTokenizer.pieces(messages);
}

/** The pieces of a conversation from its renderings (see the header); template-skeleton.ts reuses them per shape. */
export function renderedPieces(messages: ChatMessage[], tok: TextTokenizer): Piece[] {
  const full = tok.applyChatTemplate(messages, false);
  const pieces: Piece[] = [];
  let cursor = 0;
  messages.forEach((message, k) => {
    if (message.role !== 'assistant') return;
    const nonThinking = tok.applyChatTemplate(messages.slice(0, k), true, NON_THINKING);
    const prompt = full.startsWith(nonThinking) && nonThinking.length >= cursor ? nonThinking : tok.applyChatTemplate(messages.slice(0, k), true);
    if (!full.startsWith(prompt) || prompt.length < cursor) {
      throw new UserError(`cannot locate assistant turn ${k + 1} in the chat template's output: the template does not render conversations prefix by prefix`, {
        fix: 'use a standard chat template, or alpaca records',
      });
    }
    // The last turn's conversation is the full one, already rendered.
    const withTurn = k + 1 === messages.length ? full : tok.applyChatTemplate(messages.slice(0, k + 1), false);
    let end: number;
    if (full.startsWith(withTurn) && withTurn.length > prompt.length) {
      end = withTurn.length;
    } else {
      const eos = tok.eosToken ? full.indexOf(tok.eosToken, prompt.length) : -1;
      end = eos >= 0 ? eos + tok.eosToken!.length : full.length;
    }
    if (prompt.length > cursor) pieces.push({ text: full.slice(cursor, prompt.length), response: false });
    pieces.push({ text: full.slice(prompt.length, end), response: true });
    cursor = end;
  });
  if (cursor < full.length) pieces.push({ text: full.slice(cursor), response: false });
  return pieces;
}

function recordPieces(record: DatasetRecord, tok: TextTokenizer): Piece[] {
  if (record.format === 'chat') {
    if (tok.chatTemplate === undefined) {
      throw new UserError('chat records need a chat template and the model has none (tokenizer_config.json has no "chat_template")', {
        fix: 'convert the data to alpaca records (instruction/output), or use a model with a chat template',
      });
    }
    return chatPieces(record.messages, tok);
  }
  if (tok.chatTemplate !== undefined) return chatPieces(alpacaMessages(record, record.output), tok);
  return [
    { text: alpacaPrompt(record.instruction, record.input, record.system), response: false },
    { text: record.output, response: true },
  ];
}

/** The exact training text of a record as pieces: `train` marks what the loss covers (responses), for previews. */
export function recordSegments(record: DatasetRecord, tok: TextTokenizer): { text: string; train: boolean }[] {
  return recordPieces(record, tok).map((piece) => ({ text: piece.text, train: piece.response }));
}

/** Tokenizes one record: ids, pre-shifted labels, and whether it was cut to maxSeqLen. */
export function tokenizeRecord(record: DatasetRecord, tok: TextTokenizer, opts: TemplateOptions): TokenizedExample {
  const pieces = recordPieces(record, tok);
  const ids: number[] = [];
  const trained: boolean[] = [];
  for (const id of bosPrefix(tok, pieces[0]?.text ?? '')) { ids.push(id); trained.push(false); }
  for (const piece of pieces) {
    const pieceIds = tok.encode(piece.text, false);
    // Every response ends with EOS so the model learns to stop; chat templates usually write it themselves.
    if (piece.response && tok.eosId !== undefined && !pieceIds.includes(tok.eosId)) pieceIds.push(tok.eosId);
    for (const id of pieceIds) { ids.push(id); trained.push(piece.response); }
  }
  const truncated = ids.length > opts.maxSeqLen;
  if (truncated) {
    ids.length = opts.maxSeqLen;
    trained.length = opts.maxSeqLen;
  }
  const labels = ids.map((_, i) => (i + 1 < ids.length && (opts.trainOnPrompt || trained[i + 1]) ? ids[i + 1] : IGNORE_INDEX));
  return { inputIds: ids, labels, truncated };
}
