// The run's records in the form a cluster trainer reads, so it trains on the same text LoRA Studio does
// (native/data/template.ts): with a chat template, every record is a conversation (an alpaca record becomes system,
// user = instruction + input, assistant = output, as alpacaMessages does); without one, alpaca records keep the
// Stanford Alpaca prompt (alpacaPrompt). One JSON object per line.
import type { ChatMessage, DatasetRecord } from '../../data/records';
import { alpacaMessages, alpacaPrompt } from '../../data/template';
import { UserError } from '../../util/errors';

export type TrainerName = 'axolotl' | 'llamafactory' | 'trl';

/** How the records are written: OpenAI-style conversations, or alpaca prompt/response text. */
export type DataShape = 'messages' | 'alpaca';

export function dataShape(hasChatTemplate: boolean): DataShape {
  return hasChatTemplate ? 'messages' : 'alpaca';
}

function messagesOf(record: DatasetRecord): ChatMessage[] {
  return record.format === 'chat' ? record.messages : alpacaMessages(record, record.output);
}

/**
 * One trainer's line for a record. TRL learns the completion of prompt/completion records (completion_only_loss), so
 * when the prompt is not trained the conversation is split before its last reply; with train_on_prompt the whole
 * conversation is one `messages` record and every token is learned.
 */
export function recordLine(record: DatasetRecord, trainer: TrainerName, shape: DataShape, trainOnPrompt: boolean): object {
  if (shape === 'messages') {
    const messages = messagesOf(record);
    if (trainer === 'trl' && !trainOnPrompt) return { prompt: messages.slice(0, -1), completion: messages.slice(-1) };
    return { messages };
  }
  if (record.format === 'chat') {
    throw new UserError('the model has no chat template, so chat records cannot be rendered (LoRA Studio refuses them too)', {
      fix: 'use a model whose tokenizer_config.json has a chat_template, or alpaca records',
    });
  }
  if (trainer === 'trl') return { prompt: alpacaPrompt(record.instruction, record.input, record.system), completion: record.output };
  return { instruction: record.instruction, input: record.input ?? '', output: record.output, ...(record.system ? { system: record.system } : {}) };
}

/** A JSONL file's text. */
export function jsonl(records: readonly DatasetRecord[], trainer: TrainerName, shape: DataShape, trainOnPrompt: boolean): string {
  return records.map((record) => JSON.stringify(recordLine(record, trainer, shape, trainOnPrompt)) + '\n').join('');
}

/** How many records hold more than one assistant reply (TRL's prompt/completion split learns only the last one). */
export function multiTurnCount(records: readonly DatasetRecord[]): number {
  return records.filter((r) => r.format === 'chat' && r.messages.filter((m) => m.role === 'assistant').length > 1).length;
}
