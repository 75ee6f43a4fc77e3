// What the training panel shows about a *.jsonl dataset: its format, record and error counts, the first error
// (line: message), and — once a model is chosen — token-length statistics against max_seq_len. Streams the file
// line by line through the one JSONL line reader, native/data/line-reader.ts (no vscode; tested on temp files). Records are parsed by native/data/schema.ts, the validator's own
// parser, so the counts match the Problems panel and `lora-studio validate`.
import type { DatasetRecord } from '../../native/data/records';
import { LengthCollector, summarize } from '../../native/data/dataset-stats';
import { parseRecord } from '../../native/data/schema';
import { forEachLine } from '../../native/data/line-reader';
import type { DatasetInfo } from '../../webview/protocol';

export interface SummaryOptions {
  /** Tokens of a record as it will be trained (template applied); omitted → no token statistics. */
  countTokens?: (record: DatasetRecord) => number;
  maxSeqLen: number;
  signal?: AbortSignal;
}

export async function summarizeDataset(path: string, label: string, options: SummaryOptions): Promise<DatasetInfo> {
  let records = 0;
  let errors = 0;
  let firstError: string | undefined;
  const formats = new Set<string>();
  const lengths = options.countTokens ? new LengthCollector() : undefined;
  let overLimit = 0;
  // The signal is checked between chunks (an AbortError); a line too long to decode counts as an error.
  await forEachLine(path, (bytes, line) => {
    const text = bytes.toString('utf8');
    if (text.trim() === '') return;
    const parsed = parseRecord(text.endsWith('\r') ? text.slice(0, -1) : text, line);
    const error = parsed.problems.find((p) => p.severity === 'error');
    if (!parsed.record || error) {
      errors++;
      firstError ??= `line ${line}: ${error?.message ?? 'not a record'}`;
      return;
    }
    records++;
    formats.add(parsed.record.format);
    if (lengths && options.countTokens) {
      const tokens = options.countTokens(parsed.record);
      lengths.push(tokens);
      if (tokens > options.maxSeqLen) overLimit++;
    }
  }, {
    // 64 KiB chunks: the host's event loop gets a turn after each (tokenizing 4 MiB of records at once would block it).
    chunkBytes: 64 * 1024,
    signal: options.signal,
    onTooLong: (line) => {
      errors++;
      firstError ??= `line ${line}: the line is too long to be a record`;
    },
  });
  const info: DatasetInfo = {
    path, label, records, errors,
    format: formats.size === 0 ? 'empty' : formats.size > 1 ? 'mixed' : (formats.values().next().value as 'alpaca' | 'chat'),
  };
  if (firstError) info.firstError = firstError;
  const stats = lengths ? summarize(lengths.values()) : null;
  if (stats) info.tokens = { count: stats.count, min: stats.min, median: stats.median, p95: stats.p95, max: stats.max, overLimit, limit: options.maxSeqLen };
  return info;
}
