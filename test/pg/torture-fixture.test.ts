import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { runTool } from '../../src/engine/tools/pg-tools.js';
import { useTempDirs } from '../support/backups.js';
import { PROJECT_ROOT, tableCounts, useTestDatabases, withPg } from '../support/databases.js';
import { fingerprint } from '../support/fingerprint.js';
import { DOCUMENTED_FILES, writePnpmBackup, writeRunbookBackup, writeV2Backup, type LegacyBackup } from '../support/legacy-layouts.js';

// The catalog-torture fixture holds what it claims (one query per kind of object), loads the
// same way twice, and the old-layout builders write the files the seed documents list.

const TORTURE = path.join(PROJECT_ROOT, 'test/fixtures/torture.sql');
const dbs = useTestDatabases('torture');
const tempDir = useTempDirs();
let source: { name: string; url: string };

async function rows<T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  return withPg(source.url, async (c) => (await c.query<T>(sql, params)).rows);
}

/** "a | b" lines of a two-column query, for compact expectations. */
async function pairs(sql: string): Promise<string[]> {
  return (await rows<{ a: string; b: string }>(sql)).map((r) => `${r.a} | ${r.b}`);
}

beforeAll(async () => {
  source = await dbs.create({ load: [TORTURE] });
});

describe('the torture fixture holds', () => {
  it('partitioned tables two levels deep in every category, with defaults, one partition in another schema', async () => {
    const trees = await pairs(`
      SELECT r.root AS a, max(t.level) || ' levels, ' || count(*) FILTER (WHERE t.isleaf) || ' leaves, '
             || count(*) FILTER (WHERE pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT') || ' defaults' AS b
        FROM unnest(ARRAY['auth.audit_log_entries', 'storage.s3_multipart_uploads', 'prediction.signals', 'marketing.campaign_events',
                          'public.observability_events', 'public.llm_usage']) AS r(root)
        CROSS JOIN LATERAL pg_partition_tree(r.root::regclass) t JOIN pg_class c ON c.oid = t.relid
       GROUP BY r.root ORDER BY r.root`);
    expect(trees).toEqual([
      'auth.audit_log_entries | 2 levels, 3 leaves, 2 defaults',
      'marketing.campaign_events | 2 levels, 4 leaves, 2 defaults',
      'prediction.signals | 2 levels, 6 leaves, 3 defaults',
      'public.llm_usage | 2 levels, 4 leaves, 2 defaults',
      'public.observability_events | 2 levels, 5 leaves, 3 defaults',
      'storage.s3_multipart_uploads | 2 levels, 3 leaves, 2 defaults',
    ]);
    const elsewhere = await pairs(`
      SELECT c.oid::regclass::text AS a, pg_partition_root(c.oid)::text AS b FROM pg_class c
       WHERE c.relispartition AND c.relkind IN ('r', 'p') AND c.relnamespace <> (SELECT relnamespace FROM pg_class WHERE oid = pg_partition_root(c.oid)) ORDER BY 1`);
    expect(elsewhere).toEqual([
      'archive."observability_events_2026_02_Info ""Q""" | observability_events',
      'archive.llm_usage_openai_2026 | llm_usage',
      'archive.observability_events_2026_02 | observability_events',
      'archive.observability_events_2026_02_rest | observability_events',
    ]);
  });

  it('thousands of rows in the partitioned tables, a few in the others, three in a table with no columns', async () => {
    const counts = await rows<{ t: string; n: string }>(`
      SELECT t, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', t), false, true, '')))[1]::text AS n
        FROM unnest(ARRAY['public.observability_events', 'public.llm_usage', 'prediction.signals', 'marketing.campaign_events',
                          'auth.audit_log_entries', 'storage.s3_multipart_uploads', 'public.nothing', 'public.organizations']) t`);
    expect(Object.fromEntries(counts.map((r) => [r.t, Number(r.n)]))).toEqual({
      'public.observability_events': 8000,
      'public.llm_usage': 3000,
      'prediction.signals': 3000,
      'marketing.campaign_events': 2400,
      'auth.audit_log_entries': 600,
      'storage.s3_multipart_uploads': 400,
      'public.nothing': 3,
      'public.organizations': 5,
    });
    expect(await pairs(`SELECT relname AS a, relnatts AS b FROM pg_class WHERE oid = 'public.nothing'::regclass`)).toEqual(['nothing | 0']);
  });

  it('inheritance children in every category', async () => {
    expect(
      await pairs(`
      SELECT i.inhparent::regclass::text AS a, i.inhrelid::regclass::text AS b FROM pg_inherits i
        JOIN pg_class p ON p.oid = i.inhparent WHERE p.relkind = 'r' ORDER BY 1`),
    ).toEqual([
      'auth.refresh_tokens | auth.refresh_tokens_revoked',
      'conversations | conversations_archive',
      'crawler.articles | crawler.articles_archive',
      'marketing.campaigns | marketing.campaigns_archived',
      'storage.objects | storage.objects_legacy',
    ]);
  });

  it('publications: column lists, row filters, FOR ALL TABLES, FOR TABLES IN SCHEMA, comments, a 63-byte name', async () => {
    const pubs = await pairs(`
      SELECT p.pubname AS a,
             concat_ws(' ', CASE WHEN p.puballtables THEN 'all-tables' END, CASE WHEN p.pubviaroot THEN 'via-root' END,
               (SELECT count(*) || ' tables' FROM pg_publication_rel r WHERE r.prpubid = p.oid),
               (SELECT count(*) || ' schemas' FROM pg_publication_namespace s WHERE s.pnpubid = p.oid),
               (SELECT count(*) || ' column lists' FROM pg_publication_rel r WHERE r.prpubid = p.oid AND r.prattrs IS NOT NULL),
               (SELECT count(*) || ' row filters' FROM pg_publication_rel r WHERE r.prpubid = p.oid AND r.prqual IS NOT NULL),
               CASE WHEN obj_description(p.oid, 'pg_publication') IS NOT NULL THEN 'commented' END) AS b
        FROM pg_publication p ORDER BY 1`);
    expect(pubs).toEqual([
      'publication_ünï_with_a_name_of_exactly_sixty_three_bytes_xxxx | via-root 3 tables 0 schemas 1 column lists 0 row filters commented',
      // ADD TABLE without ONLY takes public.conversations' inheritance child along.
      'supabase_realtime | 6 tables 0 schemas 2 column lists 2 row filters commented',
      'torture pub "q" it\'s ü | via-root 1 tables 1 schemas 0 column lists 1 row filters commented',
      'torture_all_tables | all-tables via-root 0 tables 0 schemas 0 column lists 0 row filters commented',
      'torture_empty | 0 tables 0 schemas 0 column lists 0 row filters',
      'torture_schemas | 0 tables 2 schemas 0 column lists 0 row filters',
    ]);
  });

  it('names that need quoting, and a 63-byte name of every kind', async () => {
    const longest = await pairs(`
      SELECT 'schema' AS a, max(octet_length(nspname)) AS b FROM pg_namespace
      UNION ALL SELECT 'table', max(octet_length(relname)) FROM pg_class WHERE relkind = 'r'
      UNION ALL SELECT 'column', max(octet_length(attname)) FROM pg_attribute WHERE attrelid > 16384 AND attnum > 0
      UNION ALL SELECT 'role', max(octet_length(r.rolname)) FROM pg_roles r WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = r.oid)
      UNION ALL SELECT 'policy', max(octet_length(polname)) FROM pg_policy
      UNION ALL SELECT 'publication', max(octet_length(pubname)) FROM pg_publication`);
    expect(longest).toEqual(['schema | 63', 'table | 63', 'column | 63', 'role | 63', 'policy | 63', 'publication | 63']);
    const schemas = (await rows<{ n: string }>(`SELECT nspname AS n FROM pg_namespace WHERE nspname !~ '^[a-z_][a-z0-9_]*$' ORDER BY 1`)).map((r) => r.n);
    expect(schemas).toEqual(['MixedCase', 'Torture "Schema" it\'s ünï', 'schéma_ünïcode_with_a_name_of_exactly_sixty_three_bytes_xxxx']);
    expect(await rows(`SELECT 1 FROM pg_namespace WHERE nspname = 'select'`)).toHaveLength(1);
    const columns = (
      await rows<{ n: string }>(`SELECT attname AS n FROM pg_attribute WHERE attrelid = '"select"."user"'::regclass AND attnum > 0 ORDER BY attnum`)
    ).map((r) => r.n);
    expect(columns).toEqual([
      'from',
      'Group',
      'select',
      'User',
      'a,b "c" \'d\'',
      'ünï 列',
      '$dollar',
      'back\\slash',
      'Column ünï with a name of exactly sixty-three bytes xxxxxxxxx',
    ]);
    const grantees = (
      await rows<{ n: string }>(`
      SELECT DISTINCT r.rolname AS n FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
       WHERE r.rolname !~ '^[a-z_][a-z0-9_]*$' OR r.rolname = 'user' ORDER BY 1`)
    ).map((r) => r.n);
    expect(grantees).toEqual(['DbopsTorture_MixedCase', 'dbops torture "role" with spaces', 'dbops_torture_rôle_ünï_日本']);
  });

  it('generated (stored) and identity columns, domains with checks, enums, ranges, a multirange, composites', async () => {
    expect(
      await pairs(`SELECT attgenerated AS a, count(*) AS b FROM pg_attribute WHERE attgenerated <> '' AND attrelid IN (
      SELECT oid FROM pg_class WHERE relkind IN ('r', 'p') AND NOT relispartition) GROUP BY 1`),
    ).toEqual(['s | 6']);
    expect(
      await pairs(`SELECT attidentity AS a, count(*) AS b FROM pg_attribute WHERE attidentity <> '' AND attrelid IN (
      SELECT oid FROM pg_class WHERE relkind IN ('r', 'p') AND NOT relispartition) GROUP BY 1 ORDER BY 1`),
    ).toEqual(['a | 4', 'd | 4']);
    const types = await pairs(`
      SELECT t.typtype AS a, string_agg(format_type(t.oid, NULL), ', ' ORDER BY t.typname) AS b FROM pg_type t
       WHERE t.typnamespace IN ('public'::regnamespace, '"Torture ""Schema"" it''s ünï"'::regnamespace) AND t.typtype IN ('c', 'd', 'e', 'r', 'm')
         AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
       GROUP BY 1 ORDER BY 1`);
    expect(types).toEqual([
      'c | address, contact',
      'd | email, positive_int, tag_list',
      'e | "Torture ""Schema"" it\'s ünï"."Typ ""q"" ü", mood',
      'm | float_multirange',
      'r | floatrange',
    ]);
    expect(await pairs(`SELECT conname AS a, contypid::regtype::text AS b FROM pg_constraint WHERE contypid <> 0 AND oid >= 16384 ORDER BY 1`)).toEqual([
      'at_most_ten | tag_list',
      'email_has_at | email',
      'positive | positive_int',
    ]);
    expect((await rows<{ r: string }>(`SELECT enum_range(NULL::public.mood)::text AS r`))[0]?.r).toBe('{sad,"it\'s \\"complicated\\"",ok,happy,ecstatic}');
  });

  it('arrays of every catalog array type, and of domain, enum, composite, range, multirange and extension types', async () => {
    const missing = await rows(`
      SELECT a.typname FROM pg_type a JOIN pg_type e ON e.oid = a.typelem AND e.typarray = a.oid
       WHERE a.typcategory = 'A' AND a.typnamespace = 'pg_catalog'::regnamespace AND e.typtype IN ('b', 'r', 'm')
         AND NOT EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = 'public.every_array_type'::regclass AND x.atttypid = a.oid)`);
    expect(missing).toEqual([]);
    expect(
      await pairs(
        `SELECT count(*) AS a, count(*) FILTER (WHERE attnum > 1) AS b FROM pg_attribute WHERE attrelid = 'public.every_array_type'::regclass AND attnum > 0`,
      ),
    ).toEqual(['77 | 76']);
    const zoo = (
      await rows<{ t: string }>(`
      SELECT e.typnamespace::regnamespace || '.' || e.typname || '[]' AS t
        FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_type e ON e.oid = t.typelem
       WHERE a.attrelid = 'public.array_zoo'::regclass AND a.attnum > 1 AND e.typnamespace <> 'pg_catalog'::regnamespace ORDER BY a.attnum`)
    ).map((r) => r.t);
    expect(zoo).toEqual([
      'public.email[]',
      'public.mood[]',
      'public.address[]',
      'public.floatrange[]',
      'public.float_multirange[]',
      'extensions.hstore[]',
      'extensions.citext[]',
    ]);
    expect(await pairs(`SELECT array_lower(a_int2, 1) AS a, array_ndims(a_int_2d) AS b FROM public.array_zoo WHERE id = 2`)).toEqual(['0 | 2']);
  });

  it('views with security_invoker, security_barrier and check options; materialized views, one WITH NO DATA; rules', async () => {
    expect(
      await pairs(`SELECT c.oid::regclass::text AS a, array_to_string(c.reloptions, ',') AS b FROM pg_class c
      WHERE c.relkind = 'v' AND c.reloptions IS NOT NULL AND c.relnamespace <> 'pg_catalog'::regnamespace ORDER BY 1`),
    ).toEqual(['active_agents | security_barrier=true,check_option=cascaded', 'agent_overview | security_invoker=true', 'recent_signals | check_option=local']);
    expect(await pairs(`SELECT oid::regclass::text AS a, relispopulated AS b FROM pg_class WHERE relkind = 'm' ORDER BY 1`)).toEqual([
      'marketing.campaign_stats | false',
      'signal_counts | true',
    ]);
    expect(
      await pairs(`SELECT ev_class::regclass::text AS a, rulename AS b FROM pg_rewrite WHERE rulename <> '_RETURN' AND ev_class >= 16384 ORDER BY 2`),
    ).toEqual(['settings | protect locked "setting"', 'settings_view | settings_view_insert']);
  });

  it('triggers (statement, constraint, on a partitioned table, INSTEAD OF, disabled, always, replica) and event triggers', async () => {
    expect(await pairs(`SELECT tgenabled AS a, count(*) AS b FROM pg_trigger WHERE NOT tgisinternal AND tgparentid = 0 GROUP BY 1 ORDER BY 1`)).toEqual([
      'A | 1',
      'D | 1',
      'O | 6',
      'R | 1',
    ]);
    expect(
      await pairs(
        `SELECT tgname AS a, tgrelid::regclass::text AS b FROM pg_trigger WHERE tgparentid <> 0 AND tgrelid = 'public.observability_events_default'::regclass`,
      ),
    ).toEqual(['observability "events" ü | observability_events_default']);
    expect(
      await pairs(
        `SELECT evtname AS a, evtevent || ' ' || evtenabled::text || coalesce(' ' || array_to_string(evttags, ','), '') AS b FROM pg_event_trigger ORDER BY 1`,
      ),
    ).toEqual([
      'torture "sql_drop" ü | sql_drop O',
      'torture_create_only | ddl_command_start D CREATE TABLE,CREATE VIEW',
      'torture_ddl_end | ddl_command_end O',
      'torture_rewrite | table_rewrite A',
    ]);
  });

  it('row level security with permissive and restrictive policies, FORCE, and policies for quoted roles', async () => {
    expect(await pairs(`SELECT polpermissive AS a, count(*) AS b FROM pg_policy GROUP BY 1 ORDER BY 1`)).toEqual(['false | 3', 'true | 7']);
    expect(await pairs(`SELECT oid::regclass::text AS a, relforcerowsecurity AS b FROM pg_class WHERE relrowsecurity ORDER BY 1`)).toEqual([
      '"select"."user" | false',
      'agents | false',
      'auth.users | false',
      'marketing.campaigns | false',
      'observability_events | false',
      'organizations | true',
    ]);
  });

  it('column-level grants, grant options, large objects with comments and grants, default ACLs for several roles and schemas', async () => {
    expect(
      await pairs(`SELECT attrelid::regclass::text AS a, count(*) AS b FROM pg_attribute WHERE attacl IS NOT NULL AND attrelid >= 16384 GROUP BY 1 ORDER BY 1`),
    ).toEqual(['"select"."user" | 5', 'organizations | 4']);
    expect(await rows(`SELECT 1 FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a WHERE a.is_grantable`)).toHaveLength(2);
    expect(
      await pairs(`SELECT m.oid::text || ' ' || pg_get_userbyid(m.lomowner) AS a,
        coalesce(obj_description(m.oid, 'pg_largeobject'), '-') || ' ' || (m.lomacl IS NOT NULL) || ' ' || length(lo_get(m.oid)) AS b
        FROM pg_largeobject_metadata m ORDER BY m.oid`),
    ).toEqual(['4242001 postgres | A greeting true 19', '4242002 dbops_torture_owner | Binary, owned by another role true 4', '4242003 postgres | - false 0']);
    expect(
      await pairs(`SELECT pg_get_userbyid(defaclrole) AS a, count(*) || ' in ' || count(DISTINCT defaclnamespace) || ' schemas/global' AS b
        FROM pg_default_acl GROUP BY 1 ORDER BY 1`),
    ).toEqual([
      'DbopsTorture_MixedCase | 1 in 1 schemas/global',
      'dbops torture "role" with spaces | 1 in 1 schemas/global',
      'dbops_torture_owner | 3 in 2 schemas/global',
      'dbops_torture_role_with_a_name_of_exactly_sixty_three_bytes_xxx | 1 in 1 schemas/global',
      'postgres | 5 in 2 schemas/global',
    ]);
  });

  it('comments on every object kind', async () => {
    const kinds = (
      await rows<{ k: string }>(
        `SELECT DISTINCT classoid::regclass::text AS k FROM pg_description WHERE objoid >= 16384 OR classoid = 'pg_largeobject'::regclass ORDER BY 1`,
      )
    ).map((r) => r.k);
    expect(kinds).toEqual([
      'pg_class',
      'pg_collation',
      'pg_constraint',
      'pg_event_trigger',
      'pg_extension',
      'pg_foreign_data_wrapper',
      'pg_foreign_server',
      'pg_largeobject',
      'pg_namespace',
      'pg_policy',
      'pg_proc',
      'pg_publication',
      'pg_rewrite',
      'pg_statistic_ext',
      'pg_trigger',
      'pg_ts_config',
      'pg_type',
    ]);
    const relkinds = await pairs(`SELECT c.relkind AS a, count(*) FILTER (WHERE d.objsubid = 0) || '/' || count(*) FILTER (WHERE d.objsubid > 0) AS b
      FROM pg_description d JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass GROUP BY 1 ORDER BY 1`);
    // table, composite type (attribute), foreign table, index, matview, partitioned table, sequence, view
    expect(relkinds).toEqual(['S | 2/0', 'c | 0/1', 'f | 1/0', 'i | 2/0', 'm | 2/0', 'p | 2/0', 'r | 5/2', 'v | 1/1']);
  });

  it('unlogged tables and sequences, extensions in their own schema, sequences with custom options and set values', async () => {
    expect(await pairs(`SELECT oid::regclass::text AS a, relkind AS b FROM pg_class WHERE relpersistence = 'u' AND relkind IN ('r', 'S') ORDER BY 1`)).toEqual([
      'archive.observability_events_2026_02_rest | r',
      'cache_entries | r',
      'checkpoints | r',
      'unlogged_counter_seq | S',
    ]);
    expect(await pairs(`SELECT extname AS a, extnamespace::regnamespace::text AS b FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`)).toEqual([
      'btree_gist | extensions',
      'citext | extensions',
      'hstore | extensions',
      'pgcrypto | extensions',
      'uuid-ossp | extensions',
    ]);
    expect(
      await pairs(`SELECT sequencename AS a, concat_ws(' ', start_value, increment_by, cycle, last_value) AS b FROM pg_sequences
      WHERE schemaname NOT IN ('pg_catalog') AND sequencename IN ('invoice_number_seq', 'countdown_seq', 'fresh_seq', 'unlogged_counter_seq', 'séquence "q"', 'campaign_code_seq') ORDER BY 1`),
    ).toEqual([
      'campaign_code_seq | 1 1 f 25',
      'countdown_seq | 100 -1 f 98',
      'fresh_seq | 42 1 f',
      'invoice_number_seq | 1000 7 t 1707',
      'séquence "q" | 1 1 f 77',
      'unlogged_counter_seq | 1 1 f 5',
    ]);
  });

  it('deferrable foreign-key cycles, foreign keys across schemas and to a partitioned table, NOT VALID constraints', async () => {
    expect(await pairs(`SELECT conname AS a, condeferrable || ' ' || condeferred AS b FROM pg_constraint WHERE condeferrable ORDER BY 1`)).toEqual([
      'articles_source_fk | true true',
      'plans_check | true true',
      'sources_latest_article_fk | true false',
    ]);
    expect(
      await pairs(`SELECT count(*) AS a, count(*) FILTER (WHERE confrelid::regclass::text LIKE 'prediction.signals') AS b FROM pg_constraint c
      JOIN pg_class s ON s.oid = c.conrelid JOIN pg_class t ON t.oid = c.confrelid
      WHERE c.contype = 'f' AND s.relnamespace <> t.relnamespace AND c.conparentid = 0`),
    ).toEqual(['9 | 0']);
    expect(
      await pairs(
        `SELECT conname AS a, confrelid::regclass::text AS b FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 AND conrelid = 'prediction.predictions'::regclass`,
      ),
    ).toEqual(['predictions_signal_id_signal_observed_on_signal_kind_fkey | prediction.signals']);
    expect(await pairs(`SELECT conname AS a, contype AS b FROM pg_constraint WHERE NOT convalidated ORDER BY 1`)).toEqual([
      'source_crawls_source_fk | f',
      'source_crawls_status_check | c',
    ]);
  });

  it('loads the same data every time (deterministic)', async () => {
    const again = await dbs.create({ load: [TORTURE] });
    const [a, b] = [await fingerprint(source.url), await fingerprint(again.url)];
    expect(b.tables).toEqual(a.tables);
    expect(b.sequences).toEqual(a.sequences);
    expect(b.schema).toBe(a.schema);
    await dbs.drop(again.name);
  });
});

describe('the old-layout builders write the files the seed documents list', () => {
  let backups: string;
  beforeAll(async () => {
    backups = await tempDir();
  });

  /** Files written, with every data/*.csv folded into the pattern the documents use. */
  const documented = (built: LegacyBackup) => [...new Set(built.files.map((f) => (/^data\/.+\.csv$/.test(f) ? 'data/*.csv' : f)))].sort();

  it('v2 (001/003): <YYYYMMDD_HHMMSS>/ with backup.sql.gz, data/*.csv, row_counts.json, restore scripts, metadata.json "2.0"', async () => {
    const built = await writeV2Backup(source.url, backups);
    expect(built.folder).toBe('20260205_155658');
    expect(documented(built)).toEqual([...DOCUMENTED_FILES.v2]);
    const metadata = JSON.parse(await readFile(path.join(built.dir, 'metadata.json'), 'utf8'));
    expect(Object.keys(metadata)).toEqual(['version', 'timestamp', 'backup', 'critical_tables', 'transient_tables', 'org_schemas']);
    expect(metadata).toMatchObject({
      version: '2.0',
      timestamp: '20260205_155658',
      backup: { include_auth: true, include_storage: true, include_transient: true, include_org_data: true, prod_mode: false },
    });
    const counts = JSON.parse(await readFile(path.join(built.dir, 'row_counts.json'), 'utf8'));
    expect(counts).toMatchObject({ 'prediction.signals': 3000, 'public.organizations': 5, 'auth.users': 12, 'crawler.articles': 68 });
    expect(built.files).toContain('data/prediction.signals.csv');
    expect(built.files).not.toContain('data/prediction.strategies.csv');
    const sql = gunzipSync(await readFile(path.join(built.dir, 'backup.sql.gz'))).toString('utf8');
    expect(sql).toMatch(/^DROP TABLE IF EXISTS public\.organizations;$/m);
    expect(sql).toMatch(/^COPY public\.observability_events_2026_01_error /m);
  });

  it('v2 --prod: the flags land in metadata.json; like the old script, partitions of excluded tables keep their rows', async () => {
    const built = await writeV2Backup(source.url, backups, { prod: true, at: new Date(Date.UTC(2026, 1, 6, 1, 2, 3)) });
    const metadata = JSON.parse(await readFile(path.join(built.dir, 'metadata.json'), 'utf8'));
    expect(metadata.backup).toEqual({ include_auth: true, include_storage: true, include_transient: false, include_org_data: false, prod_mode: true });
    const sql = gunzipSync(await readFile(path.join(built.dir, 'backup.sql.gz'))).toString('utf8');
    expect(sql).not.toMatch(/^COPY public\.tasks /m);
    expect(sql).not.toMatch(/^COPY marketing\.campaigns /m);
    expect(sql).toMatch(/^COPY public\.observability_events_2026_01_error /m);
  });

  it('pnpm (002): prod_<ISO>/ with backup.sql, schema.sql, grants.sql, realtime.sql, extensions.sql, auth_users.sql, metadata.json', async () => {
    const built = await writePnpmBackup(source.url, backups);
    expect(built.folder).toBe('prod_2025-12-09T15-53-46');
    expect(documented(built)).toEqual([...DOCUMENTED_FILES.pnpm]);
    const read = (name: string) => readFile(path.join(built.dir, name), 'utf8');
    expect(await read('backup.sql')).toMatch(/^COPY public\.organizations /m);
    expect(await read('backup.sql')).not.toMatch(/^(GRANT|ALTER .* OWNER TO|CREATE PUBLICATION|CREATE EXTENSION)/m);
    expect(await read('schema.sql')).not.toMatch(/^COPY /m);
    expect(await read('grants.sql')).toMatch(/^GRANT SELECT ON TABLE public\.agents TO anon;$/m);
    expect(await read('realtime.sql')).toMatch(/^ALTER PUBLICATION supabase_realtime ADD TABLE "select"\."user";$/m);
    expect(await read('extensions.sql')).toMatch(/^CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA extensions;$/m);
    const authUsers = await read('auth_users.sql');
    expect(authUsers.match(/^INSERT INTO auth\.users /gm)).toHaveLength(12);
    expect(authUsers).not.toMatch(/\$2a\$|encrypted_password/);
    const metadata = JSON.parse(await read('metadata.json'));
    expect(metadata).toMatchObject({ timestamp: '2025-12-09T15:53:46.512Z', source: 'prod', database: source.name });
  });

  it('runbook (004): <YYYYMMDD_HHMMSS>_<env>_<label>/ with db_full.dump (custom format) and its inventories', async () => {
    const built = await writeRunbookBackup(source.url, backups, { label: 'pre-upgrade' });
    expect(built.folder).toBe('20251002_121314_staging_pre-upgrade');
    expect(documented(built)).toEqual([...DOCUMENTED_FILES.runbook]);
    const read = (name: string) => readFile(path.join(built.dir, name), 'utf8');
    expect((await readFile(path.join(built.dir, 'db_full.dump'))).subarray(0, 5).toString()).toBe('PGDMP');
    expect((await read('version.txt')).split('\n')[0]).toMatch(/^PostgreSQL 15\./);
    expect((await read('extensions.tsv')).split('\n').slice(0, 2)).toEqual(['extname\textversion\tschema', 'btree_gist\t1.7\textensions']);
    expect(await read('views_reloptions.tsv')).toMatch(/^public\tagent_overview\t\{security_invoker=true\}$/m);
    expect((await read('schema.sql')).match(/^CREATE PUBLICATION /gm)).toHaveLength(6);
    // The runbook's own restore drill (pg_restore --clean --if-exists --no-owner --no-privileges) gets every row back.
    const target = await dbs.create();
    const connection = parseConnectionUrl(target.url, 'test');
    await runTool(
      'pg_restore',
      ['--clean', '--if-exists', '--no-owner', '--no-privileges', '--exit-on-error', '--dbname', target.name, path.join(built.dir, 'db_full.dump')],
      { connection },
    );
    expect(await tableCounts(target.url)).toEqual(await tableCounts(source.url));
  });
});
