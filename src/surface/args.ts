import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DbopsError } from '../engine/errors.js';

// argv → typed values with node's own parser (strict: an unknown flag is a usage error that
// lists the valid ones).

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseCommandArgs(command: string, argv: readonly string[], options: OptionSpec, maxPositionals: number): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    const valid = Object.keys(options).map((o) => `--${o}`).join(', ');
    const reason = (error as Error).message.split('\n')[0]?.replace(/\. To specify a positional.*$/, '') ?? 'invalid arguments';
    throw new DbopsError('USAGE', `${command}: ${reason}. Valid options: ${valid}.`);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new DbopsError('USAGE', `${command}: unexpected argument "${parsed.positionals[maxPositionals]}".`);
  }
  return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
}

export function intOption(command: string, name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new DbopsError('USAGE', `${command}: --${name} takes a positive whole number, not "${String(value)}".`);
  return n;
}

export function stringOption(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
