// Validates a whole JSONL dataset, streaming (one chunk plus the longest line in memory, read by line-reader.ts's
// forEachLine, the one line reader; cancellable between chunks): splits on \n only (U+2028 inside a string is not a
// line break), accepts CRLF and a UTF-8 BOM, skips blank lines (a warning when they sit between records), checks each
// line's bytes are UTF-8 (a UTF-16/32 file is one error, text-encoding.ts), parses each line with the record schema, and reports a record whose format differs from the
// file's first record. The same pass can hand back the parsed records, so the trainer reads a file once.
import { isUtf8 } from 'node:buffer';
import type { DatasetFormat, LocatedRecord } from './records';
import { parseRecord, type DatasetProblem } from './schema';
import { UserError } from '../util/errors';
import { forEachLine, MAX_LINE_BYTES } from './line-reader';
import { detectEncoding, ENCODING_HEAD_BYTES, NotUtf8Error, type DetectedEncoding } from './text-encoding';

export type FileFormat = DatasetFormat | 'mixed' | 'unknown';

export interface ValidationReport {
  file: string;
  format: FileFormat;
  /** Non-blank lines (each a record, valid or not). */
  records: number;
  validRecords: number;
  errors: DatasetProblem[];
  warnings: DatasetProblem[];
  /** Problems beyond `maxProblems` are counted, not kept. */
  omittedErrors: number;
  omittedWarnings: number;
}

export interface ValidateOptions {
  maxProblems?: number;
  /** Receives every valid record (only records of the file's format). */
  onRecord?: (record: LocatedRecord) => void;
  /** validateFile stops between chunks (throwing an AbortError) once the signal is aborted or stopRequested is true. */
  signal?: AbortSignal;
  stopRequested?: () => boolean;
}

/** Validates already-split text lines (the editor's diagnostics use this on a document's text). */
export class DatasetValidator {
  private format: DatasetFormat | undefined;
  private formatLine = 0;
  private mixed = false;
  private pendingBlank: number[] = [];
  readonly report: ValidationReport;

  constructor(file: string, private readonly options: ValidateOptions = {}) {
    this.report = { file, format: 'unknown', records: 0, validRecords: 0, errors: [], warnings: [], omittedErrors: 0, omittedWarnings: 0 };
  }

  private add(problem: DatasetProblem): void {
    const max = this.options.maxProblems ?? 1000;
    const list = problem.severity === 'error' ? this.report.errors : this.report.warnings;
    if (list.length < max) list.push(problem);
    else if (problem.severity === 'error') this.report.omittedErrors += 1;
    else this.report.omittedWarnings += 1;
  }

  /** One line's bytes decoded as text (without the newline; a trailing CR is removed here). */
  line(text: string, lineNumber: number): void {
    const content = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (content.trim() === '') {
      this.pendingBlank.push(lineNumber);
      return;
    }
    // Blank lines count as a warning only once a record follows them (trailing blank lines are harmless).
    if (this.pendingBlank.length > 0 && this.report.records > 0) {
      for (const blank of this.pendingBlank) this.add({ line: blank, column: 1, length: 1, severity: 'warning', message: 'blank line between records is skipped' });
    }
    this.pendingBlank = [];
    this.report.records += 1;
    const parsed = parseRecord(content, lineNumber);
    for (const problem of parsed.problems) this.add(problem);
    if (parsed.format) {
      if (!this.format) {
        this.format = parsed.format;
        this.formatLine = lineNumber;
      } else if (parsed.format !== this.format) {
        this.mixed = true;
        this.add({
          line: lineNumber, column: 1, length: content.length, severity: 'error',
          message: `this is a ${parsed.format} record but the file's first record (line ${this.formatLine}) is ${this.format} — use one format per file`,
        });
        return;
      }
    }
    if (parsed.record) {
      this.report.validRecords += 1;
      this.options.onRecord?.({ line: lineNumber, record: parsed.record });
    }
  }

  /** A line too long to decode at all (over V8's longest string): an error, and the reading goes on. */
  tooLong(lineNumber: number, bytes: number): void {
    this.report.records += 1;
    this.add({ line: lineNumber, column: 1, length: 1, severity: 'error', message: `the line is ${(bytes / 2 ** 20).toFixed(0)} MiB long, more than one record can be (${(MAX_LINE_BYTES / 2 ** 20).toFixed(0)} MiB) — split or shorten it` });
  }

  invalidUtf8(lineNumber: number): void {
    this.report.records += 1;
    this.add({ line: lineNumber, column: 1, length: 1, severity: 'error', message: 'the line is not valid UTF-8 — re-save the file as UTF-8' });
  }

  /** A file in another encoding than UTF-8: its one error (no line was read, so no "no records" either). */
  notUtf8(error: NotUtf8Error): ValidationReport {
    this.add({ line: 1, column: 1, length: 1, severity: 'error', message: error.problem });
    return this.report;
  }

  finish(): ValidationReport {
    this.report.format = this.mixed ? 'mixed' : (this.format ?? 'unknown');
    if (this.report.records === 0) {
      this.add({ line: 1, column: 1, length: 1, severity: 'error', message: 'the file has no records — add one JSON object per line' });
    }
    const byPosition = (a: DatasetProblem, b: DatasetProblem) => a.line - b.line || a.column - b.column;
    this.report.errors.sort(byPosition);
    this.report.warnings.sort(byPosition);
    return this.report;
  }
}

/** Validates text held in memory (an editor document). */
export function validateText(file: string, text: string, options: ValidateOptions = {}): ValidationReport {
  const validator = new DatasetValidator(file, options);
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, index) => validator.line(line, index + 1));
  return validator.finish();
}

/**
 * An editor document's report: its text, unless its file on disk is not UTF-8 (`onDisk`, from the file's first bytes:
 * VS Code decodes UTF-16 by its byte-order mark, so the text reads fine, but train reads the bytes) — then the one
 * error validateFile reports.
 */
export function validateDocument(file: string, text: string, onDisk: DetectedEncoding | undefined, options: ValidateOptions = {}): ValidationReport {
  if (onDisk && onDisk.encoding !== 'UTF-8') return new DatasetValidator(file, options).notUtf8(new NotUtf8Error(file, onDisk));
  return validateText(file, text, options);
}

/** Validates a file's bytes held in memory (the editor's workspace scan), as validateFile would. */
export function validateBytes(file: string, bytes: Uint8Array, options: ValidateOptions = {}): ValidationReport {
  // The encoding first: a UTF-16/32 file gets its one error without decoding the whole buffer as UTF-8 for nothing.
  const detected = detectEncoding(bytes.subarray(0, ENCODING_HEAD_BYTES));
  if (detected.encoding !== 'UTF-8') return new DatasetValidator(file, options).notUtf8(new NotUtf8Error(file, detected));
  return validateText(file, new TextDecoder().decode(bytes), options);
}

/** Streams a file from disk; never holds more than one chunk plus one line. */
export async function validateFile(path: string, options: ValidateOptions = {}): Promise<ValidationReport> {
  const validator = new DatasetValidator(path, options);
  try {
    await scanFile(path, validator, options);
  } catch (error) {
    if (error instanceof NotUtf8Error) return validator.notUtf8(error);
    throw error;
  }
  return validator.finish();
}

/** Feeds every line of `path` to `validator`; a file that is not UTF-8 throws NotUtf8Error (forEachLine's) before any line. */
async function scanFile(path: string, validator: DatasetValidator, options: ValidateOptions): Promise<void> {
  await forEachLine(path, (bytes, lineNumber) => {
    if (!isUtf8(bytes)) validator.invalidUtf8(lineNumber);
    else validator.line(bytes.toString('utf8'), lineNumber);
  }, { signal: options.signal, stopRequested: options.stopRequested, onTooLong: (lineNumber, bytes) => validator.tooLong(lineNumber, bytes) });
}

/**
 * Reads every valid record of a training file, or throws one error listing the first problems with locations. With
 * `stopRequested` (a run's stop flag) it ends between chunks with an AbortError once a stop is asked for.
 */
export async function readDatasetRecords(path: string, options: { stopRequested?: () => boolean } = {}): Promise<LocatedRecord[]> {
  const records: LocatedRecord[] = [];
  const validator = new DatasetValidator(path, { maxProblems: 20, onRecord: (record) => records.push(record) });
  // Not UTF-8: scanFile's NotUtf8Error escapes as it is, not as "1 error(s)" with a fix about records.
  await scanFile(path, validator, { stopRequested: options.stopRequested });
  const report = validator.finish();
  if (report.errors.length > 0) {
    const shown = report.errors.slice(0, 5).map((p) => `  ${path}:${p.line}:${p.column}: ${p.message}`).join('\n');
    const more = report.errors.length + report.omittedErrors - 5;
    throw new UserError(`the dataset has ${report.errors.length + report.omittedErrors} error(s):\n${shown}${more > 0 ? `\n  … and ${more} more` : ''}\n`, {
      fix: `fix them (run: lora-studio validate ${path}) or remove those records`,
    });
  }
  return records;
}
