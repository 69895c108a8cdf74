import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadRowCounts, type BackupHandle } from '../folder/open.js';
import { tableKey } from '../folder/manifest.js';
import type { ConnectionSpec } from '../connection.js';
import { cutShort, DbopsError } from '../errors.js';
import { listForeignKeys } from '../pg/catalog.js';
import { query, withClient } from '../pg/client.js';
import { fkLoadOrder } from '../pg/fk-order.js';
import { qualifiedName } from '../pg/sql.js';
import { backupPaths } from '../folder/layout.js';
import { runTool } from '../tools/pg-tools.js';
import { csvTablesOf, tableRowsScript, type RowSource } from './table-rows.js';

// --data-only --tables: just those tables' rows, into a schema that already exists. One psql
// transaction truncates them and loads them in foreign-key order (parents first; deferrable
// constraints deferred), so a failure leaves every table as it was.

export interface TableDataPlan {
  /** The tables, in the target's foreign-key order. */
  ordered: Array<{ schema: string; table: string; oid: number }>;
  /** Where each one's rows come from (its data entry in the dump, or its CSV), in the same order. */
  sources: RowSource[];
}

export function parseTableList(list: readonly string[]): Array<{ schema: string; table: string }> {
  return list.map((item) => {
    const dot = item.indexOf('.');
    if (dot <= 0 || dot === item.length - 1) {
      throw new DbopsError('OPTION_INVALID', `--tables takes schema.table names; "${cutShort(item)}" has no schema.`);
    }
    return { schema: item.slice(0, dot), table: item.slice(dot + 1) };
  });
}

/** Every check of a data-only restore, made before anything is touched. */
export async function planTableData(handle: BackupHandle, target: ConnectionSpec, names: readonly string[], signal?: AbortSignal): Promise<TableDataPlan> {
  if (handle.layout !== 'dbops') {
    throw new DbopsError('BACKUP_INVALID', `--data-only needs a backup made by dbops backup-db; ${handle.folder} is an old layout.`);
  }
  const wanted = parseTableList(names);
  const counts = (await loadRowCounts(handle))!;
  const notInBackup = wanted.filter((t) => counts.get(tableKey(t))?.dataIncluded !== true).map(tableKey);
  if (notInBackup.length > 0) {
    throw new DbopsError(
      'OPTION_INVALID',
      `The backup holds no data for ${cutShort(notInBackup.join(', '), 300)}; tables with data: ${[...counts]
        .filter(([, c]) => c.dataIncluded)
        .map(([k]) => k)
        .slice(0, 20)
        .join(', ')}.`,
    );
  }

  const ordered = await withClient(target, async (client) => {
    const found = await query<{ schema: string; table: string; oid: number }>(
      client,
      'tables to restore',
      `SELECT n.nspname AS schema, c.relname AS table, c.oid::int AS oid
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN unnest($1::text[], $2::text[]) w(s, t) ON w.s = n.nspname AND w.t = c.relname
        WHERE c.relkind IN ('r', 'p')`,
      [wanted.map((t) => t.schema), wanted.map((t) => t.table)],
    );
    const missing = wanted.filter((w) => !found.some((f) => f.schema === w.schema && f.table === w.table)).map(tableKey);
    if (missing.length > 0) {
      throw new DbopsError(
        'OPTION_INVALID',
        `The target has no table ${missing.join(', ')}; --data-only restores into an existing schema (restore the full backup first).`,
      );
    }
    const fks = await listForeignKeys(client);
    // TRUNCATE refuses a table that a table outside the list references; say so before touching anything.
    const chosen = new Set(found.map((f) => f.oid));
    const outside = fks.filter((fk) => chosen.has(fk.parent) && !chosen.has(fk.child)).map((fk) => fk.child);
    if (outside.length > 0) {
      const names = await query<{ name: string }>(
        client,
        'referencing tables',
        `SELECT DISTINCT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY($1) ORDER BY 1`,
        [outside],
      );
      throw new DbopsError(
        'OPTION_INVALID',
        `--tables ${names.length === 1 ? 'leaves out' : 'leave out'} ${names.map((r) => r.name).join(', ')}, which ${names.length === 1 ? 'references' : 'reference'} the chosen tables: add ${names.length === 1 ? 'it' : 'them'} to --tables, or restore the full backup.`,
      );
    }
    return fkLoadOrder(found, fks).flatMap((g) => g.tables);
  });

  const dump = backupPaths(handle.dir).dump;
  const toc = (await runTool('pg_restore', ['--list', dump], { signal })).stdout.split('\n');
  const csvs = csvTablesOf(handle);
  const sources = ordered.map((t): RowSource => {
    const csv = csvs.find((c) => c.schema === t.schema && c.table === t.table);
    if (csv !== undefined) return { table: t, csv: csv.file };
    const line = toc.find((l) => / TABLE DATA /.test(l) && l.includes(` TABLE DATA ${t.schema} ${t.table} `));
    if (line === undefined) throw new DbopsError('BACKUP_CORRUPT', `The dump of ${handle.folder} has no data entry for ${tableKey(t)}.`);
    return { table: t, tocLine: line };
  });
  return { ordered, sources };
}

export async function loadTableData(handle: BackupHandle, target: ConnectionSpec, { ordered, sources }: TableDataPlan, signal?: AbortSignal): Promise<void> {
  const dump = backupPaths(handle.dir).dump;
  const work = await mkdtemp(path.join(tmpdir(), 'dbops-data-only-'));
  try {
    // The script follows our order: the foreign-key order.
    const script = await tableRowsScript(dump, sources, work, signal);
    await runTool(
      'psql',
      [
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '--single-transaction',
        '-c',
        'SET CONSTRAINTS ALL DEFERRED',
        '-c',
        `TRUNCATE ONLY ${ordered.map(qualifiedName).join(', ')}`,
        '-f',
        '-',
      ],
      { connection: target, signal, input: script },
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
