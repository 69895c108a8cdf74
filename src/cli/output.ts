import { boundedMessage, formatErrorLine, isDbopsError, toDbopsError, type DbopsError } from '../engine/errors.js';

// Everything the CLI writes goes through here: results to stdout, progress and errors to stderr.

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function exitCodeFor(error: DbopsError): number {
  return error.kind === 'usage' ? EXIT_USAGE : EXIT_FAILURE;
}

export function printError(error: unknown, json: boolean): number {
  const e = toDbopsError(error);
  if (json) {
    // details: the lines behind the message (a tool's whole stderr, every invalid config key).
    const details = e.details.length > 0 ? { details: e.details } : {};
    process.stdout.write(`${JSON.stringify({ ok: false, error: { code: e.code, message: boundedMessage(e.message), hint: e.hint, ...details } })}\n`);
  } else {
    process.stderr.write(`${formatErrorLine(e)}\n`);
    if (!isDbopsError(error) || e.code === 'INTERNAL') process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
  }
  return exitCodeFor(e);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
