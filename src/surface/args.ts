import { parseArgs, type ParseArgsConfig } from 'node:util';
import { cutShort, DbopsError } from '../engine/errors.js';

// argv → typed values with node's own parser (strict: an unknown flag is a usage error that
// lists the valid ones). A value is shown in an error only cut short, and an argument longer
// than any path, URL or name dbops takes is refused before it is parsed, recorded or echoed.

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Longer than PATH_MAX (4096 on Linux): no path, URL, label or table list dbops takes is this long. */
export const ARGUMENT_MAX = 4096;

export function parseCommandArgs(command: string, argv: readonly string[], options: OptionSpec, maxPositionals: number): ParsedArgs {
  assertArgumentSizes(command, argv);
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    const valid = Object.keys(options).map((o) => `--${o}`).join(', ');
    const reason = ((error as Error).message.split('\n')[0] ?? 'invalid arguments')
      .replace(/\. To specify a positional.*$/, '')
      // node quotes the offending option: it is the caller's text, so it is cut short.
      .replace(/'([^']*)'/g, (_, quoted: string) => `'${cutShort(quoted, 40)}'`);
    throw new DbopsError('USAGE', `${command}: ${cutShort(reason, 200)}. Valid options: ${valid}.`);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new DbopsError('USAGE', `${command}: unexpected argument "${cutShort(parsed.positionals[maxPositionals]!)}".`);
  }
  return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
}

function assertArgumentSizes(command: string, argv: readonly string[]): void {
  const at = argv.findIndex((a) => a.length > ARGUMENT_MAX);
  if (at < 0) return;
  const arg = argv[at]!;
  const before = at > 0 ? argv[at - 1]! : '';
  const what = arg.startsWith('-')
    ? `an option name (${cutShort(arg, 20)})`
    : before.startsWith('--') && before.length <= 40 && !before.includes('=')
      ? `the value of ${before}`
      : `argument ${at + 1}`;
  throw new DbopsError('USAGE', `${command}: ${what} is ${arg.length} characters long; arguments are at most ${ARGUMENT_MAX}.`);
}

export function intOption(command: string, name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new DbopsError('USAGE', `${command}: --${name} takes a positive whole number, not "${cutShort(String(value), 40)}".`);
  return n;
}

export function stringOption(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
