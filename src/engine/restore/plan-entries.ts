import { readFile } from 'node:fs/promises';
import type pg from 'pg';
import type { BackupHandle } from '../folder/open.js';
import { globToRegExp } from '../backup/selection.js';
import { DbopsError } from '../errors.js';
import { objectsSchema, type ObjectEntry } from '../folder/manifest.js';
import { backupPaths } from '../folder/layout.js';
import { query } from '../pg/client.js';
import { qualifiedName } from '../pg/sql.js';
import { entryOwner, type TocEntry } from '../tools/dump-toc.js';
import { csvTablesOf, type CsvTable } from './table-rows.js';

// What a restore does with each entry of the dump, decided before anything is touched, from the
// backup's objects.json and the target's catalog:
//   restore   the app's objects (and, into a database without them, the platform's): dropped if
//             present, then created from the dump
//   keep      the platform's objects the target already has (or whose schema the platform owns
//             there): never dropped, re-created or re-owned
//   data      rows of a platform table the target has: loaded into it as data (the runbook's
//             "data-only for auth" path)
//   skip      extensions (extensions.sql creates them) and what the restoring role cannot create
//             and the app does not need (the platform's event triggers, its default privileges)

export type EntryAction = 'restore' | 'keep' | 'data' | 'skip';

export interface PlannedEntry {
  toc: TocEntry;
  object: ObjectEntry;
  action: EntryAction;
  reason?: string;
}

export interface EntryPlan {
  entries: PlannedEntry[];
  platformRoles: string[];
  /**
   * Tables whose rows only their CSV holds (a backup that stores the critical tables' rows once):
   * `platform` when the target keeps its own table (loaded with the platform's rows), else a
   * table the restore creates (loaded beside pg_restore's data run).
   */
  csvTables: Array<CsvTable & { platform: boolean }>;
  /** Platform tables whose rows are loaded from the backup, and those that keep the target's rows. */
  platformData: Array<{ schema: string; table: string }>;
  keptTables: Array<{ schema: string; table: string; reason: string }>;
  /** Schemas the target already has, whose owner the backup records differently: re-owned after they are kept. */
  schemaOwners: Array<{ schema: string; owner: string }>;
  /** What the restore will say it did not do, one line each. */
  notes: string[];
}

interface TargetFacts {
  superuser: boolean;
  createRole: boolean;
  user: string;
  platformSchemas: Set<string>;
  schemas: Map<string, string>;
  extensions: Set<string>;
  roles: string[];
}

const DATA_KINDS = new Set(['TABLE DATA', 'MATERIALIZED VIEW DATA', 'SEQUENCE SET', 'BLOBS', 'BLOB DATA']);

/** objects.json of the backup, or — for dbops backups made before it existed — a classification by the owner printed in the TOC. */
export async function loadObjects(
  handle: BackupHandle,
  toc: readonly TocEntry[],
  roles: readonly string[],
  platformRoles: readonly string[],
): Promise<Map<number, ObjectEntry>> {
  const text = await readFile(backupPaths(handle.dir).objects, 'utf8').catch(() => undefined);
  if (text !== undefined) {
    const parsed = objectsSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new DbopsError('BACKUP_CORRUPT', `${handle.folder}/objects.json is not valid: ${parsed.error.issues[0]?.message ?? 'unknown'}.`);
    return new Map(parsed.data.entries.map((e) => [e.id, e]));
  }
  const isPlatform = (role: string | undefined) => role !== undefined && platformRoles.some((p) => globToRegExp(p).test(role));
  return new Map(
    toc.map((entry) => {
      const owner = entryOwner(entry, roles);
      const origin: ObjectEntry['origin'] =
        entry.kind === 'EXTENSION' || entry.rest.startsWith('- EXTENSION ')
          ? 'extension'
          : isPlatform(owner) && entry.kind !== 'POLICY' && entry.kind !== 'TRIGGER'
            ? 'platform'
            : 'app';
      return [entry.id, { id: entry.id, kind: entry.kind, origin, owner: owner ?? null, address: null, table: null, references: null }];
    }),
  );
}

async function targetFacts(client: pg.Client, platformRoles: readonly string[], absentSchemas: readonly string[]): Promise<TargetFacts> {
  const [me] = await query<{ user: string; superuser: boolean; createrole: boolean }>(
    client,
    'the restoring role',
    `SELECT current_user::text AS user, rolsuper AS superuser, rolcreaterole AS createrole FROM pg_roles WHERE rolname = current_user`,
  );
  const schemas = (
    await query<{ name: string; owner: string }>(client, 'schemas', `SELECT nspname::text AS name, pg_get_userbyid(nspowner)::text AS owner FROM pg_namespace`)
  ).filter((s) => !absentSchemas.includes(s.name));
  const roles = (await query<{ rolname: string }>(client, 'roles', 'SELECT rolname::text AS rolname FROM pg_roles')).map((r) => r.rolname);
  const extensions = (await query<{ name: string }>(client, 'extensions', 'SELECT extname::text AS name FROM pg_extension')).map((r) => r.name);
  const isPlatform = (role: string) => platformRoles.some((p) => globToRegExp(p).test(role));
  return {
    superuser: me?.superuser ?? false,
    createRole: me?.createrole ?? false,
    user: me?.user ?? '',
    platformSchemas: new Set(schemas.filter((s) => isPlatform(s.owner)).map((s) => s.name)),
    schemas: new Map(schemas.map((s) => [s.name, s.owner])),
    extensions: new Set(extensions),
    roles,
  };
}

/** '- EXTENSION hstore owner' → hstore; '- EXTENSION "uuid-ossp" ' → uuid-ossp (the tag quotes names that need it). */
function extensionNamed(entry: TocEntry, facts: TargetFacts): string | undefined {
  const owner = entryOwner(entry, facts.roles);
  const body = entry.rest.slice('- EXTENSION '.length);
  const tag = (owner !== undefined && body.endsWith(` ${owner}`) ? body.slice(0, -owner.length - 1) : body).trim();
  return /^".*"$/.test(tag) ? tag.slice(1, -1).replace(/""/g, '"') : tag || undefined;
}

/** Whether each platform object (by its address) exists in the target; one savepoint per probe, nothing changes. */
async function existingAddresses(client: pg.Client, objects: readonly ObjectEntry[]): Promise<Set<number>> {
  const found = new Set<number>();
  await client.query('BEGIN READ ONLY');
  try {
    for (const o of objects) {
      if (o.address === null) continue;
      await client.query('SAVEPOINT probe');
      try {
        await client.query('SELECT pg_get_object_address($1, $2::text[], $3::text[])', [o.address.type, o.address.names, o.address.args]);
        found.add(o.id);
        await client.query('RELEASE SAVEPOINT probe');
      } catch {
        await client.query('ROLLBACK TO SAVEPOINT probe');
      }
    }
  } finally {
    await client.query('ROLLBACK');
  }
  return found;
}

/** absentSchemas: schemas the restore moves out of the way before it starts (dbops's own history). */
export async function planEntries(
  client: pg.Client,
  handle: BackupHandle,
  toc: readonly TocEntry[],
  platformRoles: readonly string[],
  absentSchemas: readonly string[] = [],
): Promise<EntryPlan> {
  const facts = await targetFacts(client, platformRoles, absentSchemas);
  const objects = await loadObjects(handle, toc, facts.roles, platformRoles);
  const platformObjects = [...objects.values()].filter((o) => o.origin === 'platform');
  const present = await existingAddresses(client, platformObjects);
  const targetHasPlatform = facts.platformSchemas.size > 0;
  const canBecome = async (role: string | null) =>
    role === null ||
    facts.superuser ||
    (
      await query<{ ok: boolean }>(client, 'role membership', `SELECT pg_has_role(current_user, r.oid, 'MEMBER') AS ok FROM pg_roles r WHERE r.rolname = $1`, [
        role,
      ])
    )[0]?.ok === true;

  const entries: PlannedEntry[] = [];
  const notes: string[] = [];
  const platformData: EntryPlan['platformData'] = [];
  const keptTables: EntryPlan['keptTables'] = [];
  const schemaOwners: EntryPlan['schemaOwners'] = [];
  for (const entry of toc) {
    const object = objects.get(entry.id) ?? {
      id: entry.id,
      kind: entry.kind,
      origin: 'app' as const,
      owner: null,
      address: null,
      table: null,
      references: null,
    };
    const plan = (action: EntryAction, reason?: string) => entries.push({ toc: entry, object, action, ...(reason === undefined ? {} : { reason }) });
    if (object.origin === 'extension') {
      // The comment on an extension the restore creates comes back; an extension the target has keeps its own.
      const name = entry.kind === 'COMMENT' && entry.rest.startsWith('- EXTENSION ') ? extensionNamed(entry, facts) : undefined;
      if (name !== undefined && !facts.extensions.has(name)) plan('restore');
      else plan('skip', 'created by CREATE EXTENSION (extensions.sql)');
      continue;
    }
    if (object.origin === 'app') {
      // A schema that exists is a container the target may fill with more than the backup holds
      // (extension members, the platform's functions): it is kept, and the backup's objects go into it.
      const name = entry.kind === 'SCHEMA' ? object.address?.names[0] : undefined;
      if (name !== undefined && facts.schemas.has(name)) {
        plan('keep', 'the target has this schema');
        if (object.owner !== null && facts.schemas.get(name) !== object.owner) schemaOwners.push({ schema: name, owner: object.owner });
      } else plan('restore');
      continue;
    }
    // The platform's entries from here on.
    const schema = object.address?.names[0] ?? object.table?.schema;
    const inPlatformSchema = schema !== undefined && facts.platformSchemas.has(schema) && object.kind !== 'SCHEMA';
    if (DATA_KINDS.has(entry.kind)) {
      const table = object.table;
      if (table !== null && (present.has(entry.id) || inPlatformSchema)) {
        plan('data');
        platformData.push(table);
      } else plan('restore');
      continue;
    }
    if (present.has(entry.id) || inPlatformSchema || (object.address === null && targetHasPlatform)) {
      plan('keep', "the platform's own, as the target has it");
      continue;
    }
    if (entry.kind === 'EVENT TRIGGER' && !facts.superuser) {
      plan('skip', "the platform's event trigger; only a superuser can create one");
      notes.push(
        `Left out the platform's event trigger ${object.address?.names.join('.') ?? entry.rest}: creating one needs a superuser, and the app does not need it.`,
      );
      continue;
    }
    if (entry.kind === 'DEFAULT ACL' && !(await canBecome(object.owner))) {
      plan('skip', `default privileges of ${object.owner}, which ${facts.user} cannot act for`);
      notes.push(`Left out the default privileges of ${object.owner}: ${facts.user} is not a member of that role.`);
      continue;
    }
    plan('restore');
  }

  // The CSV-only tables go where their definition goes: a table the restore creates gets its
  // rows with the rest of the data; a platform table the target keeps gets them as the platform's rows.
  const csvPlanned: Array<CsvTable & { platform: boolean }> = [];
  for (const csv of csvTablesOf(handle)) {
    const defined = entries.find((e) => e.toc.kind === 'TABLE' && e.object.table?.schema === csv.schema && e.object.table.table === csv.table);
    if (defined?.action === 'restore') csvPlanned.push({ ...csv, platform: false });
    else if (defined?.action === 'keep' && defined.object.origin === 'platform') {
      csvPlanned.push({ ...csv, platform: true });
      platformData.push({ schema: csv.schema, table: csv.table });
    }
  }
  await checkPlatformData(client, platformData, keptTables, entries);
  const kept = (t: { schema: string; table: string }) => keptTables.some((k) => k.schema === t.schema && k.table === t.table);
  return {
    entries,
    csvTables: csvPlanned.filter((t) => !kept(t)),
    platformRoles: [...platformRoles],
    schemaOwners,
    platformData: platformData.filter((t) => !keptTables.some((k) => k.schema === t.schema && k.table === t.table)),
    keptTables,
    notes,
  };
}

/**
 * Platform tables the platform has not granted the database owner INSERT on are its own
 * bookkeeping (Supabase revokes auth.schema_migrations and storage.migrations from postgres):
 * they keep the target's rows. The rest are loaded. The grant is read from the table's ACL,
 * not through role membership: a member of the owner would see every table as writable.
 */
async function checkPlatformData(
  client: pg.Client,
  tables: Array<{ schema: string; table: string }>,
  kept: EntryPlan['keptTables'],
  entries: PlannedEntry[],
): Promise<void> {
  if (tables.length === 0) return;
  const rows = await query<{ name: string; writable: boolean }>(
    client,
    'platform tables',
    `SELECT w.name, c.relowner = d.datdba OR EXISTS (
              SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee IN (d.datdba, 0) AND a.privilege_type = 'INSERT') AS writable
       FROM unnest($1::text[]) WITH ORDINALITY w(name, i)
       JOIN pg_class c ON c.oid = to_regclass(w.name)
       CROSS JOIN pg_database d WHERE d.datname = current_database()
      ORDER BY w.i`,
    [tables.map(qualifiedName)],
  );
  tables.forEach((t, i) => {
    if (rows[i]?.writable) return;
    kept.push({ ...t, reason: "the platform's own bookkeeping (the database owner may not write it)" });
    const planned = entries.find((e) => e.action === 'data' && e.object.table?.schema === t.schema && e.object.table.table === t.table);
    if (planned) {
      planned.action = 'keep';
      planned.reason = "the platform's bookkeeping: the target keeps its own rows";
    }
  });
}
