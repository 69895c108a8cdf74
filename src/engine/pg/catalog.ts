import type pg from 'pg';
import { query } from './client.js';
import { qualifiedName } from './sql.js';

// Catalog reads. All of them run inside the backup's snapshot transaction, so what they
// report is what the dump holds.

export interface TableRef {
  schema: string;
  table: string;
}

export interface CatalogTable extends TableRef {
  oid: number;
  /** 'r' plain table (partitions included), 'p' partitioned parent (holds no rows itself). */
  kind: 'r' | 'p';
}

/** A parent → child edge of table inheritance: partitions and INHERITS children alike. */
export interface InheritanceEdge {
  parent: number;
  child: number;
}

export interface FkEdge {
  /** The table holding the foreign key. */
  child: number;
  /** The table it references. */
  parent: number;
  deferrable: boolean;
  name: string;
}

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'`;

// Tables that belong to an extension are recreated by CREATE EXTENSION, not dumped.
const NOT_EXTENSION_MEMBER = `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

export async function listSchemas(client: pg.Client): Promise<string[]> {
  const rows = await query<{ nspname: string }>(
    client,
    'schemas',
    `SELECT n.nspname FROM pg_namespace n WHERE ${USER_SCHEMAS}
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
     ORDER BY 1`,
  );
  return rows.map((r) => r.nspname);
}

export async function listTables(client: pg.Client): Promise<CatalogTable[]> {
  const rows = await query<{ oid: number; schema: string; table: string; kind: 'r' | 'p' }>(
    client,
    'tables',
    `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS table, c.relkind AS kind
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' AND ${USER_SCHEMAS} AND ${NOT_EXTENSION_MEMBER}
      ORDER BY n.nspname, c.relname`,
  );
  return rows;
}

export async function listForeignKeys(client: pg.Client): Promise<FkEdge[]> {
  // Partition-level clones of a parent's FK (conparentid <> 0) would repeat the parent's edge.
  return query<FkEdge>(
    client,
    'foreign keys',
    `SELECT conrelid::int AS child, confrelid::int AS parent, condeferrable AS deferrable, conname AS name
       FROM pg_constraint WHERE contype = 'f' AND conparentid = 0`,
  );
}

export async function listInheritance(client: pg.Client): Promise<InheritanceEdge[]> {
  return query<InheritanceEdge>(client, 'table inheritance', 'SELECT inhparent::int AS parent, inhrelid::int AS child FROM pg_inherits');
}

/** Rows of the table itself (ONLY), or — as the old scripts counted, count(*) — with its partitions and children. */
export async function countRows(client: pg.Client, table: TableRef, withChildren = false): Promise<number> {
  const rows = await query<{ n: string }>(
    client,
    `row count of ${table.schema}.${table.table}`,
    `SELECT count(*)::text AS n FROM ${withChildren ? '' : 'ONLY '}${qualifiedName(table)}`,
  );
  return Number(rows[0]?.n ?? 0);
}

export interface ServerInfo {
  versionNum: number;
  version: string;
  databaseBytes: number;
}

export async function serverInfo(client: pg.Client): Promise<ServerInfo> {
  const rows = await query<{ num: string; version: string; bytes: string }>(
    client,
    'server version',
    `SELECT current_setting('server_version_num') AS num, version() AS version, pg_database_size(current_database())::text AS bytes`,
  );
  const row = rows[0];
  return { versionNum: Number(row?.num), version: row?.version ?? '', databaseBytes: Number(row?.bytes ?? 0) };
}

export interface ExtensionRow {
  name: string;
  version: string;
  schema: string;
  owner: string;
}

export async function listExtensions(client: pg.Client): Promise<ExtensionRow[]> {
  return query<ExtensionRow>(
    client,
    'extensions',
    `SELECT e.extname::text AS name, e.extversion AS version, n.nspname::text AS schema, pg_get_userbyid(e.extowner)::text AS owner
       FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname <> 'plpgsql' ORDER BY e.extname`,
  );
}

export interface ViewOptionsRow {
  schema: string;
  view: string;
  kind: string;
  options: string;
}

export async function listViewReloptions(client: pg.Client): Promise<ViewOptionsRow[]> {
  return query<ViewOptionsRow>(
    client,
    'view options',
    `SELECT n.nspname AS schema, c.relname AS view, CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END AS kind,
            array_to_string(c.reloptions, ',') AS options
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('v', 'm') AND c.reloptions IS NOT NULL AND ${USER_SCHEMAS}
      ORDER BY 1, 2`,
  );
}

/** Every role that owns, or holds a privilege on, something in the given schemas. */
export async function referencedRoles(client: pg.Client, schemas: readonly string[]): Promise<string[]> {
  const rows = await query<{ rolname: string }>(
    client,
    'roles referenced by owners and grants',
    `WITH ns AS (SELECT oid, nspowner, nspacl FROM pg_namespace WHERE nspname = ANY($1)),
          ids AS (
            SELECT nspowner AS id FROM ns
            UNION SELECT (aclexplode(nspacl)).grantee FROM ns
            UNION SELECT relowner FROM pg_class WHERE relnamespace IN (SELECT oid FROM ns)
            UNION SELECT (aclexplode(relacl)).grantee FROM pg_class WHERE relnamespace IN (SELECT oid FROM ns)
            UNION SELECT proowner FROM pg_proc WHERE pronamespace IN (SELECT oid FROM ns)
            UNION SELECT (aclexplode(proacl)).grantee FROM pg_proc WHERE pronamespace IN (SELECT oid FROM ns)
            UNION SELECT typowner FROM pg_type WHERE typnamespace IN (SELECT oid FROM ns)
            UNION SELECT defaclrole FROM pg_default_acl
            UNION SELECT (aclexplode(defaclacl)).grantee FROM pg_default_acl
            UNION SELECT unnest(polroles) FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace IN (SELECT oid FROM ns)
            UNION SELECT datdba FROM pg_database WHERE datname = current_database()
          )
     SELECT r.rolname FROM pg_roles r JOIN ids ON ids.id = r.oid ORDER BY 1`,
    [schemas],
  );
  return rows.map((r) => r.rolname);
}

export interface PublicationRow {
  name: string;
  owner: string;
  allTables: boolean;
  publish: string;
  viaRoot: boolean;
  comment: string | null;
  /** FOR TABLES IN SCHEMA … (PostgreSQL 15). */
  schemas: string[];
}

export interface PublicationMemberRow {
  publication: string;
  schema: string;
  table: string;
  columns: string[] | null;
  rowFilter: string | null;
}

export async function listPublications(client: pg.Client): Promise<{ publications: PublicationRow[]; members: PublicationMemberRow[] }> {
  const publications = await query<PublicationRow>(
    client,
    'publications',
    // Arrays are built as text[]: pg returns name[] and other catalog array types as one string.
    `SELECT p.pubname::text AS name, pg_get_userbyid(p.pubowner)::text AS owner, p.puballtables AS "allTables", p.pubviaroot AS "viaRoot",
            concat_ws(', ', CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END,
                            CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END) AS publish,
            obj_description(p.oid, 'pg_publication') AS comment,
            ARRAY(SELECT n.nspname::text FROM pg_publication_namespace pn JOIN pg_namespace n ON n.oid = pn.pnnspid
                   WHERE pn.pnpubid = p.oid ORDER BY 1)::text[] AS schemas
       FROM pg_publication p ORDER BY p.pubname`,
  );
  // Explicit members only: FOR ALL TABLES publications list every table implicitly.
  const members = await query<PublicationMemberRow>(
    client,
    'publication members',
    `SELECT p.pubname::text AS publication, n.nspname::text AS schema, c.relname::text AS table,
            CASE WHEN pr.prattrs IS NULL THEN NULL ELSE
              ARRAY(SELECT a.attname::text FROM unnest(pr.prattrs::int2[]) k(attnum) JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum ORDER BY k.attnum)::text[]
            END AS columns,
            pg_get_expr(pr.prqual, pr.prrelid) AS "rowFilter"
       FROM pg_publication_rel pr
       JOIN pg_publication p ON p.oid = pr.prpubid
       JOIN pg_class c ON c.oid = pr.prrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      ORDER BY 1, 2, 3`,
  );
  return { publications, members };
}
