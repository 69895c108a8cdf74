import { parseArgs } from 'node:util';
import type { z } from 'zod';
import type { Config } from '../engine/config.js';
import { cutShort, DbopsError } from '../engine/errors.js';
import type { AnyCommand, DynamicFlag } from './command.js';

// A command's flags, made from its input schema: each field becomes a flag named in kebab-case,
// described by its .describe() text, with its default. Booleans are --x (or --no-x when they
// default to true), numbers take a whole number, lists take comma-separated values, enums take
// one of their values. The same list parses argv, prints --help and is checked against the
// Markdown's argument-hint by a test, so the three cannot drift apart.

export type FlagKind = 'boolean' | 'string' | 'number' | 'list' | 'enum';

export interface Flag {
  /** As typed: --data-only, --no-safety-backup. */
  flag: string;
  /** The input field it sets; undefined for dynamic flags. */
  field?: string;
  kind: FlagKind;
  /** A boolean flag that sets its field to false. */
  negated?: boolean;
  description: string;
  default?: string;
  choices?: readonly string[];
  dynamic?: DynamicFlag;
}

/** Longer than PATH_MAX (4096 on Linux): no path, URL, label or table list dbops takes is this long. */
export const ARGUMENT_MAX = 4096;

/** Flags every command takes. */
export const COMMON_FLAGS: readonly Flag[] = [
  { flag: '--json', kind: 'boolean', description: 'Print one JSON object instead of text' },
  { flag: '--quiet', kind: 'boolean', description: 'No progress lines, only the result' },
  { flag: '--verbose', kind: 'boolean', description: 'Progress for every step and table' },
  { flag: '--help', kind: 'boolean', description: 'This help' },
];

/** Where a URL may come from instead of argv (which every user of the machine can read in ps). */
export const URL_SOURCE_FLAGS: readonly Flag[] = [
  { flag: '--url-env', kind: 'string', description: 'Read the connection URL from this environment variable (keeps the password off the process list)' },
  { flag: '--url-file', kind: 'string', description: 'Read the connection URL from this file (first line)' },
  { flag: '--linked', kind: 'boolean', description: 'The Supabase project linked with `supabase link` (supabase/.temp), password from SUPABASE_DB_PASSWORD' },
  { flag: '--local', kind: 'boolean', description: 'The local database of `supabase start` (port from supabase/config.toml)' },
];

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

interface FieldFacts {
  kind: FlagKind;
  default: unknown;
  choices?: readonly string[];
  description: string;
}

/** What a zod field is, under its optional/default wrappers (zod 4 keeps them in _zod.def). */
function describeField(schema: z.ZodType): FieldFacts {
  let node = schema as unknown as {
    _zod: { def: { type: string; innerType?: unknown; defaultValue?: unknown; element?: unknown; entries?: Record<string, string> } };
    description?: string;
  };
  const description = node.description ?? '';
  let fallback: unknown;
  for (;;) {
    const def = node._zod.def;
    if (def.type === 'optional' || def.type === 'nullable') node = def.innerType as typeof node;
    else if (def.type === 'default' || def.type === 'prefault') {
      fallback = typeof def.defaultValue === 'function' ? (def.defaultValue as () => unknown)() : def.defaultValue;
      node = def.innerType as typeof node;
    } else break;
  }
  const type = node._zod.def.type;
  const inner = description || node.description || '';
  if (type === 'boolean') return { kind: 'boolean', default: fallback, description: inner };
  if (type === 'number' || type === 'int') return { kind: 'number', default: fallback, description: inner };
  if (type === 'array') return { kind: 'list', default: fallback, description: inner };
  if (type === 'enum') return { kind: 'enum', default: fallback, choices: Object.values(node._zod.def.entries ?? {}), description: inner };
  return { kind: 'string', default: fallback, description: inner };
}

/** The command's own flags (not the common ones), in schema order, dynamic ones where `exclude`-like fields are hidden. */
export function commandFlags(command: AnyCommand, config: Config): Flag[] {
  const flags: Flag[] = [];
  const shape = command.input.shape as Record<string, z.ZodType>;
  for (const [field, schema] of Object.entries(shape)) {
    if (field === command.cli.positional || command.cli.hidden?.includes(field)) continue;
    const facts = describeField(schema);
    if (facts.kind === 'boolean') {
      // The schema describes what the field turns on; the flag of a default-on field turns it off.
      if (facts.default === true)
        flags.push({
          flag: `--no-${kebab(field)}`,
          field,
          kind: 'boolean',
          negated: true,
          description: `Do not: ${lowerFirst(facts.description)} (on by default)`,
        });
      else flags.push({ flag: `--${kebab(field)}`, field, kind: 'boolean', description: facts.description });
      // An optional boolean with no default (auto) can also be turned off explicitly.
      if (facts.default === undefined)
        flags.push({ flag: `--no-${kebab(field)}`, field, kind: 'boolean', negated: true, description: `Do not: ${lowerFirst(facts.description)}` });
      continue;
    }
    flags.push({
      flag: `--${kebab(field)}`,
      field,
      kind: facts.kind,
      description: facts.description,
      ...(facts.default !== undefined ? { default: Array.isArray(facts.default) ? facts.default.join(',') : String(facts.default) } : {}),
      ...(facts.choices ? { choices: facts.choices } : {}),
    });
    if (field === 'url') flags.push(...URL_SOURCE_FLAGS);
  }
  for (const dynamic of command.cli.dynamicFlags?.(config) ?? [])
    flags.push({ flag: dynamic.flag, kind: 'boolean', description: dynamic.description, dynamic });
  return flags;
}

const lowerFirst = (text: string) => (text === '' ? text : text[0]!.toLowerCase() + text.slice(1));

export interface ParsedCommandLine {
  input: Record<string, unknown>;
  json: boolean;
  help: boolean;
  verbosity: 'quiet' | 'normal' | 'verbose';
  urlSource?: { env?: string | undefined; file?: string | undefined; linked?: boolean | undefined; local?: boolean | undefined };
}

/** argv → the command's input (not yet validated: the engine's schema does that) and the common flags. */
export function parseCommandLine(command: AnyCommand, argv: readonly string[], config: Config): ParsedCommandLine {
  assertArgumentSizes(command.name, argv);
  const flags = [...commandFlags(command, config), ...COMMON_FLAGS];
  const options = Object.fromEntries(flags.map((f) => [f.flag.slice(2), { type: f.kind === 'boolean' ? ('boolean' as const) : ('string' as const) }]));
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    const reason = ((error as Error).message.split('\n')[0] ?? 'invalid arguments')
      .replace(/\. To specify a positional.*$/, '')
      // node quotes the offending option: it is the caller's text, so it is cut short.
      .replace(/'([^']*)'/g, (_, quoted: string) => `'${cutShort(quoted, 40)}'`);
    throw new DbopsError('USAGE', `${command.name}: ${cutShort(reason, 200)}. Valid options: ${flags.map((f) => f.flag).join(', ')}.`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const max = command.cli.positional === undefined ? 0 : 1;
  if (parsed.positionals.length > max) {
    throw new DbopsError('USAGE', `${command.name}: unexpected argument "${cutShort(parsed.positionals[max]!)}".`);
  }
  const input: Record<string, unknown> = {};
  if (command.cli.positional !== undefined && parsed.positionals[0] !== undefined) input[command.cli.positional] = parsed.positionals[0];
  for (const flag of flags) {
    const value = values[flag.flag.slice(2)];
    if (value === undefined || flag.field === undefined) {
      if (value === true && flag.dynamic) flag.dynamic.apply(input);
      continue;
    }
    input[flag.field] = convert(command.name, flag, value);
  }
  return {
    input,
    json: values.json === true,
    help: values.help === true,
    verbosity: values.quiet === true ? 'quiet' : values.verbose === true ? 'verbose' : 'normal',
    ...(values['url-env'] !== undefined || values['url-file'] !== undefined || values.linked === true || values.local === true
      ? {
          urlSource: {
            env: values['url-env'] as string | undefined,
            file: values['url-file'] as string | undefined,
            linked: values.linked === true ? true : undefined,
            local: values.local === true ? true : undefined,
          },
        }
      : {}),
  };
}

function convert(command: string, flag: Flag, value: string | boolean): unknown {
  if (flag.kind === 'boolean') return flag.negated ? value !== true : value === true;
  const text = String(value);
  if (flag.kind === 'number') {
    const n = Number(text);
    if (!Number.isInteger(n)) throw new DbopsError('USAGE', `${command}: ${flag.flag} takes a whole number, not "${cutShort(text, 40)}".`);
    return n;
  }
  if (flag.kind === 'list')
    return text
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
  if (flag.kind === 'enum' && !flag.choices?.includes(text)) {
    throw new DbopsError(
      'USAGE',
      `${command}: ${flag.flag} takes ${flag.choices?.join(' or ')}, not ${text.length > 40 ? `a value of ${text.length} characters` : `"${text}"`}.`,
    );
  }
  return text;
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
