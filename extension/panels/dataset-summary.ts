// What the training panel shows about a *.jsonl dataset: its format, record and error counts, the first error
// (line: message), and — once a model is chosen — token-length statistics against max_seq_len. Streams the file
// line by line through the one JSONL line reader, native/data/line-reader.ts (no vscode; tested on temp files). Records are parsed by native/data/schema.ts, the validator's own
// parser, so the counts match the Problems panel and `lora-studio validate`. A UTF-16/32 file is summarized as its
// one error (fileError), as the Problems panel and validate report it, instead of failing the check.
import type { DatasetRecord } from '../../native/data/records';
import { LengthCollector, summarize } from '../../native/data/dataset-stats';
import { parseRecord } from '../../native/data/schema';
import { forEachLine } from '../../native/data/line-reader';
import { NotUtf8Error } from '../../native/data/text-encoding';
import { indexLines, scanChunks } from '../../native/data/line-index';
import type { DatasetInfo } from '../../webview/protocol';

export interface SummaryOptions {
  /**
   * Tokens of records as they will be trained (template applied), a batch at a time: the chat template runs in a
   * template worker, not in the host's thread (native/data/template-pool.ts). Omitted → no token statistics.
   */
  countTokens?: (records: DatasetRecord[]) => Promise<number[]>;
  maxSeqLen: number;
  signal?: AbortSignal;
}

export async function summarizeDataset(path: string, label: string, options: SummaryOptions): Promise<DatasetInfo> {
  let records = 0;
  let errors = 0;
  let firstError: string | undefined;
  const formats = new Set<string>();
  let overLimit = 0;
  // The signal is checked between chunks (an AbortError); a line too long to decode counts as an error.
  try {
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
    }, {
      // 64 KiB chunks: the host's event loop gets a turn after each (tokenizing 4 MiB of records at once would block it).
      chunkBytes: 64 * 1024,
      signal: options.signal,
      onTooLong: (line) => {
        errors++;
        firstError ??= `line ${line}: the line is too long to be a record`;
      },
    });
  } catch (error) {
    // Not UTF-8: no line was read, so no record, format or token count; the error names the file and the fix.
    if (error instanceof NotUtf8Error) return { path, label, records: 0, errors: 1, fileError: error.message };
    throw error;
  }
  const info: DatasetInfo = {
    path, label, records, errors,
    format: formats.size === 0 ? 'empty' : formats.size > 1 ? 'mixed' : (formats.values().next().value as 'alpaca' | 'chat'),
  };
  if (firstError) info.firstError = firstError;
  let lengths: LengthCollector | undefined;
  if (options.countTokens) {
    // A second pass, chunk by chunk, that waits for each chunk's counts (the line reader's visitor cannot wait).
    const count = options.countTokens;
    lengths = new LengthCollector();
    const collected = lengths;
    const index = await indexLines(path, { signal: options.signal });
    await scanChunks(index, async (_first, lines) => {
      const valid: DatasetRecord[] = [];
      for (const text of lines) {
        if (text.trim() === '') continue;
        const parsed = parseRecord(text, 0);
        if (parsed.record && !parsed.problems.some((p) => p.severity === 'error')) valid.push(parsed.record);
      }
      for (const tokens of await count(valid)) {
        collected.push(tokens);
        if (tokens > options.maxSeqLen) overLimit++;
      }
    }, { signal: options.signal, chunkBytes: 256 * 1024 });
  }
  const stats = lengths ? summarize(lengths.values()) : null;
  if (stats) info.tokens = { count: stats.count, min: stats.min, median: stats.median, p95: stats.p95, max: stats.max, overLimit, limit: options.maxSeqLen };
  return info;
}
