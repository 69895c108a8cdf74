import { readFile } from 'node:fs/promises';
import type { BackupHandle } from '../backups/open-backup.js';
import { loadRowCounts } from '../backups/open-backup.js';
import { contentHash } from '../backup/table-data.js';
import type { ConnectionSpec } from '../connection.js';
import { contentHashesSchema } from '../manifest.js';
import { backupPaths } from '../paths.js';
import { countRows } from '../pg/catalog.js';
import { withClient } from '../pg/client.js';
import { qualifiedName } from '../pg/sql.js';

// Proof of a restore: every table's rows counted and compared with row_counts.json (included
// data must match exactly, left-out data must be empty), and on request a content hash per
// table compared with the one the backup recorded from its snapshot.

const HISTORY_TABLE = 'code_ops.artifact_events';

export interface TableCheck {
  schema: string;
  table: string;
  expected: number;
  actual: number | null;
  dataIncluded: boolean;
  /** The platform's table whose rows the target kept as its own (not restored, not compared). */
  keptByTarget?: boolean | undefined;
  ok: boolean;
  contentOk?: boolean | undefined;
}

export interface Verification {
  verified: boolean;
  /** False when the backup recorded no counts (some old layouts): nothing could be compared. */
  countsRecorded: boolean;
  tables: TableCheck[];
  mismatches: TableCheck[];
  emptyTables: string[];
  contentChecked: boolean;
  contentMismatches: string[];
}

export async function verifyRestore(handle: BackupHandle, target: ConnectionSpec, options: { content: boolean; keptByTarget?: readonly string[] }): Promise<Verification> {
  const kept = new Set(options.keptByTarget ?? []);
  const counts = await loadRowCounts(handle);
  const hashes = options.content && handle.manifest?.options.contentHashes
    ? contentHashesSchema.parse(JSON.parse(await readFile(backupPaths(handle.dir).contentHashes, 'utf8'))).tables
    : undefined;
  return withClient(target, async (client) => {
    const tables: TableCheck[] = [];
    for (const [key, expected] of counts ?? new Map()) {
      const dot = key.indexOf('.');
      const ref = { schema: key.slice(0, dot), table: key.slice(dot + 1) };
      const present = (await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [qualifiedName(ref)])).rows[0]?.present === true;
      // The old scripts' row_counts.json counted with count(*): partitions and children included.
      const actual = present ? await countRows(client, ref, handle.layout !== 'dbops') : null;
      const want = expected.dataIncluded ? expected.rows : 0;
      if (kept.has(key)) {
        tables.push({ ...ref, expected: want, actual, dataIncluded: expected.dataIncluded, keptByTarget: true, ok: actual !== null });
        continue;
      }
      // The invocation history keeps the target's own rows on top of the backup's (see keep-history).
      const ok = key === HISTORY_TABLE ? actual !== null && actual >= want : actual === want;
      tables.push({ ...ref, expected: want, actual, dataIncluded: expected.dataIncluded, ok });
    }
    const contentMismatches: string[] = [];
    for (const h of (hashes ?? []).filter((x) => `${x.schema}.${x.table}` !== HISTORY_TABLE && !kept.has(`${x.schema}.${x.table}`))) {
      const check = tables.find((t) => t.schema === h.schema && t.table === h.table);
      const ok = check?.actual !== null && (await contentHash(client, h)) === h.hash;
      if (check) check.contentOk = ok;
      if (!ok) contentMismatches.push(`${h.schema}.${h.table}`);
    }
    const mismatches = tables.filter((t) => !t.ok);
    return {
      verified: mismatches.length === 0 && contentMismatches.length === 0,
      countsRecorded: counts !== undefined,
      tables,
      mismatches,
      emptyTables: tables.filter((t) => t.actual === 0).map((t) => `${t.schema}.${t.table}`),
      contentChecked: hashes !== undefined,
      contentMismatches,
    };
  });
}
