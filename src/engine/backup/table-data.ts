import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { DbopsError } from '../errors.js';
import { countRows, type CatalogTable } from '../pg/catalog.js';
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

export async function exportCsv(client: pg.Client, table: CatalogTable, file: string): Promise<void> {
  const source = client.query(copyTo(`COPY ${qualifiedName(table)} TO STDOUT WITH (FORMAT csv, HEADER true)`));
  try {
    await pipeline(source, createWriteStream(file, { mode: 0o600 }));
  } catch (error) {
    throw new DbopsError('QUERY_FAILED', `Exporting ${table.schema}.${table.table} as CSV failed: ${(error as Error).message}`, { cause: error });
  }
}
