import { criticalWork } from '../engine/critical-work.js';
import { DbopsError, toDbopsError } from '../engine/errors.js';
import type { Catalog, Registry } from '../loader/registry.js';
import { asksOverview, META, overviewText, printQuickOverview } from './overview.js';
import { PACKAGE_ROOT } from './paths.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, printError, printText } from './output.js';

// argv → registry command → invoke() → formatted result and exit code. Modules load lazily so
// `dbops --help` and `dbops --version` stay fast: they read only package.json and two
// frontmatter lines of each command's Markdown (overview.ts).

async function commandSurface() {
  const [registry, { COMMAND_MODULES }] = await Promise.all([import('../loader/registry.js'), import('../commands/index.js')]);
  return { ...registry, COMMAND_MODULES };
}

/** The commands' documents; a command's module loads when it runs. */
async function loadCatalog(): Promise<Catalog> {
  const { buildCatalog, COMMAND_MODULES } = await commandSurface();
  return buildCatalog(PACKAGE_ROOT, COMMAND_MODULES);
}

/** Every command loaded, for the MCP server. */
async function loadRegistry(): Promise<Registry> {
  const { buildRegistry, COMMAND_MODULES } = await commandSurface();
  return buildRegistry(PACKAGE_ROOT, COMMAND_MODULES);
}

/** The overview from the validating loader, for frontmatter the quick reading leaves to it. */
async function fullOverview(): Promise<string> {
  const { loadArtifacts } = await import('../loader/load-artifacts.js');
  return overviewText((await loadArtifacts(PACKAGE_ROOT)).commands, PACKAGE_ROOT);
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
    const shown = printQuickOverview(argv, PACKAGE_ROOT);
    if (shown !== undefined) return shown;
    // (No arguments asks for it too; said twice so the type checker knows `name` below.)
    if (asksOverview(argv) || name === undefined) {
      printText(await fullOverview());
      return name === undefined ? EXIT_USAGE : EXIT_OK;
    }
    const meta = META.find((m) => m.name === name);
    if (meta !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
      printText(`dbops ${meta.name} — ${meta.summary}\n\nUsage: ${meta.usage}\n\n${meta.help}`);
      return EXIT_OK;
    }
    // Before any module that builds a schema is loaded: zod decides when it builds one whether
    // it will compile a parser for it (zod-settings.ts).
    (await import('./zod-settings.js')).settleZodForCli();
    if (name === 'mcp') {
      const [registry, { runMcpStdio }] = await Promise.all([loadRegistry(), import('../mcp/stdio.js')]);
      return await runMcpStdio(rest, registry, controller.signal, PACKAGE_ROOT);
    }
    const [catalog, { runCommandLine, runSlashLine }] = await Promise.all([loadCatalog(), import('./run-command.js')]);
    if (name === 'run') {
      if (rest.length !== 1) throw new DbopsError('USAGE', 'dbops run takes one quoted slash line, e.g. dbops run "/backup-db --no-transient".');
      return await runSlashLine(catalog, rest[0]!, controller.signal);
    }
    const entry = catalog.find(name);
    if (entry === undefined) {
      throw new DbopsError(
        'COMMAND_UNKNOWN',
        `Unknown command "${name.length > 40 ? `${name.slice(0, 40)}…` : name}"; commands: ${[...catalog.commands.map((c) => c.name), ...META.map((m) => m.name)].join(', ')}.`,
      );
    }
    return await runCommandLine(await catalog.load(entry), rest, 'cli', controller.signal);
  } catch (error) {
    return printError(error, json);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

// No top-level await: the same module also runs as a classic script (bin/launch-built.js runs
// it with V8's code cache), where there is none. What an unsettled top-level await did — a
// non-zero exit when Node ran out of work before the command ended — is kept by hand.
let settled = false;
process.on('exit', (code) => {
  if (settled || code !== 0) return;
  process.stderr.write('dbops stopped before the command finished (it was left waiting on nothing); nothing more was done.\n');
  process.exitCode = EXIT_FAILURE;
});
void main(process.argv.slice(2))
  .catch((error: unknown) => {
    process.stderr.write(`${toDbopsError(error).message}\n`);
    return EXIT_FAILURE;
  })
  .then((code) => {
    settled = true;
    process.exitCode = code;
  });
