import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readCommandSummaries, type CommandSummary } from './help-index.js';
import { EXIT_OK, EXIT_USAGE, printText } from './output.js';

// What dbops prints without running a command: the overview (no arguments, --help) and the
// version. Kept apart from main.ts so the launcher can run it as a small script of its own
// (dist/launch/overview.cjs): no ES module loader, none of the CLI's chunks.

/** The entries of the overview that are not Markdown commands. */
export const META = [
  {
    name: 'run',
    usage: 'dbops run "/backup-db --no-transient"',
    summary: 'Run a slash-command line exactly as typed in the assistant',
    help: 'Runs one slash-command line as Claude Code would: the line is split as the shell that runs the command body splits it (quotes, no operators), then the command runs with trigger "slash".\n\nExample: dbops run "/restore-db latest --target dev --yes"',
  },
  {
    name: 'mcp',
    usage: 'dbops mcp [--read-only]',
    summary: 'Start the MCP server on stdio (for .mcp.json)',
    help: 'Serves the commands as MCP tools on stdin/stdout until stdin closes.\n\n  --read-only   only the tools that change nothing (list_backups, verify_backup, artifact_history); no events written to any database\n\nExample (in .mcp.json): { "command": "node", "args": ["<dbops>/bin/dbops.js", "mcp"] }',
  },
];

const HELP = new Set([undefined, '--help', '-h', 'help']);

export function version(root: string): string {
  return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Whether argv asks for the version: `dbops --version`, or `dbops <anything> --version`. */
export function asksVersion([name, ...rest]: readonly string[]): boolean {
  return name === '--version' || name === '-v' || name === 'version' || (rest.length === 1 && rest[0] === '--version');
}

/** Whether argv asks for the overview (no command, or --help). */
export function asksOverview([name]: readonly string[]): boolean {
  return HELP.has(name);
}

export function overviewText(commands: readonly CommandSummary[], root: string): string {
  const rows = [...commands.map((c) => [c.name, c.frontmatter.description]), ...META.map((m) => [m.name, m.summary])];
  const width = Math.max(...rows.map(([n]) => n!.length));
  return [
    `dbops ${version(root)} — backup and restore for Supabase/PostgreSQL databases`,
    '',
    'Usage: dbops <command> [options]',
    '',
    'Commands:',
    ...rows.map(([n, d]) => `  ${n!.padEnd(width)}  ${d}`),
    '',
    'Run dbops <command> --help for its options. Every command takes --json, --quiet, --verbose and --help;',
    'dbops --version prints the version. Exit codes: 0 success, 1 failure, 2 usage error.',
    'Keep passwords off the process list: --target NAME, --url-env NAME or --url-file PATH instead of --url URL.',
  ].join('\n');
}

/**
 * Prints the version or the overview when argv asks for one and the commands' two lines read
 * simply (help-index.ts), and returns the exit code (no arguments is a usage error). Prints
 * nothing and returns undefined otherwise: main() then loads what it needs (the validating
 * loader, for unusual frontmatter).
 */
export function printQuickOverview(argv: readonly string[], root: string): number | undefined {
  if (asksVersion(argv)) {
    printText(version(root));
    return EXIT_OK;
  }
  if (!asksOverview(argv)) return undefined;
  const summaries = readCommandSummaries(root);
  if (summaries === undefined) return undefined;
  printText(overviewText(summaries, root));
  return argv[0] === undefined ? EXIT_USAGE : EXIT_OK;
}
