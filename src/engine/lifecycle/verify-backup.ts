import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse';
import type { z } from 'zod';
import { confinedFile, shownPath } from '../folder/confine.js';
import { verifyBackupFiles, type BackupHandle } from '../folder/open.js';
import { chooseBackup } from '../folder/scan.js';
import { parseConnectionUrl, withDatabase, type ConnectionSpec } from '../connection.js';
import type { EngineContext } from '../context.js';
import { isDbopsError, toDbopsError } from '../errors.js';
import { parseInput } from '../input.js';
import { backupPaths, backupsRoot } from '../folder/layout.js';
import { withClient } from '../pg/client.js';
import { startEmbeddedServer } from '../pg/embedded-server.js';
import { ident } from '../pg/sql.js';
import { applyBackup } from '../restore/apply-backup.js';
import { prepareRestore } from '../restore/prepare-restore.js';
import { verifyRestore, type Verification } from '../restore/verify-restore.js';
import { resolveTarget } from '../targets.js';
import { runTool } from '../tools/pg-tools.js';

// A backup checked without touching any database of the user's: metadata, every sha256, the
// dump's table of contents, the CSVs and their row counts. --drill also restores it into a
// throwaway database (always dropped) and compares every table's rows with row_counts.json.

export { verifyOptionsSchema } from '../options/verify-options.js';
import { verifyOptionsSchema } from '../options/verify-options.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface VerifyReport {
  backupDir: string;
  folder: string;
  layout: BackupHandle['layout'];
  /** Every check passed. */
  ok: boolean;
  /** Checks passed and there was something to verify them against: never true for old layouts, which carry no checksums. */
  verified: boolean;
  checks: Check[];
  drill: { server: string; database: string; dropped: boolean; verification: Verification | null; error: string | null } | null;
}

export async function verifyBackup(
  input: z.input<typeof verifyOptionsSchema>,
  ctx: EngineContext,
  onProgress: (message: string) => void = () => undefined,
): Promise<VerifyReport> {
  const options = parseInput('verify-backup', verifyOptionsSchema, input);
  const chosen = await chooseBackup(options.backup, { root: backupsRoot(ctx.root, ctx.config.backup.dir, ctx.env), cwd: ctx.root, now: ctx.now?.() });
  const handle = chosen.handle;
  const checks: Check[] = [];
  const check = async (name: string, work: () => Promise<string>) => {
    onProgress(name);
    try {
      checks.push({ name, ok: true, detail: await work() });
    } catch (error) {
      checks.push({ name, ok: false, detail: toDbopsError(error).message });
    }
  };

  await check('metadata', async () =>
    handle.manifest ? `format ${handle.manifest.formatVersion}, taken ${handle.createdAt.toISOString()} from ${handle.target}` : `old layout ${handle.layout}`,
  );
  await check('checksums', async () => {
    const result = chosen.check ?? (await verifyBackupFiles(handle));
    return result.warnings[0] ?? `${result.checked} files match their sha256`;
  });
  await check('dump', () => readDump(handle));
  if (handle.manifest) await check('csv', () => checkCsvs(handle));

  let drill: VerifyReport['drill'] = null;
  if (options.drill && checks.every((c) => c.ok)) {
    onProgress('drill: restoring into a throwaway database');
    drill = await runDrill(handle, options, ctx);
  }
  const ok = checks.every((c) => c.ok) && (drill === null ? !options.drill : drill.verification?.verified === true && drill.dropped);
  return { backupDir: handle.dir, folder: handle.folder, layout: handle.layout, ok, verified: ok && handle.layout === 'dbops', checks, drill };
}

/** The dump must be readable: its table of contents (or, for plain SQL, the whole gzip stream). */
async function readDump(handle: BackupHandle): Promise<string> {
  if (handle.layout === 'legacy-sql-gz') {
    await pipeline(createReadStream(path.join(handle.dir, 'backup.sql.gz')), createGunzip(), async function* (chunks) {
      for await (const _ of chunks) {
        /* drain: a corrupt stream throws here */
      }
    });
    return 'backup.sql.gz decompresses';
  }
  if (handle.layout === 'legacy-prod-sql') return 'plain SQL (no table of contents to read)';
  const dump = handle.layout === 'dbops' ? backupPaths(handle.dir).dump : path.join(handle.dir, 'db_full.dump');
  const { stdout } = await runTool('pg_restore', ['--list', dump]);
  const entries = stdout.split('\n').filter((l) => /^\d+;/.test(l)).length;
  return `pg_restore --list reads ${entries} entries`;
}

/** Records after the header row; a .csv.gz (what backups write since) is read through gunzip, a .csv as it is. */
async function countCsvRecords(file: string): Promise<number> {
  let records = 0;
  const count = async function* (rows: AsyncIterable<unknown>) {
    for await (const _ of rows) records++;
  };
  const parser = parseCsv({ from_line: 2, relax_column_count: false });
  if (file.endsWith('.gz')) await pipeline(createReadStream(file), createGunzip(), parser, count);
  else await pipeline(createReadStream(file), parser, count);
  return records;
}

/** csv-parse's messages quote the offending field: only its code and line are shown. */
function csvProblem(error: unknown): string {
  const e = error as { code?: unknown; lines?: unknown };
  return typeof e.code === 'string' ? `${e.code}${typeof e.lines === 'number' ? ` at line ${e.lines}` : ''}` : 'unreadable';
}

async function checkCsvs(handle: BackupHandle): Promise<string> {
  const problems: string[] = [];
  const realDir = await realpath(handle.dir);
  for (const t of handle.manifest!.criticalTables) {
    // The path comes from metadata.json: only a regular file inside the folder is read.
    const rows = await confinedFile(realDir, handle.folder, t.file)
      .then(countCsvRecords)
      .catch((e: unknown) => {
        problems.push(isDbopsError(e) ? e.message : `${shownPath(t.file)} does not parse (${csvProblem(e)})`);
        return -1;
      });
    if (rows >= 0 && rows !== t.rows) problems.push(`${t.file} holds ${rows} rows, metadata says ${t.rows}`);
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return `${handle.manifest!.criticalTables.length} CSVs parse and match their row counts`;
}

async function runDrill(handle: BackupHandle, options: z.output<typeof verifyOptionsSchema>, ctx: EngineContext): Promise<NonNullable<VerifyReport['drill']>> {
  let server: ConnectionSpec;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let where: string;
  try {
    server = resolveTarget(ctx.config, options, ctx.env).spec;
    where = `${server.host}:${server.port}`;
  } catch (error) {
    if (!isDbopsError(error) || options.target !== undefined || options.url !== undefined) throw error;
    // No server configured: a throwaway embedded one.
    const embedded = await startEmbeddedServer();
    stopEmbedded = embedded.stop;
    server = parseConnectionUrl(embedded.adminUrl, 'embedded server');
    where = 'embedded server';
  }
  const database = `dbops_drill_${randomBytes(4).toString('hex')}`;
  const drillSpec = withDatabase(server, database);
  let verification: Verification | null = null;
  let failure: string | null = null;
  let dropped = false;
  try {
    await withClient(server, (c) => c.query(`CREATE DATABASE ${ident(database)}`));
    try {
      const plan = await prepareRestore(handle, drillSpec, ctx.config.platform_roles, ctx.signal);
      await applyBackup({ handle, target: drillSpec, jobs: ctx.config.backup.jobs, plan, signal: ctx.signal });
      verification = await verifyRestore(handle, drillSpec, { content: handle.manifest?.options.contentHashes === true });
    } catch (error) {
      failure = toDbopsError(error).message;
    } finally {
      // Always dropped, whatever happened above.
      await withClient(server, (c) => c.query(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`));
      dropped = true;
    }
  } finally {
    await stopEmbedded?.();
  }
  return { server: where, database, dropped, verification, error: failure };
}
