import type { Config } from '../engine/config.js';
import type { AnyCommand } from './command.js';
import { commandFlags, COMMON_FLAGS, type Flag } from './flags.js';

// `dbops <command> --help`, made from the command's schema: every flag with its description,
// its default and the values it takes, then the examples.

function flagColumn(flag: Flag): string {
  if (flag.kind === 'boolean') return flag.flag;
  if (flag.kind === 'enum') return `${flag.flag} ${flag.choices?.join('|') ?? 'VALUE'}`;
  if (flag.kind === 'number') return `${flag.flag} N`;
  if (flag.kind === 'list') return `${flag.flag} A,B,…`;
  return `${flag.flag} ${flag.field === 'url' ? 'URL' : flag.flag === '--url-env' ? 'NAME' : flag.flag.endsWith('-file') || flag.field === 'out' ? 'PATH' : 'TEXT'}`;
}

const CONNECTION_HELP = [
  'Connection: --target NAME reads the URL from the environment variable the config names (e.g. DATABASE_URL_DEV).',
  '  --url URL puts its password on the process list (ps); to keep it off, use --url-env NAME (the URL from',
  '  environment variable NAME) or --url-file PATH (the URL from the first line of a file). A password may also',
  '  come from PGPASSWORD, .pgpass (PGPASSFILE) or a service (PGSERVICE, PGSERVICEFILE), as for psql.',
  'Supabase: --linked uses the project of `supabase link` (session pooler, port 5432) with SUPABASE_DB_PASSWORD;',
  "  --local the database of `supabase start`. A transaction-pooler URL (port 6543, Prisma's ?pgbouncer=true) is",
  '  refused with the session-pooler URL to use instead; DIRECT_URL is read before DATABASE_URL. Hosts that are',
  '  not on this machine get TLS (sslmode=require) unless the URL says otherwise.',
  'Locks: a wait for a lock another session holds stops after DBOPS_LOCK_TIMEOUT (default 30s, e.g. 5s, 2min),',
  '  naming that session.',
].join('\n');

export function commandHelp(command: AnyCommand, description: string, config: Config): string {
  const flags = commandFlags(command, config);
  const rows = [...flags, ...COMMON_FLAGS].map(
    (f) => [flagColumn(f), `${f.description}${f.default !== undefined && f.default !== '' ? ` (default: ${f.default})` : ''}`] as const,
  );
  const width = Math.min(34, Math.max(...rows.map(([c]) => c.length)));
  const positional = command.cli.positional === undefined ? '' : ` [${command.cli.positional.toUpperCase()}]`;
  const positionalHelp =
    command.cli.positional === undefined
      ? []
      : [
          `  ${command.cli.positional.toUpperCase().padEnd(width)}  ${(command.input.shape as Record<string, { description?: string }>)[command.cli.positional]?.description ?? ''}`,
          '',
        ];
  return [
    `dbops ${command.name} — ${description}`,
    '',
    `Usage: dbops ${command.name}${positional} [options]`,
    '',
    ...positionalHelp,
    'Options:',
    ...rows.map(([c, d]) => (c.length > width ? `  ${c}\n  ${''.padEnd(width)}  ${d}` : `  ${c.padEnd(width)}  ${d}`)),
    '',
    'Examples:',
    ...command.cli.examples.map((e) => `  ${e}`),
    '',
    ...('url' in command.input.shape ? [CONNECTION_HELP, ''] : []),
    'Exit codes: 0 success, 1 failure, 2 usage error. Errors are one line with a stable code and a hint.',
  ].join('\n');
}
