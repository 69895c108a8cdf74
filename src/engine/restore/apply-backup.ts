import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import type { BackupHandle } from '../backups/open-backup.js';
import type { ConnectionSpec } from '../connection.js';
import { query, withClient } from '../pg/client.js';
import { ident, literal } from '../pg/sql.js';
import { backupPaths } from '../paths.js';
import { resetDefaultPrivileges } from './reset-default-privileges.js';
import { dbnameArg, runTool } from '../tools/pg-tools.js';

// The destructive part of a restore, in the runbook's order: extensions → missing roles →
// schema and data (pg_restore --clean --if-exists, parallel) → grants → realtime publication
// members → PostgREST schema reload. Used for the backup, and for the safety snapshot when a
// restore has to be undone.

export type RestoreStep = 'extensions' | 'roles' | 'schema-and-data' | 'auth' | 'grants' | 'realtime' | 'reload';

export interface ApplyRequest {
  handle: BackupHandle;
  target: ConnectionSpec;
  jobs: number;
  signal?: AbortSignal | undefined;
  onStep?: ((step: RestoreStep, detail?: string) => void) | undefined;
}

export interface ApplyResult {
  createdRoles: string[];
  notes: string[];
}

const psqlArgs = (file: string) => ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file];

export async function applyBackup(request: ApplyRequest): Promise<ApplyResult> {
  return request.handle.layout === 'dbops' ? applyDbops(request) : applyLegacy(request);
}

async function applyDbops({ handle, target, jobs, signal, onStep }: ApplyRequest): Promise<ApplyResult> {
  const files = backupPaths(handle.dir);
  const run = { connection: target, signal };
  const notes: string[] = [];

  onStep?.('extensions');
  await runTool('psql', psqlArgs(files.extensionsSql), run);

  onStep?.('roles');
  const roles = await runTool('psql', psqlArgs(files.rolesSql), run);
  const createdRoles = [...roles.stderr.matchAll(/dbops: created role (.+)$/gm)].map((m) => m[1]!.trim());
  createdRoles.push(...(await createMissingRoles(target, handle.manifest?.rolesNeeded ?? [])));

  onStep?.('schema-and-data');
  await withClient(target, (client) => resetDefaultPrivileges(client, handle.manifest?.schemas ?? []));
  await runTool('pg_restore', ['--clean', '--if-exists', '--exit-on-error', `--jobs=${jobs}`, dbnameArg(target.database), files.dump], run);

  onStep?.('auth', 'auth data is part of the dump');
  if (handle.manifest?.excludedSchemas.includes('auth')) notes.push('auth was left out of this backup: the target\'s auth schema was not touched.');

  onStep?.('grants');
  await runTool('psql', psqlArgs(files.grantsSql), run);
  onStep?.('realtime');
  await runTool('psql', psqlArgs(files.realtimeSql), run);
  await reloadPostgrest(target, onStep);
  return { createdRoles, notes };
}

/** Roles the backup's owners and grants name that this cluster lacks: created NOLOGIN, never altered if present. */
async function createMissingRoles(target: ConnectionSpec, needed: readonly string[]): Promise<string[]> {
  if (needed.length === 0) return [];
  return withClient(target, async (client) => {
    const existing = new Set((await query<{ rolname: string }>(client, 'roles', 'SELECT rolname FROM pg_roles')).map((r) => r.rolname));
    const created: string[] = [];
    for (const role of needed.filter((r) => !existing.has(r))) {
      await query(client, `role ${role}`, `CREATE ROLE ${ident(role)} NOLOGIN`);
      created.push(role);
    }
    return created;
  });
}

async function reloadPostgrest(target: ConnectionSpec, onStep: ApplyRequest['onStep']): Promise<void> {
  onStep?.('reload');
  await withClient(target, (client) => client.query(`NOTIFY pgrst, ${literal('reload schema')}`));
}

async function applyLegacy({ handle, target, jobs, signal, onStep }: ApplyRequest): Promise<ApplyResult> {
  const file = (name: string) => path.join(handle.dir, name);
  const run = { connection: target, signal };
  const has = async (name: string) => (await readFile(file(name)).then(() => true, () => false));
  const notes = [`${handle.folder} is an old-layout backup (${handle.layout}); it was restored without checksums.`];

  onStep?.('extensions');
  if (await has('extensions.sql')) await runTool('psql', psqlArgs(file('extensions.sql')), run);
  else if (await has('extensions.tsv')) await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], { ...run, input: extensionsFromTsv(await readFile(file('extensions.tsv'), 'utf8')) });

  onStep?.('schema-and-data');
  if (handle.layout === 'legacy-custom-dump') {
    await runTool('pg_restore', ['--clean', '--if-exists', '--exit-on-error', `--jobs=${jobs}`, dbnameArg(target.database), file('db_full.dump')], run);
  } else if (handle.layout === 'legacy-sql-gz') {
    await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], { ...run, input: createReadStream(file('backup.sql.gz')).pipe(createGunzip()) });
  } else {
    await runTool('psql', psqlArgs(file('backup.sql')), run);
  }
  for (const [step, name] of [['grants', 'grants.sql'], ['realtime', 'realtime.sql']] as const) {
    onStep?.(step);
    if (await has(name)) await runTool('psql', psqlArgs(file(name)), run);
  }
  await reloadPostgrest(target, onStep);
  return { createdRoles: [], notes };
}

/** extensions.tsv of the old scripts: name, version[, schema] per line, with or without a header. */
export function extensionsFromTsv(tsv: string): string {
  return tsv
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([name]) => name !== undefined && name !== '' && name !== 'name' && name !== 'extname' && name !== 'plpgsql')
    .map(([name, , schema]) => `CREATE EXTENSION IF NOT EXISTS ${ident(name!)}${schema ? ` WITH SCHEMA ${ident(schema)}` : ''};`)
    .join('\n');
}
