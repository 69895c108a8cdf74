import { DbopsError } from '../engine/errors.js';
import { parseCommandArgs } from './args.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, printError, printJson, printText, progressWriter } from './output.js';

// argv → command → engine → formatted result and exit code. Engine modules are imported
// lazily so `dbops --help` starts fast.

interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], signal: AbortSignal): Promise<number>;
}

const COMMANDS: CliCommand[] = [
  {
    name: 'backup-db',
    summary: 'Back up a database into a timestamped folder under storage/backups/',
    usage:
      'dbops backup-db [--target NAME | --url URL] [--prod] [--no-transient] [--no-org-data] [--no-auth] [--no-storage] [--label TEXT] [--out DIR] [--jobs N] [--content-hashes | --no-content-hashes] [--json]',
    async run(argv, signal) {
      const { cliContext } = await import('./context.js');
      const ctx = cliContext(signal);
      const { backupOptionSpec, backupInput, backupJson, backupSummary } = await import('./backup-command.js');
      const args = parseCommandArgs('backup-db', argv, backupOptionSpec(ctx.config), 0);
      if (args.values.help === true) return help('backup-db');
      const json = args.values.json === true;
      const { backupDatabase } = await import('../engine/backup/backup.js');
      const progress = progressWriter(!json && process.stderr.isTTY === true);
      const result = await backupDatabase(backupInput(args, ctx.config), ctx, (p) => {
        if (p.phase === 'connect') progress(`connecting to ${p.target}`);
        else if (p.phase === 'snapshot') progress(`snapshot ${p.snapshot}: ${p.tables} tables`);
        else if (p.phase === 'dump-table') progress(`dumping ${p.table}`);
        else if (p.phase === 'csv') progress(`exporting ${p.table} as CSV`);
        else if (p.phase === 'files') progress('writing schema, grants, roles, realtime and extension files');
        else if (p.phase === 'checksums') progress('computing checksums');
      });
      if (json) printJson(backupJson(result));
      else printText(backupSummary(result, process.cwd()));
      return EXIT_OK;
    },
  },
  {
    name: 'restore-db',
    summary: 'Restore the latest (or a given) backup into a database, safely, and verify it',
    usage:
      'dbops restore-db [PATH] [--from TARGET] [--target NAME | --url URL] [--yes] [--confirm DBNAME] [--jobs N] [--no-safety-backup] [--data-only --tables s.t,…] [--verify counts|content] [--json]',
    async run(argv, signal) {
      const { cliContext } = await import('./context.js');
      const ctx = cliContext(signal);
      const r = await import('./restore-command.js');
      const args = parseCommandArgs('restore-db', argv, r.restoreOptionSpec, 1);
      if (args.values.help === true) return help('restore-db');
      const json = args.values.json === true;
      const { restoreDatabase } = await import('../engine/restore/restore.js');
      const progress = progressWriter(!json && process.stderr.isTTY === true);
      const result = await restoreDatabase(r.restoreInput(args), ctx, {
        ask: process.stdin.isTTY === true && !json ? r.askOnTerminal : undefined,
        onProgress: (p) => {
          if (p.phase === 'plan' && !json) process.stderr.write(`${r.planText(p.plan)}\n`);
          else if (p.phase === 'safety-backup') progress('taking the pre-restore safety snapshot of the target');
          else if (p.phase === 'step') progress(`restoring: ${p.step}`);
          else if (p.phase === 'rollback') progress(`restore failed: putting the target back from ${p.snapshotDir}`);
          else if (p.phase === 'verify') progress('verifying row counts');
        },
      });
      if (json) printJson(r.restoreJson(result));
      else printText(r.restoreSummary(result, process.cwd()));
      return result.verification.verified ? EXIT_OK : EXIT_FAILURE;
    },
  },
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'dbops — backup and restore for Supabase/PostgreSQL databases',
    '',
    'Usage: dbops <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run dbops <command> --help for its options.',
  ].join('\n');
}

function help(name: string): number {
  const command = COMMANDS.find((c) => c.name === name);
  printText(command ? `${command.summary}\n\nUsage: ${command.usage}` : overview());
  return EXIT_OK;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const json = rest.includes('--json');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    printText(overview());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    return printError(new DbopsError('USAGE', `Unknown command "${name}"; commands: ${COMMANDS.map((c) => c.name).join(', ')}.`), json);
  }
  // SIGINT/SIGTERM stop the work cleanly (children killed, partial output removed); a second one exits at once.
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${signal} received: stopping and cleaning up…\n`);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    return await command.run(rest, controller.signal);
  } catch (error) {
    return printError(error, json);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

process.exitCode = await main(process.argv.slice(2));
