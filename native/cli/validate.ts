// lora-studio validate FILE… [--json]: one line per problem (`file:line:column: error|warning: message`) and a summary;
// exit 0 when no file has errors, 1 when one has, 2 on usage or I/O errors. --json prints one object per file, the
// last line of stdout being the last file's report. SIGINT/SIGTERM stop it between chunks (within a chunk's work):
// a file's lines are printed only once it is fully read, so an interrupted file prints nothing; exit 130/143.
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { UserError } from '../util/errors';
import { optionalNumberFlag, wholeAtLeast } from './number-flag';
import { validateFile, type ValidationReport } from '../data/validate';
import { EXIT_SIGNAL } from './exit';

export interface ValidateFlags {
  json?: boolean;
  maxProblems?: string;
}

function summary(report: ValidationReport): string {
  const errors = report.errors.length + report.omittedErrors;
  const warnings = report.warnings.length + report.omittedWarnings;
  const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
  return `${report.file}: ${report.format}, ${plural(report.records, 'record')}, ${plural(errors, 'error')}, ${plural(warnings, 'warning')}` +
    (report.omittedErrors + report.omittedWarnings > 0 ? ` (${report.omittedErrors + report.omittedWarnings} not shown)` : '');
}

export function toJson(report: ValidationReport): object {
  const strip = ({ line, column, severity, message }: ValidationReport['errors'][number]) => ({ line, column, severity, message });
  return { file: report.file, format: report.format, records: report.records, errors: report.errors.map(strip), warnings: report.warnings.map(strip) };
}

export async function validateCommand(files: string[], flags: ValidateFlags): Promise<number> {
  const maxProblems = optionalNumberFlag('max-problems', flags.maxProblems, 1000, wholeAtLeast(1, '1000'));
  for (const file of files) {
    if (!existsSync(file)) throw new UserError(`file not found: ${file}`, { fix: 'pass the path of a .jsonl file' });
    if (!statSync(file).isFile()) throw new UserError(`${file} is not a file`, { fix: 'pass the path of a .jsonl file' });
  }
  const stop = new AbortController();
  let signal: keyof typeof EXIT_SIGNAL | undefined;
  const onSignal = (name: keyof typeof EXIT_SIGNAL) => {
    signal ??= name;
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let failed = false;
  try {
    for (const file of files) {
      let report: ValidationReport;
      try {
        report = await validateFile(file, { maxProblems, signal: stop.signal });
      } catch (error) {
        if (!signal) throw error;
        process.stderr.write(`validate: stopped by ${signal} while reading ${file}; its problems were not printed\n`);
        return EXIT_SIGNAL[signal];
      }
      failed ||= report.errors.length > 0;
      if (flags.json) {
        process.stdout.write(JSON.stringify(toJson(report)) + '\n');
        continue;
      }
      const problems = [...report.errors, ...report.warnings].sort((a, b) => a.line - b.line || a.column - b.column);
      process.stdout.write(problems.map((p) => `${file}:${p.line}:${p.column}: ${p.severity}: ${p.message}\n`).join('') + summary(report) + '\n');
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return failed ? 1 : 0;
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('check JSONL datasets (alpaca or chat records): every problem with its line and column')
    .argument('<files...>', 'JSONL files')
    .option('--json', 'print a JSON report per file', false)
    .option('--max-problems <n>', 'problems listed per file and severity', '1000')
    .action(async (files: string[], flags: ValidateFlags) => {
      process.exitCode = await validateCommand(files, flags);
    });
}
