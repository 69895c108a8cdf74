import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { membershipsIn } from '../backup/roles-sql.js';
import type { BackupHandle } from '../folder/open.js';
import type { ConnectionSpec } from '../connection.js';
import { listForeignKeys, type TableRef } from '../pg/catalog.js';
import { query, withClient } from '../pg/client.js';
import { fkLoadOrder } from '../pg/fk-order.js';
import { ident, literal, qualifiedName } from '../pg/sql.js';
import { backupPaths } from '../folder/layout.js';
import { writeTocList, type TocEntry } from '../tools/dump-toc.js';
import { dbnameArg, runTool } from '../tools/pg-tools.js';
import { dropScript, entriesToDrop } from './drop-script.js';
import type { EntryPlan, PlannedEntry } from './plan-entries.js';
import { applyLegacy } from './apply-legacy.js';
import { loadCsvTables, tableRowsScript, type AfterLoad, type CsvTable, type RowSource } from './table-rows.js';
import { resetDefaultPrivileges } from './reset-default-privileges.js';

// The destructive part of a restore, in the runbook's order: extensions → missing roles → the
// app's objects dropped → schema → the platform's rows → data, constraints, triggers, policies
// and grants (pg_restore, parallel) → realtime publication members → PostgREST schema reload.
// Used for the backup, and for the safety snapshot when a restore has to be undone. Grants come
// back with their objects (the dump's ACL entries; grants.sql is the same, for people).

export type RestoreStep = 'extensions' | 'roles' | 'drop' | 'schema' | 'platform-data' | 'schema-and-data' | 'auth' | 'grants' | 'realtime' | 'reload';

export interface ApplyRequest {
  handle: BackupHandle;
  target: ConnectionSpec;
  jobs: number;
  /** What to do with each dump entry (dbops layout), decided and checked before anything was touched. */
  plan?: EntryPlan | undefined;
  signal?: AbortSignal | undefined;
  onStep?: ((step: RestoreStep, detail?: string) => void) | undefined;
  /** Called on the loading connection as each table created from its CSV has its rows. */
  onTableLoaded?: AfterLoad | undefined;
  /**
   * Called once pg_restore has filled these tables for good, while the rest of the restore runs:
   * `wrapUp` says to start no further table, `stop` to end at once (the restore failed).
   */
  onTablesRestored?: ((tables: TableRef[], signals: { stop: AbortSignal; wrapUp: AbortSignal }) => Promise<void>) | undefined;
}

export interface ApplyResult {
  createdRoles: string[];
  /** Roles the restore changed, each with what changed (memberships among roles it created). */
  changedRoles?: string[];
  notes: string[];
}

const psqlArgs = (file: string) => ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file];

export async function applyBackup(request: ApplyRequest): Promise<ApplyResult> {
  return request.handle.layout === 'dbops' ? applyDbops(request) : applyLegacy(request, () => reloadPostgrest(request.target, request.onStep));
}

async function applyDbops({ handle, target, jobs, plan, signal, onStep, onTableLoaded, onTablesRestored }: ApplyRequest): Promise<ApplyResult> {
  if (plan === undefined) throw new Error('applyBackup: a dbops backup is applied from its entry plan');
  const files = backupPaths(handle.dir);
  const run = { connection: target, signal };
  const notes = [...plan.notes];
  const work = await mkdtemp(path.join(tmpdir(), 'dbops-restore-'));
  // The SQL that pg_restore writes from the dump for the drops, the schemas and the grants only
  // reads the dump: it is worked out at once, beside the steps that come before its use.
  const restored = plan.entries.filter((e) => e.action === 'restore').map((e) => e.toc);
  const acls = restored.filter(isRunAsSql);
  const scriptRuns = [
    dropScript(files.dump, entriesToDrop(plan.entries), work, signal),
    sqlOf(files.dump, restored.filter(isSchemaEntry), path.join(work, 'schemas.list'), signal),
    sqlOf(files.dump, acls, path.join(work, 'acl.list'), signal),
  ] as const;
  const scripts = Promise.all(scriptRuns);
  scripts.catch(() => undefined); // awaited below; must not count as unhandled meanwhile
  try {
    onStep?.('roles');
    // roles.sql is read for names only, never run: one written by an older dbops re-creates the
    // source's attributes (SUPERUSER included) and memberships.
    const roles = await createMissingRoles(target, handle.manifest?.rolesNeeded ?? [], membershipsIn(await readFile(files.rolesSql, 'utf8').catch(() => '')));
    const createdRoles = roles.created;
    notes.push(...roles.notes);

    const appList = path.join(work, 'restore.list');

    // The app's objects the backup holds go first, in one transaction, with the statements
    // pg_restore itself writes for them; the platform's objects are never in the list.
    onStep?.('drop');
    await withClient(target, (client) => resetDefaultPrivileges(client, handle.manifest?.schemas ?? [], plan.platformRoles));
    const [drops, schemaSql, aclSql] = await scripts;
    if (drops !== '') await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction'], { ...run, input: drops });

    // Schemas, then the extensions that live in them, then everything that uses their types.
    // A schema's grants and comment go with it, also for a schema the target already has: they
    // are written out as SQL, because pg_restore run against a database skips an ACL or COMMENT
    // entry whose schema entry is not in the same run.
    onStep?.('schema');
    if (schemaSql !== '') await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction'], { ...run, input: schemaSql });
    for (const { schema, owner } of plan.schemaOwners) {
      await withClient(target, (client) => client.query(`ALTER SCHEMA ${ident(schema)} OWNER TO ${ident(owner)}`)).catch((error: Error) => {
        notes.push(`Schema ${schema} keeps its owner on the target: giving it to ${owner} failed (${error.message}).`);
      });
    }
    onStep?.('extensions');
    await runTool('psql', psqlArgs(files.extensionsSql), run);
    const rest = path.join(work, 'pre-data.list');
    await writeTocList(
      rest,
      restored.filter((e) => !isSchemaEntry(e) && !isRunAsSql(e)),
    );
    await runTool('pg_restore', ['--exit-on-error', '--section=pre-data', '--use-list', rest, dbnameArg(target.database), files.dump], run);

    // Rows of the platform's tables (auth.users, storage.objects …) go into the target's own
    // tables before the app's foreign keys into them and its triggers on them exist.
    const data = plan.entries.filter((e) => e.action === 'data');
    const csvTables = plan.csvTables ?? [];
    const platformCsv = csvTables.filter((t) => t.platform);
    if (data.length > 0 || platformCsv.length > 0) {
      onStep?.('platform-data', plan.platformData.map((t) => `${t.schema}.${t.table}`).join(', '));
      await loadPlatformData(files.dump, target, plan.platformData, data, platformCsv, work, signal);
    }

    // Rows, indexes and constraints in parallel; then, one at a time, what locks a table while it
    // reads others that pg_restore does not know it depends on (a policy's USING clause, a trigger
    // on a platform table): in parallel those deadlock.
    onStep?.('schema-and-data');
    const main = restored.filter((e) => !isSchemaEntry(e) && !isRunAsSql(e));
    const outside = foreignKeysOutOfRun(plan);
    const attaching = await partitionIndexAttachments(plan, target);
    const locking = (e: TocEntry) => isLockingEntry(e) || outside.has(e.id) || attaching.has(e.id);
    const serial = main.filter(locking);
    await writeTocList(
      appList,
      main.filter((e) => !locking(e)),
    );
    const newCsv = csvTables.filter((t) => !t.platform);
    if (newCsv.length === 0) {
      await runTool(
        'pg_restore',
        ['--exit-on-error', '--section=data', '--section=post-data', `--jobs=${jobs}`, '--use-list', appList, dbnameArg(target.database), files.dump],
        run,
      );
    } else {
      // The CSV-only tables load beside pg_restore's data run (their tables are new and have no
      // keys yet), and what touches them comes after both: a key checked before its rows are in
      // would fail, an index built before them would slow the load. The indexes and keys of the
      // other tables need not wait: pg_restore builds each as soon as its own table's rows are in,
      // while the CSVs still load, as a plain pg_restore would (measured on the bench: the
      // biggest table's primary key no longer waits for the slowest CSV).
      // A partitioned or inheritance parent of a CSV table counts as one: a foreign key or a key
      // on it reads (and locks) its children, the CSV table among them.
      // The indexes and keys of the CSV tables that read no other table go in as soon as the CSVs
      // are in, beside what is left of pg_restore's run (measured on the bench: the CSVs were in
      // 300-400 ms before the dump's biggest table had its key, and these builds took ~340 ms
      // after both). They and that run touch different tables, so neither waits on the other's locks.
      const { first, afterCsv, rest, filled } = splitAroundCsvLoads(
        main.filter((e) => !locking(e)),
        plan,
        newCsv,
        await ancestorsOf(target, newCsv),
      );
      const firstList = path.join(work, 'restore-first.list');
      const afterCsvList = path.join(work, 'restore-after-csv.list');
      const restList = path.join(work, 'restore-rest.list');
      await writeTocList(firstList, first);
      await writeTocList(afterCsvList, afterCsv);
      await writeTocList(restList, rest);
      const dumpRun = runTool(
        'pg_restore',
        ['--exit-on-error', '--section=data', '--section=post-data', `--jobs=${jobs}`, '--use-list', firstList, dbnameArg(target.database), files.dump],
        run,
      );
      // A failed dump run stops these builds too (the loads stop by themselves: see loadCsvTables).
      const dumpFailed = new AbortController();
      dumpRun.catch(() => dumpFailed.abort());
      const csvRun = async () => {
        await loadCsvTables(target, newCsv, jobs, signal, onTableLoaded, dumpRun);
        if (afterCsv.length === 0) return;
        const stop = signal === undefined ? dumpFailed.signal : AbortSignal.any([signal, dumpFailed.signal]);
        stop.throwIfAborted();
        await runTool(
          'pg_restore',
          ['--exit-on-error', '--section=post-data', `--jobs=${jobs}`, '--use-list', afterCsvList, dbnameArg(target.database), files.dump],
          { ...run, signal: stop },
        );
      };
      // The tables that run filled are verified while the CSVs and the second run go on; once
      // that run is over no further table is started (the end checks the rest, in parallel).
      const stopChecks = new AbortController();
      const wrapUp = new AbortController();
      const stop = signal === undefined ? stopChecks.signal : AbortSignal.any([signal, stopChecks.signal]);
      const checks = dumpRun.then(() => onTablesRestored?.(filled, { stop, wrapUp: wrapUp.signal })).catch(() => undefined);
      try {
        const loads = await Promise.allSettled([dumpRun, csvRun()]);
        const failed = loads.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
        signal?.throwIfAborted();
        await runTool(
          'pg_restore',
          ['--exit-on-error', '--section=data', '--section=post-data', `--jobs=${jobs}`, '--use-list', restList, dbnameArg(target.database), files.dump],
          run,
        );
        wrapUp.abort();
      } catch (error) {
        stopChecks.abort();
        throw error;
      } finally {
        // Nothing of this run is left running when it returns or fails.
        await checks;
      }
    }
    if (serial.length > 0) {
      const serialList = path.join(work, 'serial.list');
      await writeTocList(serialList, serial);
      await runTool('pg_restore', ['--exit-on-error', '--section=post-data', '--use-list', serialList, dbnameArg(target.database), files.dump], run);
    }
    // Grants last, as SQL, for the same reason as the schemas' (grants on the members of an
    // extension, and its comment, hang on an EXTENSION entry the restore leaves to extensions.sql).
    onStep?.('grants');
    if (aclSql !== '') await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction'], { ...run, input: aclSql });
    for (const kept of plan.keptTables) notes.push(`${kept.schema}.${kept.table} keeps the target's rows: ${kept.reason}.`);

    onStep?.('realtime');
    await runTool('psql', psqlArgs(files.realtimeSql), run);
    await reloadPostgrest(target, onStep);
    return { createdRoles, changedRoles: roles.changed, notes };
  } finally {
    // The scripts' pg_restore runs read their lists from `work`: every one ends before it goes.
    await Promise.allSettled(scriptRuns);
    await rm(work, { recursive: true, force: true });
  }
}

/** Every partitioned or inheritance parent, at any depth, of these tables (which exist on the target by now). */
export async function ancestorsOf(target: ConnectionSpec, tables: ReadonlyArray<{ schema: string; table: string }>): Promise<TableRef[]> {
  if (tables.length === 0) return [];
  return withClient(target, (client) =>
    query<TableRef>(
      client,
      'Reading the parents of the tables loaded from CSVs',
      `WITH RECURSIVE up(rel) AS (
         SELECT i.inhparent FROM pg_inherits i WHERE i.inhrelid IN (SELECT to_regclass(t) FROM unnest($1::text[]) AS t)
         UNION
         SELECT i.inhparent FROM up JOIN pg_inherits i ON i.inhrelid = up.rel
       )
       SELECT n.nspname::text AS schema, c.relname::text AS table FROM up JOIN pg_class c ON c.oid = up.rel JOIN pg_namespace n ON n.oid = c.relnamespace`,
      [tables.map(qualifiedName)],
    ),
  );
}

/** The SQL pg_restore writes for these entries ('' for none). */
async function sqlOf(dump: string, entries: readonly TocEntry[], list: string, signal: AbortSignal | undefined): Promise<string> {
  if (entries.length === 0) return '';
  await writeTocList(list, entries);
  return (await runTool('pg_restore', ['--use-list', list, '--file', '-', dump], { signal })).stdout;
}

// Rows that go in with pg_restore's first run. Anything else of the data section (a kind not
// named here) goes in the second run, after the CSVs: later, never lost.
const FIRST_RUN_DATA = new Set(['TABLE DATA', 'SEQUENCE SET', 'BLOBS', 'BLOB DATA']);
// What may be built before the CSVs are in: it reads only the table it hangs on (and, for a
// foreign key, the table it references), both named in objects.json.
const FIRST_RUN_BUILDS = new Set(['INDEX', 'CONSTRAINT', 'FK CONSTRAINT']);

/**
 * The entries of pg_restore's parallel run split in three: `first` runs beside the CSV loads (the
 * dump's rows, and the indexes and keys of tables that are not loaded from a CSV and reference
 * none), `afterCsv` once the CSVs are in, beside what is left of `first` (the indexes and keys of
 * CSV tables that read only CSV tables), `rest` after both (everything else of the data and
 * post-data sections; the pre-data entries it also holds are left out by the --section options,
 * as they were done before). `parents`: the partitioned or inheritance parents of the CSV tables,
 * which count as CSV tables for `first` (a key on one reads its children) and whose own builds,
 * which may read children loaded by `first`, wait for `rest`.
 */
export function splitAroundCsvLoads(
  entries: readonly TocEntry[],
  plan: EntryPlan,
  csvTables: ReadonlyArray<{ schema: string; table: string }>,
  parents: ReadonlyArray<{ schema: string; table: string }> = [],
): { first: TocEntry[]; afterCsv: TocEntry[]; rest: TocEntry[]; filled: TableRef[] } {
  const key = (t: { schema: string; table: string }) => `${t.schema}\u0000${t.table}`;
  const fromCsv = new Set([...csvTables, ...parents].map(key));
  const parentKeys = new Set(parents.map(key));
  const csvOnly = new Set(csvTables.map(key).filter((k) => !parentKeys.has(k)));
  const objects = new Map(plan.entries.map((e) => [e.toc.id, e.object]));
  /** A build whose table, and referenced table if it has one, are all in `tables` (and known). */
  const buildWithin = (entry: TocEntry, tables: (k: string) => boolean) => {
    if (!FIRST_RUN_BUILDS.has(entry.kind)) return false;
    const object = objects.get(entry.id);
    if (object?.table == null || !tables(key(object.table))) return false;
    return object.references == null ? entry.kind !== 'FK CONSTRAINT' : tables(key(object.references));
  };
  const early = (entry: TocEntry) => FIRST_RUN_DATA.has(entry.kind) || buildWithin(entry, (k) => !fromCsv.has(k));
  const first = entries.filter(early);
  const afterCsv = entries.filter((e) => !early(e) && buildWithin(e, (k) => csvOnly.has(k)));
  const placed = new Set([...first, ...afterCsv]);
  const filled = first.flatMap((e) => {
    const table = e.kind === 'TABLE DATA' ? objects.get(e.id)?.table : undefined;
    return table == null ? [] : [{ schema: table.schema, table: table.table }];
  });
  return { first, afterCsv, rest: entries.filter((e) => !placed.has(e)), filled };
}

/** A schema, or its grants, comment or security label (their tag is "SCHEMA name", their schema "-"). */
function isSchemaEntry(entry: TocEntry): boolean {
  return entry.kind === 'SCHEMA' || (['ACL', 'COMMENT', 'SECURITY LABEL'].includes(entry.kind) && entry.rest.startsWith('- SCHEMA '));
}

/** Grants (but a schema's), and comments on extensions: entries whose parent is not in pg_restore's run. */
function isRunAsSql(entry: TocEntry): boolean {
  return (entry.kind === 'ACL' && !isSchemaEntry(entry)) || (entry.kind === 'COMMENT' && entry.rest.startsWith('- EXTENSION '));
}

const LOCKING_KINDS = new Set(['POLICY', 'ROW SECURITY', 'TRIGGER', 'RULE']);

/**
 * Foreign keys into tables the restore does not create (the platform's auth.users): pg_restore
 * knows nothing of those tables' locks, so in parallel two of them can deadlock.
 */
function foreignKeysOutOfRun(plan: EntryPlan): Set<number> {
  const key = (t: { schema: string; table: string }) => `${t.schema}\u0000${t.table}`;
  const created = new Set(plan.entries.filter((e) => e.action === 'restore' && e.toc.kind === 'TABLE' && e.object.table).map((e) => key(e.object.table!)));
  return new Set(
    plan.entries
      .filter((e) => e.action === 'restore' && e.toc.kind === 'FK CONSTRAINT' && e.object.references && !created.has(key(e.object.references)))
      .map((e) => e.toc.id),
  );
}

/**
 * `ALTER INDEX … ATTACH PARTITION` takes an exclusive lock on the partition's index while it
 * reads the partition; run beside another worker's index build or foreign key on the same
 * partition tree it can deadlock (seen: torture fixture, two levels of partitions, -j2). These
 * run one at a time after the parallel run, and with them the foreign keys that reference a
 * partitioned table, which need its index valid, so attached first (the serial run keeps
 * pg_dump's order, which puts each attachment before the keys that need it).
 */
async function partitionIndexAttachments(plan: EntryPlan, target: ConnectionSpec): Promise<Set<number>> {
  const restoring = plan.entries.filter((e) => e.action === 'restore');
  const attachments = restoring.filter((e) => e.toc.kind === 'INDEX ATTACH');
  if (attachments.length === 0) return new Set();
  // The tables exist by now (pre-data ran): the target says which are partitioned.
  const partitioned = await withClient(target, async (client) => {
    const rows = await query<{ schema: string; table: string }>(
      client,
      'Reading the partitioned tables of the target',
      `SELECT n.nspname::text AS schema, c.relname::text AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'p'`,
    );
    return new Set(rows.map((r) => `${r.schema}\u0000${r.table}`));
  });
  const keys = restoring.filter(
    (e) => e.toc.kind === 'FK CONSTRAINT' && e.object.references && partitioned.has(`${e.object.references.schema}\u0000${e.object.references.table}`),
  );
  return new Set([...attachments, ...keys].map((e) => e.toc.id));
}

/** Policies, row security, triggers and rules, and the comments on them (which must be in their run). */
function isLockingEntry(entry: TocEntry): boolean {
  return LOCKING_KINDS.has(entry.kind) || (entry.kind === 'COMMENT' && / (POLICY|TRIGGER|RULE) .+ ON /.test(entry.rest));
}

/**
 * The platform's rows: one transaction empties the tables and loads them in the target's
 * foreign-key order, from the dump's data entries or, for CSV-only tables, their CSVs.
 */
async function loadPlatformData(
  dumpDir: string,
  target: ConnectionSpec,
  tables: ReadonlyArray<{ schema: string; table: string }>,
  entries: readonly PlannedEntry[],
  csvTables: readonly CsvTable[],
  work: string,
  signal?: AbortSignal,
): Promise<void> {
  const ordered = await withClient(target, async (client) => {
    const found = await query<{ schema: string; table: string; oid: number }>(
      client,
      'platform tables',
      `SELECT n.nspname::text AS schema, c.relname::text AS table, c.oid::int AS oid FROM unnest($1::text[]) w(name)
         JOIN pg_class c ON c.oid = to_regclass(w.name) JOIN pg_namespace n ON n.oid = c.relnamespace`,
      [tables.map(qualifiedName)],
    );
    return fkLoadOrder(found, await listForeignKeys(client)).flatMap((g) => g.tables);
  });
  const key = (t: { schema: string; table: string }) => `${t.schema}.${t.table}`;
  const csvOf = new Map(csvTables.map((t) => [key(t), t]));
  const dataOf = new Map(entries.filter((e) => e.toc.kind === 'TABLE DATA' && e.object.table).map((e) => [key(e.object.table!), e]));
  // Parents first; then what is not a table's rows (sequence values), in the dump's order.
  const sources: RowSource[] = [];
  const loading: Array<{ schema: string; table: string }> = [];
  for (const t of ordered) {
    const csv = csvOf.get(key(t));
    const entry = dataOf.get(key(t));
    if (csv !== undefined) sources.push({ table: t, csv: csv.file });
    else if (entry !== undefined) sources.push({ table: t, tocLine: entry.toc.line });
    else continue;
    loading.push(t);
  }
  const placed = new Set(sources.flatMap((s) => ('tocLine' in s ? [s.tocLine] : [])));
  for (const e of entries) if (!placed.has(e.toc.line)) sources.push({ table: e.object.table, tocLine: e.toc.line });
  const script = await tableRowsScript(dumpDir, sources, work, signal);
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
      ...(loading.length > 0 ? ['-c', `TRUNCATE ONLY ${loading.map(qualifiedName).join(', ')}`] : []),
      '-f',
      '-',
    ],
    { connection: target, signal, input: script },
  );
}

/**
 * Roles the backup's owners and grants name that this cluster lacks: created NOLOGIN with no
 * other attribute. A role that exists is never altered, and gains no membership: memberships
 * the backup records are granted only between two roles created here, the rest are named in a
 * note for a person to decide.
 */
async function createMissingRoles(
  target: ConnectionSpec,
  needed: readonly string[],
  memberships: ReadonlyArray<{ role: string; member: string; admin: boolean }>,
): Promise<{ created: string[]; changed: string[]; notes: string[] }> {
  if (needed.length === 0) return { created: [], changed: [], notes: [] };
  return withClient(target, async (client) => {
    const existing = new Set((await query<{ rolname: string }>(client, 'roles', 'SELECT rolname FROM pg_roles')).map((r) => r.rolname));
    const created: string[] = [];
    for (const role of needed.filter((r) => !existing.has(r))) {
      await query(client, `role ${role}`, `CREATE ROLE ${ident(role)} NOLOGIN`);
      created.push(role);
    }
    const present = new Set(
      (
        await query<{ role: string; member: string }>(
          client,
          'role memberships',
          `SELECT r.rolname AS role, m.rolname AS member FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member`,
        )
      ).map((x) => `${x.role}\u0000${x.member}`),
    );
    const changed: string[] = [];
    const left: string[] = [];
    for (const m of memberships) {
      if ((!needed.includes(m.role) && !needed.includes(m.member)) || present.has(`${m.role}\u0000${m.member}`)) continue;
      if (created.includes(m.role) && created.includes(m.member)) {
        await query(client, `role ${m.member}`, `GRANT ${ident(m.role)} TO ${ident(m.member)}${m.admin ? ' WITH ADMIN OPTION' : ''}`);
        changed.push(`${m.member}: member of ${m.role}${m.admin ? ' (with admin option)' : ''}`);
      } else {
        left.push(`${m.member} in ${m.role}`);
      }
    }
    const notes =
      left.length === 0
        ? []
        : [
            `Memberships the backup records were not granted, because they would change roles this restore did not create: ${left.slice(0, 20).join(', ')}${left.length > 20 ? ` and ${left.length - 20} more` : ''}. Grant the ones you want by hand.`,
          ];
    return { created, changed, notes };
  });
}

export async function reloadPostgrest(target: ConnectionSpec, onStep: ApplyRequest['onStep']): Promise<void> {
  onStep?.('reload');
  await withClient(target, (client) => client.query(`NOTIFY pgrst, ${literal('reload schema')}`));
}
