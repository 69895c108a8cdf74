import { readFile } from 'node:fs/promises';
import type pg from 'pg';
import type { BackupHandle } from '../folder/open.js';
import { tableKey } from '../folder/manifest.js';
import { DbopsError } from '../errors.js';
import { backupPaths } from '../folder/layout.js';
import { query } from '../pg/client.js';
import { qualifiedName } from '../pg/sql.js';
import type { EntryPlan } from './plan-entries.js';

// Before a restore touches anything: does the target have, or can the restoring role create,
// everything the backup needs? Roles, extensions, the rows that foreign keys point at when the
// backup left them out, room to replace the platform's rows, and the right to put the app's
// triggers and policies on the platform's tables. Every problem is found, the first one is the
// error's line, and all of them are in its details.

export async function checkNeeds(client: pg.Client, handle: BackupHandle, plan: EntryPlan, counts: BackupHandle['rowCounts']): Promise<void> {
  const problems = [
    ...(await missingRoles(client, handle, plan)),
    ...(await missingExtensions(client, handle)),
    ...(await danglingReferences(client, plan, counts)),
    ...(await blockedTruncates(client, plan)),
    ...(await forbiddenOnPlatformTables(client, plan)),
  ];
  if (problems.length === 0) return;
  throw new DbopsError(
    'TARGET_UNFIT',
    `The target cannot take ${handle.folder}: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : ''}.`,
    {
      details: problems,
    },
  );
}

// Kinds pg_restore gives an owner (ALTER … OWNER TO, or FOR ROLE): the restoring role must act for it.
const OWNED_KINDS = new Set([
  'SCHEMA',
  'TABLE',
  'VIEW',
  'MATERIALIZED VIEW',
  'SEQUENCE',
  'FOREIGN TABLE',
  'FUNCTION',
  'PROCEDURE',
  'AGGREGATE',
  'TYPE',
  'DOMAIN',
  'COLLATION',
  'CONVERSION',
  'OPERATOR',
  'OPERATOR CLASS',
  'OPERATOR FAMILY',
  'TEXT SEARCH CONFIGURATION',
  'TEXT SEARCH DICTIONARY',
  'EVENT TRIGGER',
  'PUBLICATION',
  'FOREIGN DATA WRAPPER',
  'SERVER',
  'BLOB',
  'LARGE OBJECT',
  'PROCEDURAL LANGUAGE',
  'STATISTICS',
  'DEFAULT ACL',
]);

async function missingRoles(client: pg.Client, handle: BackupHandle, plan: EntryPlan): Promise<string[]> {
  const owners = new Set(
    plan.entries.filter((e) => e.action === 'restore' && e.object.owner !== null && OWNED_KINDS.has(e.toc.kind)).map((e) => e.object.owner!),
  );
  const needed = [...new Set([...(handle.manifest?.rolesNeeded ?? []), ...owners])];
  if (needed.length === 0) return [];
  const rows = await query<{ name: string; exists: boolean; member: boolean; superuser: boolean; createrole: boolean }>(
    client,
    'roles the backup needs',
    `SELECT w.name, r.oid IS NOT NULL AS exists, coalesce(pg_has_role(current_user, r.oid, 'MEMBER'), false) AS member,
            me.rolsuper AS superuser, me.rolcreaterole AS createrole
       FROM unnest($1::text[]) w(name) LEFT JOIN pg_roles r ON r.rolname = w.name
       CROSS JOIN (SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user) me`,
    [needed],
  );
  const problems: string[] = [];
  const absent = rows.filter((r) => !r.exists).map((r) => r.name);
  if (absent.length > 0 && !rows[0]!.superuser && !rows[0]!.createrole) {
    problems.push(
      `it needs the roles ${absent.join(', ')}, which the target's server lacks, and the restoring role may not create roles (create them first, e.g. CREATE ROLE name NOLOGIN)`,
    );
  }
  // pg_restore re-owns each object (ALTER … OWNER TO): the restoring role must be able to act for every owner.
  const foreign = rows.filter((r) => owners.has(r.name) && !r.superuser && !(r.exists && r.member)).map((r) => r.name);
  if (foreign.length > 0) {
    problems.push(
      `its objects are owned by ${foreign.join(', ')}, which the restoring role cannot act for (restore as a member of ${foreign.length === 1 ? 'that role' : 'those roles'} or as a superuser)`,
    );
  }
  return problems;
}

async function missingExtensions(client: pg.Client, handle: BackupHandle): Promise<string[]> {
  const tsv = await readFile(backupPaths(handle.dir).extensionsTsv, 'utf8').catch(() => '');
  const wanted = tsv
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((line) => line.split('\t'))
    .map(([name, version]) => ({ name: name!, version: version ?? '' }));
  if (wanted.length === 0) return [];
  const rows = await query<{ name: string; version: string; installed: boolean; available: boolean; creatable: boolean }>(
    client,
    'extensions',
    `SELECT w.name, w.version,
            EXISTS (SELECT 1 FROM pg_extension e WHERE e.extname = w.name) AS installed,
            EXISTS (SELECT 1 FROM pg_available_extension_versions v WHERE v.name = w.name AND v.version = w.version) AS available,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
              OR EXISTS (SELECT 1 FROM pg_available_extension_versions v WHERE v.name = w.name AND v.version = w.version AND v.trusted) AS creatable
       FROM unnest($1::text[], $2::text[]) w(name, version)`,
    [wanted.map((w) => w.name), wanted.map((w) => w.version)],
  );
  return rows.flatMap((r) => {
    if (r.installed) return [];
    if (!r.available)
      return [
        `it needs the extension ${r.name} ${r.version}, which the target's server does not offer (install its package, e.g. postgresql-15-${r.name}, or restore onto a server that has it)`,
      ];
    if (!r.creatable)
      return [`it needs the extension ${r.name}, which only a superuser can create (ask one to run CREATE EXTENSION ${r.name} in the target first)`];
    return [];
  });
}

/**
 * A table whose rows the backup holds, with a foreign key into a table whose rows it left out
 * (--no-auth: the app's profiles → auth.users), only restores where those rows already are.
 */
async function danglingReferences(client: pg.Client, plan: EntryPlan, counts: BackupHandle['rowCounts']): Promise<string[]> {
  if (counts === undefined) return [];
  const recreated = new Set(
    plan.entries.filter((e) => e.action === 'restore' && e.toc.kind === 'TABLE' && e.object.table).map((e) => tableKey(e.object.table!)),
  );
  const problems: string[] = [];
  for (const fk of plan.entries.filter((e) => e.action === 'restore' && e.toc.kind === 'FK CONSTRAINT' && e.object.table && e.object.references)) {
    const child = counts.get(tableKey(fk.object.table!));
    const parent = counts.get(tableKey(fk.object.references!));
    if (child === undefined || !child.dataIncluded || child.rows === 0 || parent === undefined || parent.dataIncluded) continue;
    const ref = fk.object.references!;
    const why = `${tableKey(fk.object.table!)} (${child.rows} rows in the backup) references ${tableKey(ref)}, whose rows the backup left out`;
    if (recreated.has(tableKey(ref))) {
      problems.push(
        `${why}, and the restore creates it empty (restore into the database those rows live in, e.g. the Supabase project, or use a backup that includes them)`,
      );
      continue;
    }
    const [row] = await query<{ has: boolean | null }>(
      client,
      `rows of ${tableKey(ref)}`,
      `SELECT CASE WHEN to_regclass($1) IS NULL THEN NULL ELSE true END AS has`,
      [qualifiedName(ref)],
    );
    const has = row?.has === true ? (await client.query(`SELECT EXISTS (SELECT 1 FROM ${qualifiedName(ref)}) AS has`)).rows[0]?.has === true : false;
    if (!has)
      problems.push(
        `${why}, and the target has none (restore into the database those rows live in, e.g. the Supabase project, or use a backup that includes them)`,
      );
  }
  return problems;
}

/** Replacing a platform table's rows truncates it: every table that references it must be replaced too. */
async function blockedTruncates(client: pg.Client, plan: EntryPlan): Promise<string[]> {
  if (plan.platformData.length === 0) return [];
  const replaced = new Set([
    ...plan.platformData.map(tableKey),
    ...plan.entries.filter((e) => e.action === 'restore' && e.toc.kind === 'TABLE' && e.object.table).map((e) => tableKey(e.object.table!)),
  ]);
  const rows = await query<{ child: string; parent: string }>(
    client,
    'foreign keys into platform tables',
    `SELECT DISTINCT cn.nspname || '.' || cc.relname AS child, pn.nspname || '.' || pc.relname AS parent
       FROM pg_constraint k
       JOIN pg_class cc ON cc.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
       JOIN pg_class pc ON pc.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
      WHERE k.contype = 'f' AND k.confrelid = ANY (SELECT to_regclass(x) FROM unnest($1::text[]) x)
      ORDER BY 1, 2`,
    [plan.platformData.map(qualifiedName)],
  );
  return rows
    .filter((r) => !replaced.has(r.child))
    .map(
      (r) =>
        `replacing the rows of ${r.parent} would also empty ${r.child}, which only the target has (drop or empty it first, or restore a backup that includes it)`,
    );
}

/** The app's triggers and policies on tables the platform owns need the right to create them there. */
async function forbiddenOnPlatformTables(client: pg.Client, plan: EntryPlan): Promise<string[]> {
  const kept = new Set(
    plan.entries.filter((e) => e.action === 'keep' || e.action === 'data').flatMap((e) => (e.object.table ? [tableKey(e.object.table)] : [])),
  );
  const onPlatform = plan.entries.filter(
    (e) => e.action === 'restore' && (e.toc.kind === 'TRIGGER' || e.toc.kind === 'POLICY') && e.object.table && kept.has(tableKey(e.object.table)),
  );
  if (onPlatform.length === 0) return [];
  const rows = await query<{ name: string; owner_member: boolean; can_trigger: boolean; policy_grant: boolean }>(
    client,
    'rights on platform tables',
    `SELECT w.name,
            pg_has_role(current_user, c.relowner, 'MEMBER') AS owner_member,
            has_table_privilege(current_user, c.oid, 'TRIGGER') AS can_trigger,
            -- Supabase's supautils lets postgres manage policies on listed tables it does not own.
            coalesce((nullif(current_setting('supautils.policy_grants', true), '')::jsonb -> current_user) ? w.name, false) AS policy_grant
       FROM unnest($1::text[]) w(name) JOIN pg_class c ON c.oid = to_regclass(w.name)`,
    [[...new Set(onPlatform.map((e) => `${e.object.table!.schema}.${e.object.table!.table}`))]],
  );
  const right = new Map(rows.map((r) => [r.name, r]));
  const problems: string[] = [];
  for (const e of onPlatform) {
    const key = tableKey(e.object.table!);
    const r = right.get(key);
    const what = e.object.address?.names.at(-1) ?? e.toc.rest;
    if (e.toc.kind === 'TRIGGER' && !(r?.owner_member || r?.can_trigger))
      problems.push(`the app's trigger ${what} on ${key} needs the TRIGGER privilege on that table, which the restoring role lacks`);
    if (e.toc.kind === 'POLICY' && !(r?.owner_member || r?.policy_grant))
      problems.push(`the app's policy ${what} on ${key} needs the table's owner (or Supabase's supautils policy_grants), which the restoring role is not`);
  }
  return problems;
}
