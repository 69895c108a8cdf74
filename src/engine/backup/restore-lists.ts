import type { ObjectsFile } from '../folder/manifest.js';
import type { ScriptCsvTable } from './restore-scripts.js';

// Lists for `pg_restore --use-list`, in the dump's order, written into the backup so that
// restore.sh — bash and PostgreSQL's tools, no dbops — restores the right entries into either kind
// of target:
//   plain*.list     a database without the platform: everything but the extensions
//                   (extensions.sql creates them)
//   project*.list   a Supabase project: the app's objects and the rows of the platform's tables,
//                   never the platform's objects themselves
// Each comes in three parts, restored in this order: -schemas (schemas with their grants and
// comments, before extensions.sql puts extensions into them), the rest (in parallel), -serial
// (policies, row security, triggers and rules, foreign keys into tables the list does not
// create, and partition index attachments, with one job: in parallel they deadlock, each locking
// a table while it reads others pg_restore does not know about).

const LOCKING_KINDS = new Set(['POLICY', 'ROW SECURITY', 'TRIGGER', 'RULE']);
const ROWS = new Set(['TABLE DATA', 'SEQUENCE SET']);

export const LIST_NAMES = ['plain-schemas', 'plain', 'plain-serial', 'project-schemas', 'project', 'project-rows', 'project-serial'] as const;
export type ListName = (typeof LIST_NAMES)[number];

export function restoreLists(objects: ObjectsFile): Record<ListName, string> {
  const entries = objects.entries.filter((e) => e.line !== undefined);
  type Entry = (typeof entries)[number];
  const schema = (e: Entry) => e.kind === 'SCHEMA' || (['ACL', 'COMMENT', 'SECURITY LABEL'].includes(e.kind) && / - SCHEMA /.test(e.line!));
  const locking = (e: Entry) => LOCKING_KINDS.has(e.kind) || (e.kind === 'COMMENT' && / (POLICY|TRIGGER|RULE) .+ ON /.test(e.line!));
  const text = (list: Entry[]) => `${list.map((e) => e.line).join('\n')}\n`;
  const key = (t: { schema: string; table: string }) => `${t.schema}\u0000${t.table}`;
  const split = (list: Entry[]) => {
    // Foreign keys into tables this list does not create (the platform's, in a project) deadlock in parallel too.
    const created = new Set(list.filter((e) => e.kind === 'TABLE' && e.table).map((e) => key(e.table!)));
    // Partition index attachments deadlock beside other workers on the same partition tree; the
    // foreign keys that may reference a partitioned table need the attachments done first. The
    // list cannot tell which tables are partitioned, so with any attachment every key waits too.
    const attaching = list.some((e) => e.kind === 'INDEX ATTACH');
    const serial = (e: Entry) =>
      locking(e) || e.kind === 'INDEX ATTACH' || (e.kind === 'FK CONSTRAINT' && e.references !== null && (attaching || !created.has(key(e.references))));
    return [text(list.filter(schema)), text(list.filter((e) => !schema(e) && !serial(e))), text(list.filter((e) => !schema(e) && serial(e)))];
  };
  const [plainSchemas, plain, plainSerial] = split(entries.filter((e) => e.origin !== 'extension'));
  const [projectSchemas, project, projectSerial] = split(entries.filter((e) => e.origin === 'app'));
  const rows = entries.filter((e) => e.origin === 'platform' && ROWS.has(e.kind) && e.loadable !== false);
  return {
    'plain-schemas': plainSchemas!,
    plain: plain!,
    'plain-serial': plainSerial!,
    'project-schemas': projectSchemas!,
    project: project!,
    'project-rows': text(parentsFirst(rows, entries)),
    'project-serial': projectSerial!,
  };
}

/**
 * The platform's rows go into a project whose foreign keys between its tables already exist, one
 * table at a time: referenced tables first (storage.buckets before storage.objects), from the
 * backup's own FK entries. Tables in a cycle keep the dump's order.
 */
function parentsFirst<T extends { kind: string; table: { schema: string; table: string } | null; references: { schema: string; table: string } | null }>(
  rows: T[],
  all: readonly T[],
): T[] {
  const key = (t: { schema: string; table: string }) => `${t.schema}\u0000${t.table}`;
  const loading = new Set(rows.filter((r) => r.kind === 'TABLE DATA' && r.table).map((r) => key(r.table!)));
  const parents = new Map<string, Set<string>>();
  for (const fk of all.filter((e) => e.kind === 'FK CONSTRAINT' && e.table && e.references)) {
    const [child, parent] = [key(fk.table!), key(fk.references!)];
    if (child !== parent && loading.has(child) && loading.has(parent)) parents.set(child, new Set([...(parents.get(child) ?? []), parent]));
  }
  const placed = new Set<string>();
  const ordered: T[] = [];
  let pending = rows.filter((r) => r.kind === 'TABLE DATA');
  while (pending.length > 0) {
    const ready = pending.filter((r) => [...(parents.get(key(r.table!)) ?? [])].every((p) => placed.has(p)));
    const next = ready.length > 0 ? ready : pending.slice(0, 1); // a cycle: the dump's order
    for (const r of next) {
      ordered.push(r);
      placed.add(key(r.table!));
    }
    pending = pending.filter((r) => !next.includes(r));
  }
  return [...ordered, ...rows.filter((r) => r.kind !== 'TABLE DATA')];
}

/**
 * The CSV-only critical tables as restore.sh loads them. Into a project, a platform table's CSV
 * goes with the platform's rows (lists/project-rows.list), whose foreign keys already exist in
 * the project: before those rows when it is referenced by them or by nothing (auth.users before
 * auth.sessions), after them when it references one of their tables.
 */
export function scriptCsvTables(
  critical: ReadonlyArray<{ schema: string; table: string; file: string; loadFromCsv?: boolean | undefined }>,
  objects: ObjectsFile,
): ScriptCsvTable[] {
  const key = (t: { schema: string; table: string }) => `${t.schema}\u0000${t.table}`;
  const platformTables = new Set(objects.entries.filter((e) => e.kind === 'TABLE' && e.origin === 'platform' && e.table).map((e) => key(e.table!)));
  const dumpRows = new Set(objects.entries.filter((e) => e.kind === 'TABLE DATA' && e.origin === 'platform' && e.table).map((e) => key(e.table!)));
  const fks = objects.entries.filter((e) => e.kind === 'FK CONSTRAINT' && e.table && e.references);
  return critical
    .filter((t) => t.loadFromCsv === true)
    .map((t) => {
      const platform = platformTables.has(key(t));
      const afterRows = platform && fks.some((fk) => key(fk.table!) === key(t) && dumpRows.has(key(fk.references!)));
      return { schema: t.schema, table: t.table, file: t.file, platform, afterRows };
    });
}

/** The list files with their paths, for the backup's file writer (lists/ must exist). */
export function restoreListFiles(files: { list: (name: ListName) => string }, objects: ObjectsFile): Array<[string, string]> {
  return Object.entries(restoreLists(objects)).map(([name, text]) => [files.list(name as ListName), text]);
}
