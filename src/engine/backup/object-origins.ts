import type pg from 'pg';
import type { ObjectEntry, ObjectsFile } from '../folder/manifest.js';
import { query } from '../pg/client.js';
import { entryOwner, type TocEntry } from '../tools/dump-toc.js';
import { globToRegExp } from './selection.js';

// objects.json: who each entry of the dump belongs to, decided on the source's catalog by the
// entry's OID while the backup's snapshot is still open. A restore reads it to leave what the
// platform owns (Supabase's auth and storage schemas, tables, functions, event triggers …) as
// the target has it, and to restore only the app's objects — including the app's triggers on
// auth.users and policies on storage.objects, which live on platform tables.
//
//   platform   owned by a platform role (config platform_roles), or hanging on such an object
//              (its constraints, indexes, rules, row security, comments, grants); a trigger on a
//              platform table is the platform's only when its function is the platform's too
//   extension  created by CREATE EXTENSION (extensions.sql re-creates it), never dropped
//   app        everything else; a policy is always the app's (platforms ship tables, apps write policies)

interface CatalogRow {
  id: number;
  type: string | null;
  names: string[] | null;
  args: string[] | null;
  owner: string | null;
  table_schema: string | null;
  table_name: string | null;
  table_owner: string | null;
  trigger_function_owner: string | null;
  references_schema: string | null;
  references_name: string | null;
  owner_may_insert: boolean | null;
  extension_member: boolean;
}

// Every catalog with an owner column, so one join finds any object's owner.
const OWNERS = [
  ['pg_class', 'relowner'],
  ['pg_namespace', 'nspowner'],
  ['pg_proc', 'proowner'],
  ['pg_type', 'typowner'],
  ['pg_event_trigger', 'evtowner'],
  ['pg_default_acl', 'defaclrole'],
  ['pg_largeobject_metadata', 'lomowner'],
  ['pg_collation', 'collowner'],
  ['pg_conversion', 'conowner'],
  ['pg_operator', 'oprowner'],
  ['pg_opclass', 'opcowner'],
  ['pg_opfamily', 'opfowner'],
  ['pg_ts_config', 'cfgowner'],
  ['pg_ts_dict', 'dictowner'],
  ['pg_foreign_data_wrapper', 'fdwowner'],
  ['pg_foreign_server', 'srvowner'],
  ['pg_extension', 'extowner'],
  ['pg_statistic_ext', 'stxowner'],
  ['pg_publication', 'pubowner'],
  ['pg_language', 'lanowner'],
] as const;

const CLASSIFY = `
WITH e AS (
  -- Entries without a catalog of their own (TABLE DATA, ROW SECURITY, SEQUENCE SET …) carry their table's OID.
  SELECT id, CASE WHEN classid = 0 THEN 'pg_class'::regclass::oid ELSE classid END AS classid, objid
    FROM unnest($1::int[], $2::oid[], $3::oid[]) AS u(id, classid, objid)
),
owners(classid, objid, owner) AS (
  ${OWNERS.map(([catalog, column]) => `SELECT '${catalog}'::regclass::oid, oid, ${column} FROM ${catalog}`).join('\n  UNION ALL ')}
),
parent AS (
  -- What a dependent object (constraint, index, trigger, policy, rule, default) hangs on.
  SELECT DISTINCT ON (d.classid, d.objid) d.classid, d.objid, d.refclassid, d.refobjid
    FROM pg_depend d JOIN e ON e.classid = d.classid AND e.objid = d.objid
   WHERE d.deptype IN ('a', 'i') AND d.refclassid IN ('pg_class'::regclass, 'pg_type'::regclass)
   ORDER BY d.classid, d.objid, d.refclassid
)
SELECT e.id,
       a.type, a.object_names::text[] AS names, a.object_args::text[] AS args,
       pg_get_userbyid(coalesce(o.owner, po.owner))::text AS owner,
       tn.nspname::text AS table_schema, tc.relname::text AS table_name, pg_get_userbyid(tc.relowner)::text AS table_owner,
       (SELECT pg_get_userbyid(p.proowner)::text FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
         WHERE e.classid = 'pg_trigger'::regclass AND t.oid = e.objid) AS trigger_function_owner,
       rn.nspname::text AS references_schema, rc.relname::text AS references_name,
       -- Platform tables whose rows the database owner may not write are the platform's own bookkeeping.
       CASE WHEN tc.oid IS NOT NULL THEN tc.relowner = d.datdba OR EXISTS (
         SELECT 1 FROM aclexplode(tc.relacl) a WHERE a.grantee IN (d.datdba, 0) AND a.privilege_type = 'INSERT') END AS owner_may_insert,
       EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = e.classid AND x.objid = e.objid AND x.deptype = 'e') AS extension_member
  FROM e
  LEFT JOIN LATERAL pg_identify_object_as_address(e.classid, e.objid, 0) a ON e.objid <> 0
  LEFT JOIN owners o ON o.classid = e.classid AND o.objid = e.objid
  LEFT JOIN parent pa ON pa.classid = e.classid AND pa.objid = e.objid
  LEFT JOIN owners po ON po.classid = pa.refclassid AND po.objid = pa.refobjid
  LEFT JOIN pg_class tc ON tc.oid = CASE
       WHEN e.classid = 'pg_class'::regclass AND (SELECT relkind FROM pg_class WHERE oid = e.objid) IN ('i', 'I')
         THEN (SELECT indrelid FROM pg_index WHERE indexrelid = e.objid)
       WHEN e.classid = 'pg_class'::regclass THEN e.objid
       WHEN pa.refclassid = 'pg_class'::regclass THEN pa.refobjid END
  LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
  LEFT JOIN pg_constraint fk ON e.classid = 'pg_constraint'::regclass AND fk.oid = e.objid AND fk.contype = 'f'
  LEFT JOIN pg_class rc ON rc.oid = fk.confrelid
  LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
  CROSS JOIN (SELECT datdba FROM pg_database WHERE datname = current_database()) d
 ORDER BY e.id`;

export async function classifyObjects(client: pg.Client, toc: readonly TocEntry[], platformRoles: readonly string[]): Promise<ObjectsFile> {
  const isPlatformRole = (role: string | null | undefined) => role != null && platformRoles.some((p) => globToRegExp(p).test(role));
  const withOid = toc.filter((e) => e.objectId !== 0);
  const rows = await query<CatalogRow>(client, 'owners of the dumped objects', CLASSIFY, [
    withOid.map((e) => e.id),
    withOid.map((e) => e.classId),
    withOid.map((e) => e.objectId),
  ]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const roles = (await query<{ rolname: string }>(client, 'roles', 'SELECT rolname::text AS rolname FROM pg_roles')).map((r) => r.rolname);

  const classified = new Map<number, ObjectEntry>();
  for (const entry of withOid) {
    const row = byId.get(entry.id);
    const table = row?.table_schema != null && row.table_name != null ? { schema: row.table_schema, table: row.table_name } : null;
    const onPlatformTable = isPlatformRole(row?.table_owner);
    let origin: ObjectEntry['origin'];
    if (entry.kind === 'EXTENSION' || row?.extension_member) origin = 'extension';
    else if (entry.kind === 'POLICY') origin = 'app';
    else if (entry.kind === 'TRIGGER') origin = onPlatformTable && isPlatformRole(row?.trigger_function_owner) ? 'platform' : 'app';
    else origin = isPlatformRole(row?.owner) ? 'platform' : 'app';
    const address = row?.type != null ? { type: row.type, names: row.names ?? [], args: row.args ?? [] } : null;
    const references = row?.references_schema != null && row.references_name != null ? { schema: row.references_schema, table: row.references_name } : null;
    const loadable = entry.kind === 'TABLE DATA' && origin === 'platform' ? row?.owner_may_insert === true : undefined;
    classified.set(entry.id, {
      id: entry.id,
      kind: entry.kind,
      origin,
      owner: row?.owner ?? null,
      address,
      table,
      references,
      ...(loadable === undefined ? {} : { loadable }),
      line: entry.line,
    });
  }

  // COMMENT, ACL and SECURITY LABEL entries carry no OID: they follow the object their tag names.
  const dependents = [...classified.values()].filter((e) => (e.kind === 'TRIGGER' || e.kind === 'POLICY') && e.table !== null);
  for (const entry of toc.filter((e) => e.objectId === 0)) {
    const owner = entryOwner(entry, roles) ?? null;
    const named = dependents.find(
      (d) => d.address !== null && entry.rest.startsWith(`${d.table!.schema} ${d.kind} ${d.address.names.at(-1)} ON ${d.table!.table} `),
    );
    const origin: ObjectEntry['origin'] =
      /^\S+ EXTENSION /.test(entry.rest) || entry.rest.startsWith('- EXTENSION ')
        ? 'extension'
        : named !== undefined
          ? named.origin
          : isPlatformRole(owner)
            ? 'platform'
            : 'app';
    classified.set(entry.id, { id: entry.id, kind: entry.kind, origin, owner, address: null, table: named?.table ?? null, references: null, line: entry.line });
  }
  // In the dump's own order: a list given to pg_restore --use-list is restored in its order.
  return { platformRoles: [...platformRoles], entries: toc.map((e) => classified.get(e.id)!) };
}
