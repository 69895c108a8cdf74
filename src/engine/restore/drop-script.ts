import path from 'node:path';
import { runTool } from '../tools/pg-tools.js';
import { writeTocList, type TocEntry } from '../tools/dump-toc.js';
import type { PlannedEntry } from './plan-entries.js';

// The statements that drop a set of the dump's entries, in the order PostgreSQL needs them,
// written by pg_restore itself: `pg_restore --clean --if-exists` prints every DROP first (in
// reverse dependency order, one per entry, IF EXISTS everywhere), then the first "-- Name:"
// block of the creating pass. Everything before that block is the drop script. Using
// pg_restore's own DROPs covers every object kind the dump can hold, however its name is spelt.

const CREATE_PASS = /^--\n-- Name: /m;

// What goes with its table: dropping the table drops these, and dropping them alone can fail
// (a partition's primary key is inherited from its parent's and cannot be dropped by itself).
const GOES_WITH_TABLE = new Set(['CONSTRAINT', 'CHECK CONSTRAINT', 'INDEX']);

/**
 * The entries to drop before the backup's objects are created: every restored object, except
 * what hangs on a table that is itself dropped. Foreign keys stay in: they are dropped first so
 * that tables can go in any order.
 */
export function entriesToDrop(planned: readonly PlannedEntry[]): TocEntry[] {
  const restored = planned.filter((e) => e.action === 'restore');
  const key = (t: { schema: string; table: string }) => `${t.schema}\u0000${t.table}`;
  const droppedTables = new Set(restored.filter((e) => e.toc.kind === 'TABLE' && e.object.table).map((e) => key(e.object.table!)));
  return restored.filter((e) => !(GOES_WITH_TABLE.has(e.toc.kind) && e.object.table !== null && droppedTables.has(key(e.object.table)))).map((e) => e.toc);
}

export async function dropScript(dumpDir: string, entries: readonly TocEntry[], workDir: string, signal?: AbortSignal): Promise<string> {
  if (entries.length === 0) return '';
  const list = path.join(workDir, `drop-${entries[0]!.id}-${entries.length}.list`);
  await writeTocList(list, entries);
  const { stdout } = await runTool('pg_restore', ['--clean', '--if-exists', '--schema-only', '--use-list', list, '--file', '-', dumpDir], { signal });
  const cut = stdout.search(CREATE_PASS);
  // Large objects count as data to --schema-only, so their DROP is not in it: unlinked by OID
  // (the TOC line's own number), when present.
  const blobs = entries
    .filter((e) => e.kind === 'BLOB')
    .map((e) => `SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid = ${e.objectId};`);
  return `${cut === -1 ? stdout : stdout.slice(0, cut)}${blobs.join('\n')}\n`;
}
