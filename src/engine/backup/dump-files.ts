import { readFile, unlink, writeFile } from 'node:fs/promises';
import { runTool } from '../tools/pg-tools.js';
import { normaliseSql } from './normalise-sql.js';

// Files derived from the dump itself rather than from the server: they describe exactly what
// the dump holds (same snapshot) and cost no extra round trip.

/** schema.sql: every definition in the dump, as plain, greppable SQL. */
export async function writeSchemaSql(dumpDir: string, file: string, signal?: AbortSignal): Promise<void> {
  await runTool('pg_restore', ['--schema-only', '--file', file, dumpDir], { signal });
  await writeFile(file, normaliseSql(await readFile(file, 'utf8')), { mode: 0o600 });
}

/** The dump's table-of-contents entries that carry privileges. */
export function aclEntries(tocList: string): string[] {
  return tocList.split('\n').filter((line) => /^\d+; \d+ \d+ (ACL|DEFAULT ACL) /.test(line));
}

/**
 * grants.sql: privileges (GRANT/REVOKE) on schemas, tables, sequences and functions, and
 * default privileges, for every role, as pg_dump itself writes them. REVOKE-then-GRANT
 * statements make the file re-appliable on its own, e.g. after "permission denied for table".
 */
export async function writeGrantsSql(dumpDir: string, file: string, listFile: string, signal?: AbortSignal): Promise<void> {
  const { stdout } = await runTool('pg_restore', ['--list', dumpDir], { signal });
  await writeFile(listFile, `${aclEntries(stdout).join('\n')}\n`);
  try {
    await runTool('pg_restore', ['--use-list', listFile, '--file', file, dumpDir], { signal });
  } finally {
    await unlink(listFile).catch(() => undefined);
  }
  const header = '-- Privileges of every role on the backed-up objects, and default privileges. Re-appliable.\n';
  await writeFile(file, header + normaliseSql(await readFile(file, 'utf8')), { mode: 0o600 });
}
