// What the training panel shows about a *.jsonl dataset: its format, record and error counts, the first error
// (line: message), and — once a model is chosen — token-length statistics against max_seq_len. Streams the file
// line by line (no vscode; tested on temp files). Records are parsed by native/data/schema.ts, the validator's own
// parser, so the counts match the Problems panel and `lora-studio validate`.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { DatasetRecord } from '../../native/data/records';
import { LengthCollector, summarize } from '../../native/data/dataset-stats';
import { parseRecord } from '../../native/data/schema';
import type { DatasetInfo } from '../../webview/protocol';

export interface SummaryOptions {
  /** Tokens of a record as it will be trained (template applied); omitted → no token statistics. */
  countTokens?: (record: DatasetRecord) => number;
  maxSeqLen: number;
  signal?: AbortSignal;
}

export async function summarizeDataset(path: string, label: string, options: SummaryOptions): Promise<DatasetInfo> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  let records = 0;
  let errors = 0;
  let firstError: string | undefined;
  const formats = new Set<string>();
  const lengths = options.countTokens ? new LengthCollector() : undefined;
  let overLimit = 0;
  try {
    for await (const raw of lines) {
      line++;
      if (options.signal?.aborted) throw new Error('cancelled');
      const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (text.trim() === '') continue;
      const parsed = parseRecord(text, line);
      const error = parsed.problems.find((p) => p.severity === 'error');
      if (!parsed.record || error) {
        errors++;
        firstError ??= `line ${line}: ${error?.message ?? 'not a record'}`;
        continue;
      }
      records++;
      formats.add(parsed.record.format);
      if (lengths && options.countTokens) {
        const tokens = options.countTokens(parsed.record);
        lengths.push(tokens);
        if (tokens > options.maxSeqLen) overLimit++;
      }
    }
  } finally {
    lines.close();
  }
  const info: DatasetInfo = {
    path, label, records, errors,
    format: formats.size === 0 ? 'empty' : formats.size > 1 ? 'mixed' : (formats.values().next().value as 'alpaca' | 'chat'),
  };
  if (firstError) info.firstError = firstError;
  const stats = lengths ? summarize(lengths.values()) : null;
  if (stats) info.tokens = { count: stats.count, min: stats.min, median: stats.median, p95: stats.p95, max: stats.max, overLimit, limit: options.maxSeqLen };
  return info;
}
