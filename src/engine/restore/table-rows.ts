import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { HASH_SETTINGS } from '../backup/content-hash.js';
import type { ConnectionSpec } from '../connection.js';
import { DbopsError } from '../errors.js';
import type { BackupHandle } from '../folder/open.js';
import { connect } from '../pg/client.js';
import { qualifiedName } from '../pg/sql.js';
import { runTool } from '../tools/pg-tools.js';
import { gunzipFile } from './member-gunzip.js';

// Where a table's rows come from in a restore: the dump's data entry, or — for the critical
// tables of a backup that stores their rows once (metadata.json loadFromCsv) — the gzipped CSV
// written at backup time from the same snapshot. Two ways to load them:
//   - into tables the restore just created, before their indexes and keys: one COPY per CSV,
//     `jobs` at a time, beside pg_restore's own data run (loadCsvTables);
//   - into tables that exist with their keys (the platform's tables of a project, a data-only
//     restore): one psql transaction, parents first, fed a script in which each CSV is inline
//     COPY data (tableRowsScript), so the whole load commits or nothing does.

export interface CsvTable {
  schema: string;
  table: string;
  /** Absolute path of the .csv.gz. */
  file: string;
}

/** The critical tables whose rows only their CSV holds. */
export function csvTablesOf(handle: BackupHandle): CsvTable[] {
  return (handle.manifest?.criticalTables ?? [])
    .filter((t) => t.loadFromCsv === true)
    .map((t) => ({ schema: t.schema, table: t.table, file: path.join(handle.dir, ...t.file.split('/')) }));
}

/** The CSVs were written under these settings (content-hash.ts); the same ones read them back. */
const READ_SETTINGS = HASH_SETTINGS.filter(([name]) => ['DateStyle', 'IntervalStyle', 'TimeZone'].includes(name))
  .map(([name, value]) => `SET ${name} = '${value}';`)
  .join(' ');

/** COPY of a CSV with a header row; without a column list it takes the table's non-generated columns in order, as COPY TO wrote them. */
function copyCsv(table: { schema: string; table: string }, freeze = false): string {
  return `COPY ${qualifiedName(table)} FROM STDIN WITH (FORMAT csv, HEADER true${freeze ? ', FREEZE true' : ''})`;
}

/** Called on the loading connection once a table's rows are in (the restore's verification starts there). */
export type AfterLoad = (client: pg.Client, table: CsvTable) => Promise<void>;

/**
 * Loads each CSV into its (new, still key-less) table, biggest first: on one connection at first,
 * on up to `jobs` once `widen` settles (pg_restore's run beside it is over, its workers free).
 * Two loads beside a pg_restore worker shared two cores three ways, and the dump's biggest table,
 * slowed most, then finished alone with its index build on one core (measured on the bench).
 */
export async function loadCsvTables(
  target: ConnectionSpec,
  tables: readonly CsvTable[],
  jobs: number,
  signal?: AbortSignal,
  afterLoad?: AfterLoad,
  widen: Promise<unknown> = Promise.resolve(),
): Promise<void> {
  if (tables.length === 0) return;
  const sized = await Promise.all(tables.map(async (t) => ({ t, bytes: (await stat(t.file)).size })));
  const queue = sized.sort((a, b) => b.bytes - a.bytes).map((s) => s.t);
  let failed: unknown;
  // Ending a connection is what stops a COPY under way.
  const open = new Set<pg.Client>();
  const worker = async () => {
    const client = await connect(target);
    const end = () => void client.end().catch(() => undefined);
    signal?.addEventListener('abort', end, { once: true });
    open.add(client);
    try {
      if (failed !== undefined) throw failed;
      signal?.throwIfAborted();
      await client.query(READ_SETTINGS);
      for (let t = queue.shift(); t !== undefined && failed === undefined; t = queue.shift()) {
        signal?.throwIfAborted();
        await copyInto(client, t);
        await afterLoad?.(client, t);
      }
    } finally {
      open.delete(client);
      signal?.removeEventListener('abort', end);
      await client.end().catch(() => undefined);
    }
  };
  const started = (run: Promise<void>) =>
    run.catch((error: unknown) => {
      failed ??= error;
      throw error;
    });
  const first = started(worker());
  // The others start only for tables still waiting, and not after a failure (nor wait for
  // `widen` once the first connection has loaded everything).
  const more = Promise.race([
    widen,
    first.then(
      () => undefined,
      () => undefined,
    ),
  ]).then(
    () =>
      Promise.allSettled(
        Array.from({ length: Math.max(0, Math.min(jobs, tables.length) - 1) }, () =>
          queue.length > 0 && failed === undefined ? started(worker()) : undefined,
        ),
      ),
    // `widen` failed (pg_restore's run beside the loads): the restore has failed, so the loads stop too.
    (error: unknown) => {
      failed ??= error;
      for (const client of open) void client.end().catch(() => undefined);
      return [];
    },
  );
  const results = [...(await Promise.allSettled([first])), ...(await more)];
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected !== undefined) throw failed ?? rejected.reason;
}

async function copyInto(client: pg.Client, t: CsvTable): Promise<void> {
  try {
    // FREEZE: the rows go in frozen and all-visible, as VACUUM would leave them. Without it the
    // first read of each page (the verification's, right after) stamps every row's hint bits and
    // writes the page again, and autovacuum then rewrites it all once more. FREEZE needs the table
    // emptied in the same transaction: it is new, and empty, so TRUNCATE costs nothing.
    await client.query('BEGIN');
    await client.query(`TRUNCATE ONLY ${qualifiedName(t)}`);
    await pipeline(gunzipFile(t.file), client.query(copyFrom(copyCsv(t, true))));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw error;
    throw new DbopsError('RESTORE_FAILED', `Loading ${t.schema}.${t.table} from its CSV failed: ${(error as Error).message}`, { cause: error });
  }
}

export type RowSource = { table: { schema: string; table: string }; csv: string } | { table: { schema: string; table: string } | null; tocLine: string };

/**
 * A psql script (a stream: CSVs are not read into memory) that loads the sources in the order
 * given: a dump entry as the SQL pg_restore writes for it, a CSV as inline COPY data ended by
 * `\.` (COPY TO quotes a lone `\.` value in CSV, so the marker cannot be data).
 */
export async function tableRowsScript(dumpDir: string, sources: readonly RowSource[], work: string, signal?: AbortSignal): Promise<Readable> {
  const parts: Array<{ sql: string } | { file: string } | { csv: string; table: { schema: string; table: string } }> = [];
  let n = 0;
  for (const source of sources) {
    if ('csv' in source) {
      parts.push({ csv: source.csv, table: source.table });
      continue;
    }
    // One pg_restore per entry keeps each table's rows where the order puts them.
    const list = path.join(work, `rows-${n}.list`);
    const sql = path.join(work, `rows-${n}.sql`);
    n++;
    await writeFile(list, `${source.tocLine}\n`, { mode: 0o600 });
    await runTool('pg_restore', ['--data-only', '--use-list', list, '--file', sql, dumpDir], { signal });
    parts.push({ file: sql });
  }
  return Readable.from(
    (async function* () {
      for (const part of parts) {
        if ('sql' in part) yield part.sql;
        else if ('file' in part) yield* createReadStream(part.file);
        else {
          yield `${READ_SETTINGS}\n${copyCsv(part.table)};\n`;
          yield* gunzipFile(part.csv);
          yield '\\.\n';
        }
      }
    })(),
    { objectMode: false },
  );
}
