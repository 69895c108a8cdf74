import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { ident, qualifiedName } from '../../src/engine/pg/sql.js';
import { runTool } from '../../src/engine/tools/pg-tools.js';
import { FIXTURE_TRANSIENT_TABLES, withPg } from './databases.js';

// The three backup folders the team's scripts wrote before dbops, built from a live database
// the way ../shared/seeds/ describes them, so restore-db can be tried on what users really have.
// Where a document leaves something open, the choice made is written next to it (CHOICE).
//
//   v2 (001 /backup-db, 003 skill, 000 /restore-db)  <YYYYMMDD_HHMMSS>/
//       backup.sql.gz  data/*.csv  row_counts.json  restore.sh  restore-full.sh  metadata.json
//   pnpm (002 backup:prod)                           prod_<YYYY-MM-DDTHH-MM-SS>/
//       backup.sql  schema.sql  grants.sql  realtime.sql  extensions.sql  auth_users.sql  metadata.json
//   runbook (004 scripts/backup_db.sh)               <YYYYMMDD_HHMMSS>_<env>[_label]/
//       db_full.dump  schema.sql  version.txt  extensions.tsv  views_reloptions.tsv

export interface LegacyBackup {
  dir: string;
  folder: string;
  /** Every file written, relative to dir, sorted. */
  files: string[];
}

/** The files each document lists for a folder (data/*.csv stands for at least one CSV). */
export const DOCUMENTED_FILES = {
  v2: ['backup.sql.gz', 'data/*.csv', 'metadata.json', 'restore-full.sh', 'restore.sh', 'row_counts.json'],
  pnpm: ['auth_users.sql', 'backup.sql', 'extensions.sql', 'grants.sql', 'metadata.json', 'realtime.sql', 'schema.sql'],
  runbook: ['db_full.dump', 'extensions.tsv', 'schema.sql', 'version.txt', 'views_reloptions.tsv'],
} as const;

/** 003 "FK-Ordered Critical Tables", in the skill's order, then auth (000: "Restores auth data (users, identities)"). */
export const V2_CRITICAL_TABLES = [
  'prediction.universes',
  'prediction.targets',
  'prediction.strategies',
  'prediction.analysts',
  'prediction.signals',
  'prediction.predictions',
  'prediction.predictors',
  'prediction.source_subscriptions',
  'public.organizations',
  'public.rbac_roles',
  'public.rbac_permissions',
  'public.rbac_role_permissions',
  'public.rbac_user_org_roles',
  'public.llm_providers',
  'public.llm_models',
  'public.agents',
  'crawler.sources',
  'crawler.articles',
  'crawler.source_crawls',
  'crawler.agent_article_outputs',
  'rag_data.rag_collections',
  'rag_data.rag_documents',
];
const V2_AUTH_TABLES = ['auth.users', 'auth.identities'];
/** 001/003 "Transient" row plus observability_events (000's restore order lists it): the fixture's transient tables. */
export const V2_TRANSIENT_TABLES = FIXTURE_TRANSIENT_TABLES;
export const V2_ORG_SCHEMAS = ['marketing', 'law', 'engineering', 'leads', 'company_data', 'risk'];

export interface V2Options {
  at?: Date;
  noAuth?: boolean;
  noStorage?: boolean;
  noTransient?: boolean;
  noOrgData?: boolean;
  /** --prod: no transient and no org data. */
  prod?: boolean;
}

const pad = (n: number) => String(n).padStart(2, '0');
// CHOICE: the scripts used `date +%Y%m%d_%H%M%S` (local time); the builders use UTC so a test's folder name is fixed.
const compactStamp = (d: Date) =>
  `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}_${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;

function tools(sourceUrl: string) {
  const connection = parseConnectionUrl(sourceUrl, 'legacy layout source');
  return {
    pgDump: (args: string[]) => runTool('pg_dump', args, { connection }),
    psql: (args: string[], stdoutFile?: string) => runTool('psql', ['-X', '-v', 'ON_ERROR_STOP=1', ...args], { connection, stdoutFile }),
  };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

async function gzipFile(from: string, to: string): Promise<void> {
  await pipeline(createReadStream(from), createGzip(), createWriteStream(to));
  await rm(from);
}

async function existingTables(sourceUrl: string, names: readonly string[]): Promise<Array<{ name: string; partitioned: boolean }>> {
  return withPg(sourceUrl, async (c) => {
    const found = await c.query<{ name: string; partitioned: boolean }>(
      `SELECT n.nspname || '.' || c.relname AS name, c.relkind = 'p' AS partitioned
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = ANY($1)`,
      [names],
    );
    const byName = new Map(found.rows.map((r) => [r.name, r]));
    return names.flatMap((name) => byName.get(name) ?? []);
  });
}

/** "schema.table" (names of the old scripts' lists, which hold no dots of their own) → quoted SQL. */
function quoted(name: string): string {
  const dot = name.indexOf('.');
  return qualifiedName({ schema: name.slice(0, dot), table: name.slice(dot + 1) });
}

/** v2: `bash storage/scripts/backup-db-v2.sh [options]` (001, 003; restored by 000). */
export async function writeV2Backup(sourceUrl: string, backupsDir: string, options: V2Options = {}): Promise<LegacyBackup> {
  const at = options.at ?? new Date(Date.UTC(2026, 1, 5, 15, 56, 58));
  const include = {
    include_auth: !options.noAuth,
    include_storage: !options.noStorage,
    include_transient: !(options.noTransient || options.prod),
    include_org_data: !(options.noOrgData || options.prod),
    prod_mode: options.prod === true,
  };
  const folder = compactStamp(at);
  const dir = path.join(backupsDir, folder);
  await mkdir(path.join(dir, 'data'), { recursive: true });
  const { pgDump, psql } = tools(sourceUrl);

  // CHOICE: --clean --if-exists, because 000 says a restore will "Drop and recreate database
  // objects". Owners and privileges stay (the script ran pg_dump as postgres inside the container).
  // Exclusions use pg_dump's own flags; --exclude-table-data on PostgreSQL 15 does not reach a
  // partitioned table's partitions, so a --no-transient v2 backup still holds their rows, as the old one did.
  const args = ['--clean', '--if-exists', '--file', path.join(dir, 'backup.sql')];
  if (!include.include_auth) args.push('--exclude-schema=auth');
  if (!include.include_storage) args.push('--exclude-schema=storage');
  if (!include.include_transient) args.push(...V2_TRANSIENT_TABLES.map((t) => `--exclude-table-data=${quoted(t)}`));
  if (!include.include_org_data) args.push(...V2_ORG_SCHEMAS.map((s) => `--exclude-table-data=${ident(s)}.*`));
  await pgDump(args);
  await gzipFile(path.join(dir, 'backup.sql'), path.join(dir, 'backup.sql.gz'));

  // Critical tables as CSV (003). CHOICE: files are named data/<schema>.<table>.csv, with a header;
  // tables of the list the database lacks are skipped (the script's `|| true`). Plain tables go
  // through `COPY t TO` as `\copy` does (generated columns and inheritance children left out);
  // COPY refuses a partitioned table, so those are read with `COPY (SELECT * FROM t)`.
  const csvTables = await existingTables(sourceUrl, [...V2_CRITICAL_TABLES, ...(include.include_auth ? V2_AUTH_TABLES : [])]);
  const rowCounts: Record<string, number> = {};
  for (const table of csvTables) {
    const source = table.partitioned ? `(SELECT * FROM ${quoted(table.name)})` : quoted(table.name);
    await psql(['-c', `COPY ${source} TO STDOUT WITH (FORMAT csv, HEADER true)`], path.join(dir, 'data', `${table.name}.csv`));
    // CHOICE: row_counts.json is {"schema.table": n} over the exported tables, counted as the
    // script's `SELECT count(*) FROM t` does (children included), the keys 000's summary prints.
    const { stdout } = await psql(['-At', '-c', `SELECT count(*) FROM ${quoted(table.name)}`]);
    rowCounts[table.name] = Number(stdout.trim());
  }
  await writeFile(path.join(dir, 'row_counts.json'), `${JSON.stringify(rowCounts, null, 2)}\n`);

  // CHOICE: the scripts' text is not in the documents; these do what 001 and 000 say they do.
  await writeScript(path.join(dir, 'restore.sh'), [
    '#!/bin/bash',
    '# Quick restore: replay the whole dump into the local Supabase database.',
    'set -euo pipefail',
    'cd "$(dirname "$0")"',
    'gunzip -c backup.sql.gz | docker exec -i supabase_db_api-dev psql -U postgres -d postgres',
  ]);
  await writeScript(path.join(dir, 'restore-full.sh'), [
    '#!/bin/bash',
    '# Full v2 restore (copy of storage/scripts/restore-db-v2.sh): structure, auth, data in FK order, permissions.',
    'set -euo pipefail',
    'cd "$(dirname "$0")"',
    'PSQL="docker exec -i supabase_db_api-dev psql -U postgres -d postgres -v ON_ERROR_STOP=1"',
    'gunzip -c backup.sql.gz | $PSQL',
    'for csv in data/*.csv; do',
    '  table=$(basename "$csv" .csv)',
    '  $PSQL -c "TRUNCATE $table CASCADE" -c "\\copy $table FROM STDIN WITH (FORMAT csv, HEADER true)" < "$csv"',
    'done',
    '$PSQL -c "GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role"',
    `$PSQL -c "NOTIFY pgrst, 'reload schema'"`,
  ]);

  // Exactly 003's "Metadata Example" shape, metadata.json last as the script wrote it.
  // CHOICE: critical_tables is the script's fixed list, whether or not the database has each table.
  const metadata = {
    version: '2.0',
    timestamp: folder,
    backup: include,
    critical_tables: V2_CRITICAL_TABLES,
    transient_tables: V2_TRANSIENT_TABLES,
    org_schemas: V2_ORG_SCHEMAS,
  };
  await writeFile(path.join(dir, 'metadata.json'), `${JSON.stringify(metadata, null, 2)}\n`);
  return { dir, folder, files: await listFiles(dir) };
}

async function writeScript(file: string, lines: string[]): Promise<void> {
  await writeFile(file, `${lines.join('\n')}\n`);
  await chmod(file, 0o755);
}

/** pnpm: `pnpm backup:prod` → scripts/backup-database.mjs (002). */
export async function writePnpmBackup(
  sourceUrl: string,
  backupsDir: string,
  /** schemas: what backup.sql and schema.sql hold; other than ['public'] is a deliberate departure from 002. */
  options: { at?: Date; schemas?: string[] } = {},
): Promise<LegacyBackup> {
  const at = options.at ?? new Date(Date.UTC(2025, 11, 9, 15, 53, 46, 512));
  // 002's example prod_2025-12-09T15-53-46: toISOString() with ":" and "." made "-", seconds kept.
  const folder = `prod_${at.toISOString().replace(/[:.]/g, '-').slice(0, 19)}`;
  const dir = path.join(backupsDir, folder);
  await mkdir(dir, { recursive: true });
  const { pgDump } = tools(sourceUrl);

  // CHOICE: the public schema only, without owners or privileges. 002 restores by dropping and
  // recreating public alone, loops its grant fixes over public, and explains why extensions
  // ("must be pre-enabled"), grants ("pg_dump doesn't export GRANT permissions") and realtime
  // members ("pg_dump doesn't export publication table memberships") need their own files: all of
  // which a `pg_dump --schema=public --no-owner --no-privileges` leaves out. (Such a dump also has
  // no large objects, event triggers, or partitions that live in other schemas.)
  const common = [...(options.schemas ?? ['public']).map((schema) => `--schema=${ident(schema)}`), '--no-owner', '--no-privileges'];
  await pgDump([...common, '--file', path.join(dir, 'backup.sql')]);
  await pgDump([...common, '--schema-only', '--file', path.join(dir, 'schema.sql')]);

  const sideFiles = await withPg(sourceUrl, async (c) => {
    const lines = async (sql: string) => (await c.query<{ line: string }>(sql)).rows.map((r) => r.line);
    // CHOICE: table-level (not column-level) grants to the three Supabase roles on public's
    // tables, views and sequences, plus EXECUTE on its functions: the objects 002's fix covers.
    const grants = await lines(`
      SELECT format('GRANT %s ON %s %I.%I TO %I;', string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type),
                    CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, n.nspname, c.relname, r.rolname) AS line
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN LATERAL aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND r.rolname IN ('anon', 'authenticated', 'service_role')
       GROUP BY c.relkind, n.nspname, c.relname, r.rolname
      UNION ALL
      SELECT format('GRANT EXECUTE ON %s %I.%I(%s) TO %I;', CASE WHEN p.prokind = 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
                    n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), r.rolname)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a JOIN pg_roles r ON r.oid = a.grantee
       WHERE n.nspname = 'public' AND r.rolname IN ('anon', 'authenticated', 'service_role') AND a.privilege_type = 'EXECUTE'
       ORDER BY 1`);
    // CHOICE: membership only (002: "Real-time publication table memberships"; its fix is a bare
    // ALTER PUBLICATION … ADD TABLE): column lists and row filters are not carried, and the
    // publication is assumed to exist, as it does on every Supabase project.
    const realtime = await lines(`
      SELECT format('ALTER PUBLICATION supabase_realtime ADD TABLE %I.%I;', schemaname, tablename) AS line
        FROM pg_publication_tables WHERE pubname = 'supabase_realtime' ORDER BY schemaname, tablename`);
    // Into the schema each extension lives in, without creating it (Supabase has "extensions").
    const extensions = await lines(`
      SELECT format('CREATE EXTENSION IF NOT EXISTS %I WITH SCHEMA %I;', e.extname, n.nspname) AS line
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY e.extname`);
    // 002: "only email, metadata, and role are exported" — never encrypted_password.
    const hasAuthUsers = (await c.query(`SELECT 1 FROM pg_class WHERE oid = to_regclass('auth.users')`)).rowCount === 1;
    const authUsers = hasAuthUsers
      ? await lines(`
          SELECT format('INSERT INTO auth.users (id, email, role, raw_app_meta_data, raw_user_meta_data, created_at) VALUES (%L, %L, %L, %L, %L, %L) ON CONFLICT (id) DO NOTHING;',
                        id, email, role, raw_app_meta_data, raw_user_meta_data, created_at) AS line
            FROM auth.users ORDER BY created_at, id`)
      : ['-- auth.users does not exist in this database'];
    const where = (await c.query<{ db: string; version: string }>(`SELECT current_database() AS db, current_setting('server_version') AS version`)).rows[0]!;
    return { grants, realtime, extensions, authUsers, where };
  });
  const header = (what: string) => `-- ${what}, from ${folder}\n`;
  await writeFile(path.join(dir, 'grants.sql'), `${header('GRANT permissions for Supabase roles')}${sideFiles.grants.join('\n')}\n`);
  await writeFile(path.join(dir, 'realtime.sql'), `${header('Real-time publication table memberships')}${sideFiles.realtime.join('\n')}\n`);
  await writeFile(path.join(dir, 'extensions.sql'), `${header('Enabled PostgreSQL extensions')}${sideFiles.extensions.join('\n')}\n`);
  await writeFile(path.join(dir, 'auth_users.sql'), `${header('Auth users metadata (SECURITY SENSITIVE!), no passwords')}${sideFiles.authUsers.join('\n')}\n`);
  // CHOICE: 002 says only "timestamp, source, etc."; host and database name, never a password.
  const connection = parseConnectionUrl(sourceUrl, 'legacy layout source');
  const metadata = {
    timestamp: at.toISOString(),
    source: 'prod',
    host: connection.host,
    database: sideFiles.where.db,
    serverVersion: sideFiles.where.version,
    files: ['backup.sql', 'schema.sql', 'grants.sql', 'realtime.sql', 'extensions.sql', 'auth_users.sql'],
  };
  await writeFile(path.join(dir, 'metadata.json'), `${JSON.stringify(metadata, null, 2)}\n`);
  return { dir, folder, files: await listFiles(dir) };
}

/** runbook: `scripts/backup_db.sh [prod] [--url URL] [label]` (004). */
export async function writeRunbookBackup(
  sourceUrl: string,
  backupsDir: string,
  options: { at?: Date; env?: string; label?: string } = {},
): Promise<LegacyBackup> {
  const at = options.at ?? new Date(Date.UTC(2025, 9, 2, 12, 13, 14));
  const folder = [compactStamp(at), options.env ?? 'staging', ...(options.label === undefined ? [] : [options.label])].join('_');
  const dir = path.join(backupsDir, folder);
  await mkdir(dir, { recursive: true });
  const { pgDump, psql } = tools(sourceUrl);
  // 004: "Full database dump (.dump, custom format)" and "Schema-only snapshot (schema.sql)";
  // the --no-owner --no-privileges it mentions belong to the restore, not the dump.
  await pgDump(['--format=custom', '--file', path.join(dir, 'db_full.dump')]);
  await pgDump(['--schema-only', '--file', path.join(dir, 'schema.sql')]);
  // `head -1 version.txt`: the server's version() line.
  await psql(['-At', '-c', 'SELECT version()'], path.join(dir, 'version.txt'));
  // CHOICE: psql unaligned, tab-separated, with a header row and no footer (004 reads them with
  // `column -t -s $'\t'` and greps views_reloptions.tsv for security_invoker).
  const tsv = ['-A', '-F', '\t', '-P', 'footer=off', '-c'];
  await psql(
    [...tsv, `SELECT e.extname, e.extversion, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1`],
    path.join(dir, 'extensions.tsv'),
  );
  await psql(
    [
      ...tsv,
      `SELECT n.nspname AS schema, c.relname AS view, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE c.relkind = 'v' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
    ],
    path.join(dir, 'views_reloptions.tsv'),
  );
  return { dir, folder, files: await listFiles(dir) };
}
