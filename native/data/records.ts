// The two dataset record formats LoRA Studio trains on, shared by the validator, the templates and the preview.
// alpaca: {"instruction", "input"?, "output", "system"?}; chat: {"messages":[{"role","content"}, ...]}.

export type DatasetFormat = 'alpaca' | 'chat';

export interface AlpacaRecord {
  format: 'alpaca';
  instruction: string;
  input?: string;
  output: string;
  system?: string;
}

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatRecord {
  format: 'chat';
  messages: ChatMessage[];
}

export type DatasetRecord = AlpacaRecord | ChatRecord;

/** A record together with where it came from (1-based line of its JSONL file). */
export interface LocatedRecord {
  line: number;
  record: DatasetRecord;
}
