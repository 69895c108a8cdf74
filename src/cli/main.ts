import { criticalWork } from '../engine/critical-work.js';
import { DbopsError, toDbopsError } from '../engine/errors.js';
import { commandHelp } from './help.js';
import { readCommandSummaries, type CommandSummary } from './help-index.js';
import { PACKAGE_ROOT } from './paths.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, printError, printText } from './output.js';

// argv → registry command → invoke() → formatted result and exit code. Modules load lazily so
// `dbops --help` stays fast.


const META = [
  { name: 'run', usage: 'dbops run "/backup-db --no-transient"', summary: 'Run a slash-command line exactly as typed in the assistant' },
  { name: 'mcp', usage: 'dbops mcp [--read-only]', summary: 'Start the MCP server on stdio (for .mcp.json)' },
];

async function loadRegistry() {
  const [{ buildRegistry }, { BINDINGS }] = await Promise.all([import('../loader/registry.js'), import('../surface/bindings.js')]);
  return buildRegistry(PACKAGE_ROOT, BINDINGS);
}

/**
 * Help needs two frontmatter lines of each command's Markdown, not the engine behind it nor the
 * validating loader (its YAML and schema libraries were most of `dbops --help`'s start-up time).
 */
async function loadCommandDocs(): Promise<CommandSummary[]> {
  const summaries = await readCommandSummaries(PACKAGE_ROOT);
  if (summaries !== undefined) return summaries;
  const { loadArtifacts } = await import('../loader/load-artifacts.js');
  return (await loadArtifacts(PACKAGE_ROOT)).commands;
}

function overview(commands: Awaited<ReturnType<typeof loadCommandDocs>>): string {
  const rows = [...commands.map((c) => [c.name, c.frontmatter.description]), ...META.map((m) => [m.name, m.summary])];
  const width = Math.max(...rows.map(([n]) => n!.length));
  return [
    'dbops — backup and restore for Supabase/PostgreSQL databases',
    '',
    'Usage: dbops <command> [options]',
    '',
    'Commands:',
    ...rows.map(([n, d]) => `  ${n!.padEnd(width)}  ${d}`),
    '',
    'Run dbops <command> --help for its options. Exit codes: 0 success, 1 failure, 2 usage error.',
    'Keep passwords off the process list: --target NAME, --url-env NAME or --url-file PATH instead of --url URL.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const json = rest.includes('--json');
  // SIGINT/SIGTERM stop the work cleanly (children killed, partial output removed); a second one
  // exits at once — except while a restore's target is being put back: that goes on to the end,
  // whatever arrives (critical-work.ts), and the person is told so.
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    const critical = criticalWork();
    if (critical !== undefined) {
      process.stderr.write(`\n${signal} received: ${critical}; Ctrl-C again will not stop this.\n`);
      controller.abort();
      return;
    }
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${signal} received: stopping and cleaning up…\n`);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      printText(overview(await loadCommandDocs()));
      return name === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (rest.length === 1 && (rest[0] === '--help' || rest[0] === '-h')) {
      const doc = (await loadCommandDocs()).find((c) => c.name === name);
      if (doc) {
        printText(commandHelp(doc));
        return EXIT_OK;
      }
    }
    const registry = await loadRegistry();
    if (name === 'mcp') {
      const { runMcpStdio } = await import('../mcp/stdio.js');
      return await runMcpStdio(rest, registry, controller.signal, PACKAGE_ROOT);
    }
    const { runCommandLine, runSlashLine } = await import('./run-command.js');
    if (name === 'run') {
      if (rest.length !== 1) throw new DbopsError('USAGE', 'dbops run takes one quoted slash line, e.g. dbops run "/backup-db --no-transient".');
      return await runSlashLine(registry, rest[0]!, controller.signal);
    }
    const command = registry.find(name);
    if (command === undefined) {
      throw new DbopsError('COMMAND_UNKNOWN', `Unknown command "${name}"; commands: ${[...registry.commands.map((c) => c.name), ...META.map((m) => m.name)].join(', ')}.`);
    }
    return await runCommandLine(command, rest, 'cli', controller.signal);
  } catch (error) {
    return printError(error, json);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${toDbopsError(error).message}\n`);
  return EXIT_FAILURE;
});
