// UserError: a problem the user can fix. It says what is wrong, where (file, line, field) and how to fix it;
// the CLI prints it without a stack trace and exits 1 (native/cli/exit.ts).

export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  field?: string;
}

export class UserError extends Error {
  readonly where?: ErrorLocation;
  readonly fix?: string;
  readonly code?: string;

  constructor(what: string, options: { where?: ErrorLocation; fix?: string; code?: string } = {}) {
    super(formatUserMessage(what, options.where, options.fix));
    this.name = 'UserError';
    this.where = options.where;
    this.fix = options.fix;
    this.code = options.code;
  }
}

/** `file:line:column: field: what — fix` with the parts that are known. */
export function formatUserMessage(what: string, where?: ErrorLocation, fix?: string): string {
  const place = where?.file
    ? [where.file, where.line, where.line !== undefined ? where.column : undefined].filter((p) => p !== undefined).join(':')
    : '';
  const field = where?.field ? `${where.field}: ` : '';
  const head = place ? `${place}: ${field}${what}` : `${field}${what}`;
  return fix ? `${head} — ${fix}` : head;
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}
