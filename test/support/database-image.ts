import { normaliseSql } from '../../src/engine/backup/normalise-sql.js';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { runTool } from '../../src/engine/tools/pg-tools.js';
import { withPg } from './databases.js';

// Everything a restore must reproduce, read from a database in one comparable value, and a diff
// of two such values that says what differs in words. A round trip is proven by comparing the
// source with the target here — schema, rows, grants, policies, publications, comments,
// sequences, extensions, large objects — never by the absence of errors. Read with an admin
// (superuser) URL: every table, sequence and large object must be readable.

export interface DatabaseImage {
  /** pg_dump --schema-only, normalised (no version lines, no \restrict keys). */
  schema: string;
  /** "schema.table" → exact row count and an order-independent hash of the rows' text. */
  tables: Record<string, { rows: number; hash: string }>;
  sequences: Record<string, string>;
  acls: string[];
  defaultAcls: string[];
  policies: string[];
  publications: string[];
  comments: string[];
  extensions: string[];
  largeObjects: string[];
}

export const IMAGE_SECTIONS = [
  'schema',
  'tables',
  'sequences',
  'acls',
  'defaultAcls',
  'policies',
  'publications',
  'comments',
  'extensions',
  'largeObjects',
] as const;

export interface ImageOptions {
  /** Schemas left out of every section (the platform's managed schemas, dbops's own code_ops). */
  skipSchemas?: readonly string[];
}

// dbops's invocation history is kept across restores on purpose (see keep-history.ts).
export const ALWAYS_SKIPPED = ['code_ops'];

export async function imageOf(url: string, options: ImageOptions = {}): Promise<DatabaseImage> {
  const skip = [...ALWAYS_SKIPPED, ...(options.skipSchemas ?? [])];
  const dump = await runTool('pg_dump', ['--schema-only', ...skip.map((s) => `--exclude-schema=${s}`)], { connection: parseConnectionUrl(url, 'image') });
  const schema = normaliseSql(dump.stdout).replace(/^-- Dumped (from|by) .*$/gm, '');
  return withPg(url, async (c) => {
    const rows = async (sql: string) => (await c.query<{ v: string }>(sql, [skip])).rows.map((r) => r.v);
    const userSchema = (col: string) =>
      `${col} NOT IN ('pg_catalog', 'information_schema') AND ${col} NOT LIKE 'pg_toast%' AND ${col} NOT LIKE 'pg_temp%' AND ${col} <> ALL($1)`;
    const tables: DatabaseImage['tables'] = {};
    const list = await c.query<{ s: string; t: string }>(
      `SELECT n.nspname AS s, c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm') AND c.relispopulated AND ${userSchema('n.nspname')} ORDER BY 1, 2`,
      [skip],
    );
    for (const { s, t } of list.rows) {
      const q = `${c.escapeIdentifier(s)}.${c.escapeIdentifier(t)}`;
      const r = await c.query<{ n: string; h: string }>(
        `SELECT count(*)::text AS n, md5(coalesce(string_agg(h, '' ORDER BY h), '')) AS h FROM (SELECT md5(x::text) AS h FROM ONLY ${q} x) y`,
      );
      tables[`${s}.${t}`] = { rows: Number(r.rows[0]?.n), hash: r.rows[0]?.h ?? '' };
    }
    const seqs = await c.query<{ k: string; v: string }>(
      `SELECT schemaname || '.' || sequencename AS k, coalesce(last_value::text, 'null') AS v FROM pg_sequences WHERE ${userSchema('schemaname')} ORDER BY 1`,
      [skip],
    );
    // Object identities from pg_identify_object, so the lines read as names, not OIDs.
    const acls = await rows(
      // A NULL ACL means the built-in default: both are read as acldefault, and objects whose rights
      // are just that are left out. aclitems are sorted, so equal rights compare equal whatever the
      // order they were granted in. Members of an extension are marked, with their extension.
      `SELECT o.type || ' ' || o.identity || ' ' || x.acl || coalesce(' [extension ' || (
                SELECT e.extname FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                 WHERE d.classid = x.cls AND d.objid = x.oid AND d.deptype = 'e' AND x.sub = 0) || ']', '') AS v FROM (
         SELECT cls, oid, sub, ns, (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(coalesce(acl, dflt)) a) AS acl,
                (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(dflt) a) AS dflt
           FROM (
             SELECT 'pg_class'::regclass AS cls, c.oid, 0 AS sub, c.relacl AS acl, c.relnamespace AS ns,
                    acldefault(CASE c.relkind WHEN 'S' THEN 's'::"char" ELSE 'r'::"char" END, c.relowner) AS dflt FROM pg_class c WHERE c.relkind NOT IN ('i', 'I', 't', 'c')
             UNION ALL SELECT 'pg_class'::regclass, a.attrelid, a.attnum, a.attacl, c.relnamespace, acldefault('c', c.relowner)
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid WHERE a.attacl IS NOT NULL
             UNION ALL SELECT 'pg_namespace'::regclass, n.oid, 0, n.nspacl, n.oid, acldefault('n', n.nspowner) FROM pg_namespace n
             UNION ALL SELECT 'pg_proc'::regclass, p.oid, 0, p.proacl, p.pronamespace, acldefault('f', p.proowner) FROM pg_proc p
             UNION ALL SELECT 'pg_type'::regclass, t.oid, 0, t.typacl, t.typnamespace, acldefault('T', t.typowner) FROM pg_type t
           ) raw
       ) x JOIN pg_namespace n ON n.oid = x.ns CROSS JOIN LATERAL pg_identify_object(x.cls, x.oid, x.sub) o
       WHERE x.acl IS DISTINCT FROM x.dflt AND ${userSchema('n.nspname')} ORDER BY 1`,
    );
    const defaultAcls = await rows(
      `SELECT pg_get_userbyid(d.defaclrole) || ' ' || coalesce(n.nspname, '(all schemas)') || ' ' || d.defaclobjtype::text || ' ' || (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(d.defaclacl) a) AS v
         FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
        WHERE n.nspname IS NULL OR ${userSchema('n.nspname')} ORDER BY 1`,
    );
    const policies = await rows(
      `SELECT schemaname || '.' || tablename || ' ' || policyname || ' ' || permissive || ' ' || cmd || ' ' || roles::text || ' using(' || coalesce(qual, '') || ') check(' || coalesce(with_check, '') || ')' AS v
         FROM pg_policies WHERE ${userSchema('schemaname')} ORDER BY 1`,
    );
    const publications = await rows(
      `SELECT 'publication ' || p.pubname || ' owner=' || pg_get_userbyid(p.pubowner) || ' all=' || p.puballtables || ' ins=' || p.pubinsert || ' upd=' || p.pubupdate
              || ' del=' || p.pubdelete || ' trunc=' || p.pubtruncate || ' viaroot=' || p.pubviaroot || ' comment=' || coalesce(obj_description(p.oid, 'pg_publication'), '') AS v
         FROM pg_publication p
       UNION ALL
       SELECT 'member ' || p.pubname || ' ' || n.nspname || '.' || c.relname
              || ' columns=' || coalesce((SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = ANY (pr.prattrs)), '*')
              || ' where=' || coalesce(pg_get_expr(pr.prqual, pr.prrelid), '')
         FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE ${userSchema('n.nspname')}
       UNION ALL
       SELECT 'schema ' || p.pubname || ' ' || n.nspname FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid JOIN pg_namespace n ON n.oid = pn.pnnspid
       ORDER BY 1`,
    );
    // Objects the system created have OIDs below 16384 (public's comment included: it is the app's too).
    const comments = await rows(
      `SELECT o.type || ' ' || coalesce(o.identity, '?') || ' = ' || d.description AS v
         FROM pg_description d CROSS JOIN LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) o
        WHERE (d.objoid >= 16384 OR (d.classoid = 'pg_namespace'::regclass AND d.objoid = 2200))
          AND (o.schema IS NULL OR o.schema <> ALL($1)) AND NOT (o.type = 'schema' AND o.identity = ANY($1))
          AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')
        ORDER BY 1`,
    );
    const extensions = await rows(
      `SELECT e.extname || ' ' || e.extversion || ' in ' || n.nspname AS v FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE $1::text[] IS NOT NULL ORDER BY 1`,
    );
    const largeObjects = await rows(
      `SELECT m.oid::text || ' owner=' || pg_get_userbyid(m.lomowner) || ' acl=' || coalesce(m.lomacl::text, '') || ' md5=' || md5(lo_get(m.oid)) AS v
         FROM pg_largeobject_metadata m WHERE $1::text[] IS NOT NULL ORDER BY 1`,
    );
    return {
      schema,
      tables,
      sequences: Object.fromEntries(seqs.rows.map((r) => [r.k, r.v])),
      acls,
      defaultAcls,
      policies,
      publications,
      comments,
      extensions,
      largeObjects,
    };
  });
}

export interface Expectations {
  /** Tables the restore must leave empty (data the backup left out), every partition included. */
  emptyTables?: readonly string[];
  /** Tables whose rows must equal another image's (the target's own, kept by the restore). */
  rowsFrom?: { image: DatabaseImage; tables: readonly string[] };
  /** Sections not compared, each with the reason (a documented limit). */
  skipSections?: Partial<Record<(typeof IMAGE_SECTIONS)[number], string>>;
  /** Lines of the list sections not compared, each pattern with the reason (a documented limit). */
  ignoreLines?: Array<{ pattern: RegExp; reason: string }>;
}

/** What differs between the source and the restored target, one line per difference; [] means equal. */
export function diffImages(source: DatabaseImage, target: DatabaseImage, expect: Expectations = {}): string[] {
  const out: string[] = [];
  const empty = new Set(expect.emptyTables ?? []);
  const fromOther = new Set(expect.rowsFrom?.tables ?? []);
  const skipped = expect.skipSections ?? {};
  if (!skipped.schema && source.schema !== target.schema) out.push(...schemaDiff(source.schema, target.schema));
  if (!skipped.tables) {
    for (const key of new Set([...Object.keys(source.tables), ...Object.keys(target.tables)])) {
      const want = empty.has(key) ? { rows: 0, hash: EMPTY_HASH } : fromOther.has(key) ? expect.rowsFrom!.image.tables[key] : source.tables[key];
      const got = target.tables[key];
      if (want === undefined || got === undefined) out.push(`tables: ${key} ${want === undefined ? 'only in the target' : 'missing in the target'}`);
      else if (want.rows !== got.rows) out.push(`tables: ${key} has ${got.rows} rows, expected ${want.rows}`);
      else if (want.hash !== got.hash) out.push(`tables: ${key} has the same count (${got.rows}) but different rows`);
    }
  }
  if (!skipped.sequences) out.push(...recordDiff('sequences', source.sequences, target.sequences));
  for (const section of ['acls', 'defaultAcls', 'policies', 'publications', 'comments', 'extensions', 'largeObjects'] as const) {
    if (skipped[section]) continue;
    const keep = (line: string) => !(expect.ignoreLines ?? []).some((i) => i.pattern.test(line));
    const [a, b] = [new Set(source[section].filter(keep)), new Set(target[section].filter(keep))];
    for (const line of a) if (!b.has(line)) out.push(`${section}: missing in the target: ${line}`);
    for (const line of b) if (!a.has(line)) out.push(`${section}: only in the target: ${line}`);
  }
  return out;
}

const EMPTY_HASH = 'd41d8cd98f00b204e9800998ecf8427e';

function recordDiff(section: string, a: Record<string, string>, b: Record<string, string>): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (a[key] !== b[key]) out.push(`${section}: ${key} is ${b[key] ?? 'missing'} in the target, ${a[key] ?? 'missing'} in the source`);
  }
  return out;
}

/** The schema dumps' differing lines (a set difference of lines: enough to name what differs). */
function schemaDiff(a: string, b: string): string[] {
  const count = (text: string) => {
    const m = new Map<string, number>();
    for (const line of text.split('\n')) if (line.trim() !== '') m.set(line, (m.get(line) ?? 0) + 1);
    return m;
  };
  const [ca, cb] = [count(a), count(b)];
  const out: string[] = [];
  for (const [line, n] of ca) if ((cb.get(line) ?? 0) < n) out.push(`schema: missing in the target: ${line}`);
  for (const [line, n] of cb) if ((ca.get(line) ?? 0) < n) out.push(`schema: only in the target: ${line}`);
  return out.length > 0 ? out : ['schema: same lines in a different order'];
}
