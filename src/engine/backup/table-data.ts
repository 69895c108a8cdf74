import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { DbopsError } from '../errors.js';
import { countRows, type CatalogTable, type TableRef } from '../pg/catalog.js';
import { query } from '../pg/client.js';
import { qualifiedName } from '../pg/sql.js';

// Row counts and CSV exports, read on the client that holds the backup's snapshot so they
// equal what pg_dump (started on the same exported snapshot) writes.

export interface CountedTable {
  schema: string;
  table: string;
  rows: number;
  dataIncluded: boolean;
}

export async function countTables(
  client: pg.Client,
  tables: readonly CatalogTable[],
  excludedData: ReadonlySet<number>,
  signal?: AbortSignal,
): Promise<CountedTable[]> {
  const counted: CountedTable[] = [];
  // Partitioned parents hold no rows of their own; their partitions are counted one by one.
  for (const t of tables.filter((x) => x.kind === 'r')) {
    signal?.throwIfAborted();
    const dataIncluded = !excludedData.has(t.oid);
    counted.push({ schema: t.schema, table: t.table, rows: dataIncluded ? await countRows(client, t) : 0, dataIncluded });
  }
  return counted;
}

/**
 * An order-independent fingerprint of a table's rows, as pgcopydb's compare does: md5 over
 * the sorted hashtext() of every row's text form. Backup and restore compute it the same way.
 */
export async function contentHash(client: pg.Client, table: TableRef): Promise<string> {
  const rows = await query<{ h: string | null }>(
    client,
    `content hash of ${table.schema}.${table.table}`,
    `SELECT md5(coalesce(string_agg(h::text, ',' ORDER BY h), '')) AS h FROM (SELECT hashtext(t::text) AS h FROM ONLY ${qualifiedName(table)} t) s`,
  );
  return rows[0]?.h ?? '';
}

export async function exportCsv(client: pg.Client, table: CatalogTable, file: string): Promise<void> {
  const source = client.query(copyTo(`COPY ${qualifiedName(table)} TO STDOUT WITH (FORMAT csv, HEADER true)`));
  try {
    await pipeline(source, createWriteStream(file, { mode: 0o600 }));
  } catch (error) {
    throw new DbopsError('QUERY_FAILED', `Exporting ${table.schema}.${table.table} as CSV failed: ${(error as Error).message}`, { cause: error });
  }
}
