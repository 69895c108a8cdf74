import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { summingStream, type FileSum } from '../folder/checksums.js';
import type { ConnectionSpec } from '../connection.js';
import { DbopsError } from '../errors.js';
import type { CatalogTable, TableRef } from '../pg/catalog.js';
import { connect, query } from '../pg/client.js';
import { literal, qualifiedName } from '../pg/sql.js';
import { parallelGzip } from './parallel-gzip.js';
import { CONTENT_HASH_ALGORITHM, hashColumns, hashSettingsSql, tableFacts, type HashColumn } from './content-hash.js';

// Row counts, content hashes and the critical tables' CSVs, read while pg_dump runs: `readers`
// connections each import the backup's exported snapshot (SET TRANSACTION SNAPSHOT), so they
// see exactly the rows pg_dump writes, and share the work biggest table first. A table's count
// and hash come from one aggregate on the server (content-hash.ts); a CSV streams through gzip
// and its sha256 straight into its file, so nothing is held in memory and nothing is read twice.

export interface CountedTable {
  schema: string;
  table: string;
  rows: number;
  dataIncluded: boolean;
}

export interface HashedTable {
  schema: string;
  table: string;
  /** The columns hashed, so a verification hashes the same ones whatever the target adds. */
  columns: string[];
  hash: string;
}

export interface CsvExport {
  table: CatalogTable;
  /** Absolute path of the .csv.gz written. */
  file: string;
  sum: FileSum;
}

export interface TableDataRequest {
  connection: ConnectionSpec;
  snapshot: string;
  readers: number;
  /** Every dumped table; rows are counted for plain tables (partitioned parents hold none). */
  tables: readonly CatalogTable[];
  excludedData: ReadonlySet<number>;
  critical: readonly CatalogTable[];
  csvFile: (table: TableRef) => string;
  compression: number;
  contentHashes: boolean;
  signal: AbortSignal;
  onCsv?: ((table: string) => void) | undefined;
}

export interface TableData {
  counted: CountedTable[];
  hashes: { algorithm: string; tables: HashedTable[] } | undefined;
  csvs: CsvExport[];
}

type Task = { kind: 'facts'; table: CatalogTable; cost: number } | { kind: 'csv'; table: CatalogTable; cost: number };

export async function readTableData(request: TableDataRequest): Promise<TableData> {
  const counted = request.tables.filter((t) => t.kind === 'r');
  const readers = await openReaders(request.connection, request.snapshot, Math.max(1, request.readers), request.signal);
  const endAll = () => readers.forEach((c) => void c.end().catch(() => undefined));
  // Ending the clients is the only way to stop a query that waits on a lock.
  request.signal.addEventListener('abort', endAll, { once: true });
  try {
    const included = counted.filter((t) => !request.excludedData.has(t.oid));
    const read = [...new Map([...included, ...request.critical].map((t) => [t.oid, t])).values()];
    // Held until the readers commit, as pg_dump holds its own: DDL that would drop or rewrite a
    // table (not MVCC-safe) waits until every read of it is done, instead of changing it under us.
    if (read.length > 0) await query(readers[0]!, 'table locks', `LOCK TABLE ${read.map((t) => `ONLY ${qualifiedName(t)}`).join(', ')} IN ACCESS SHARE MODE`);
    const [sizes, columns] = await Promise.all([
      tableSizes(readers[0]!, request.tables),
      hashColumns(
        readers[readers.length > 1 ? 1 : 0]!,
        included.map((t) => t.oid),
      ),
    ]);
    // Writing a CSV (COPY, gzip) costs a few times what counting and hashing the same bytes does.
    const tasks: Task[] = [
      ...request.critical.map((table): Task => ({ kind: 'csv', table, cost: 4 * (sizes.get(table.oid) ?? 0) })),
      ...included.map((table): Task => ({ kind: 'facts', table, cost: sizes.get(table.oid) ?? 0 })),
    ].sort((a, b) => b.cost - a.cost);

    const facts = new Map<number, { rows: number; hash: string }>();
    const csvs = new Map<number, CsvExport>();
    await Promise.all(
      readers.map(async (client) => {
        for (let task = tasks.shift(); task !== undefined; task = tasks.shift()) {
          request.signal.throwIfAborted();
          if (task.kind === 'facts') {
            facts.set(task.table.oid, await tableFacts(client, task.table, columns.get(task.table.oid) ?? [], request.contentHashes));
          } else {
            request.onCsv?.(`${task.table.schema}.${task.table.table}`);
            const file = request.csvFile(task.table);
            csvs.set(task.table.oid, { table: task.table, file, sum: await exportCsv(client, task.table, file, request.compression) });
          }
        }
      }),
    );
    await Promise.all(readers.map((c) => c.query('COMMIT')));
    return {
      counted: counted.map((t) => ({ schema: t.schema, table: t.table, rows: facts.get(t.oid)?.rows ?? 0, dataIncluded: !request.excludedData.has(t.oid) })),
      hashes: request.contentHashes
        ? {
            algorithm: CONTENT_HASH_ALGORITHM,
            tables: included.map((t) => ({
              schema: t.schema,
              table: t.table,
              columns: (columns.get(t.oid) ?? []).map((c: HashColumn) => c.name),
              hash: facts.get(t.oid)!.hash,
            })),
          }
        : undefined,
      csvs: request.critical.map((t) => csvs.get(t.oid)!),
    };
  } finally {
    request.signal.removeEventListener('abort', endAll);
    endAll();
  }
}

/** Connections that each see the exported snapshot, read-only, with row security off as pg_dump has it. */
async function openReaders(spec: ConnectionSpec, snapshot: string, count: number, signal: AbortSignal): Promise<pg.Client[]> {
  const settled = await Promise.allSettled(Array.from({ length: count }, () => connect(spec)));
  const clients = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    signal.throwIfAborted();
    await Promise.all(
      clients.map((c) =>
        query(
          c,
          'the backup snapshot',
          // row_security off: a policy that would hide rows makes the read fail, never shrink.
          // No parallel workers: each reader's query is one of several running at once (pg_dump's
          // jobs, the other reader), so workers only compete with them for the same cores, and a
          // table's hash costs less than pg_dump's compressed copy of it, so it is never what the
          // backup waits for. Measured on the bench database, 11 alternating pairs: 9 faster
          // without, medians 4.70 -> 4.45 s, machine CPU 9.3 -> 8.7 s (pgbench_accounts' hash:
          // 0.58 CPU-s in one process against 0.68 s with two workers).
          `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT ${literal(snapshot)}; SET LOCAL row_security = off; SET LOCAL max_parallel_workers_per_gather = 0; ${hashSettingsSql(true)}`,
        ),
      ),
    );
    return clients;
  } catch (error) {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    throw error;
  }
}

async function tableSizes(client: pg.Client, tables: readonly CatalogTable[]): Promise<Map<number, number>> {
  const rows = await query<{ oid: number; bytes: string }>(
    client,
    'table sizes',
    'SELECT c.oid::int AS oid, pg_table_size(c.oid)::text AS bytes FROM pg_class c WHERE c.oid = ANY($1::oid[])',
    [tables.map((t) => t.oid)],
  );
  return new Map(rows.map((r) => [r.oid, Number(r.bytes)]));
}

const PIECE = 256 * 1024;

/** COPY … CSV with a header row → gzip → sha256 → the file. */
export async function exportCsv(client: pg.Client, table: TableRef, file: string, compression: number): Promise<FileSum> {
  const source = client.query(copyTo(`COPY ${qualifiedName(table)} TO STDOUT WITH (FORMAT csv, HEADER true)`));
  const summing = summingStream();
  try {
    // Deflate is most of the work (see parallel-gzip.ts), spread over libuv's threads; 256 KiB
    // file writes rather than the 16 KiB default. memLevel 9 (a bigger match table than the
    // default 8): 10-25 % less deflate time on the benchmark's CSVs for the same size; gzip -d
    // needs nothing different.
    await pipeline(source, parallelGzip({ level: compression, memLevel: 9 }), summing.stream, createWriteStream(file, { mode: 0o600, highWaterMark: PIECE }));
  } catch (error) {
    // A full disk is the disk's fault (errors.ts maps it); anything else is the read's.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw error;
    throw new DbopsError('QUERY_FAILED', `Exporting ${table.schema}.${table.table} as CSV failed: ${(error as Error).message}`, { cause: error });
  }
  return summing.sum();
}

/** The file's path relative to the backup folder, with "/" (as metadata.json records it). */
export function relativeFile(dir: string, file: string): string {
  return path.relative(dir, file).split(path.sep).join('/');
}
