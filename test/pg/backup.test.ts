import { chmod, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/engine/folder/checksums.js';
import { manifestSchema, rowCountsSchema, type RowCounts } from '../../src/engine/folder/manifest.js';
import { runTool } from '../../src/engine/tools/pg-tools.js';
import { backupInto, restoreDumpInto, useTempDirs } from '../support/backups.js';
import { FIXTURE, FIXTURE_TRANSIENT_TABLES, psqlFile, tableCounts, useTestDatabases, withPg } from '../support/databases.js';

const dbs = useTestDatabases('backup');
const tempDir = useTempDirs();
let source: { name: string; url: string };

const TRANSIENT = FIXTURE_TRANSIENT_TABLES;
const ORG_DATA = ['marketing.campaigns', 'law.contracts', 'engineering.tickets', 'leads.leads', 'company_data.companies', 'risk.assessments'];

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

function countsOf(rowCounts: RowCounts): Record<string, number> {
  return Object.fromEntries(rowCounts.tables.map((t) => [`${t.schema}.${t.table}`, t.rows]));
}

async function dumpToc(backupDir: string): Promise<string> {
  return (await runTool('pg_restore', ['--list', path.join(backupDir, 'dump')])).stdout;
}

beforeAll(async () => {
  source = await dbs.create({ load: [FIXTURE] });
});

describe('a full backup', () => {
  let backupDir: string;
  beforeAll(async () => {
    backupDir = (await backupInto(source.url, await tempDir())).backupDir;
  });

  it('writes every file, with a metadata.json that validates and checksums that match', async () => {
    const manifest = manifestSchema.parse(await readJson(path.join(backupDir, 'metadata.json')));
    for (const file of [
      'schema.sql',
      'grants.sql',
      'realtime.sql',
      'extensions.sql',
      'extensions.tsv',
      'roles.sql',
      'auth_users.sql',
      'version.txt',
      'views_reloptions.tsv',
      'row_counts.json',
      'restore.sh',
      'restore-full.sh',
      'dump/toc.dat',
    ]) {
      expect(manifest.files, file).toHaveProperty([file]);
    }
    for (const [file, entry] of Object.entries(manifest.files)) {
      expect(await sha256File(path.join(backupDir, file)), file).toEqual(entry);
    }
    // checksums.sha256, written after metadata.json, covers it too.
    expect(await readFile(path.join(backupDir, 'checksums.sha256'), 'utf8')).toContain(
      `${(await sha256File(path.join(backupDir, 'metadata.json'))).sha256}  metadata.json\n`,
    );
    expect(manifest.mode).toBe('full');
    expect(manifest.source.database).toBe(source.name);
    expect(path.basename(backupDir)).toMatch(/^\d{8}_\d{6}_url$/);
  });

  it('keeps the folder 0700 and its files 0600 (scripts 0700)', async () => {
    expect((await stat(backupDir)).mode & 0o777).toBe(0o700);
    for (const entry of await readdir(backupDir, { recursive: true, withFileTypes: true })) {
      const mode = (await stat(path.join(entry.parentPath, entry.name))).mode & 0o777;
      expect(mode, entry.name).toBe(entry.isDirectory() || entry.name.endsWith('.sh') ? 0o700 : 0o600);
    }
  });

  it('records exact row counts that a pg_restore of the dump reproduces', async () => {
    const rowCounts = rowCountsSchema.parse(await readJson(path.join(backupDir, 'row_counts.json')));
    const target = await dbs.create();
    await restoreDumpInto(backupDir, target.url);
    const restored = await tableCounts(target.url);
    for (const [table, rows] of Object.entries(countsOf(rowCounts))) expect(restored[table], table).toBe(rows);
    expect(countsOf(rowCounts)['public.observability_events']).toBe(500);
    expect(countsOf(rowCounts)['rag_data.Mixed Case "Quoted" Table']).toBe(7);
    // Supabase-managed schemas are the platform's: not in the dump, not counted.
    expect(Object.keys(restored).some((t) => t.startsWith('realtime.') || t.startsWith('supabase_functions.'))).toBe(false);
  });

  it('exports the critical tables as CSV in foreign-key order, cycles grouped', async () => {
    const manifest = manifestSchema.parse(await readJson(path.join(backupDir, 'metadata.json')));
    const order = manifest.criticalTables.map((t) => `${t.schema}.${t.table}`);
    const before = (a: string, b: string) => expect(order.indexOf(a), `${a} before ${b}`).toBeLessThan(order.indexOf(b));
    before('auth.users', 'auth.identities');
    before('public.organizations', 'public.agents');
    before('public.llm_providers', 'public.llm_models');
    before('public.llm_models', 'public.agents');
    before('rag_data.documents', 'rag_data.Mixed Case "Quoted" Table');
    const sites = manifest.criticalTables.find((t) => t.table === 'sites');
    const pages = manifest.criticalTables.find((t) => t.table === 'pages');
    expect(sites?.group).toBe(pages?.group);
    expect(manifest.fkCycles).toEqual([
      {
        tables: [
          { schema: 'crawler', table: 'pages' },
          { schema: 'crawler', table: 'sites' },
        ],
        deferrable: true,
      },
    ]);
    const csv = gunzipSync(await readFile(path.join(backupDir, manifest.criticalTables.find((t) => t.table.startsWith('Mixed'))!.file))).toString('utf8');
    expect(csv.split('\n')[0]).toBe('Id,Value Text,document_id');
    expect(csv).toContain('"v""1,x"');
    expect(csv.trim().split('\n')).toHaveLength(8);
  });

  it('writes auth users without password hashes or tokens', async () => {
    const sql = await readFile(path.join(backupDir, 'auth_users.sql'), 'utf8');
    expect(sql.match(/^INSERT INTO auth\.users/gm)).toHaveLength(25);
    expect(sql).not.toMatch(/encrypted_password|confirmation_token|\$2a\$|tok-1/);
  });

  it('writes grants, realtime, roles and extension files that re-apply cleanly, twice', async () => {
    const target = await dbs.create();
    await restoreDumpInto(backupDir, target.url);
    for (const file of ['extensions.sql', 'roles.sql', 'grants.sql', 'realtime.sql', 'extensions.sql', 'roles.sql', 'grants.sql', 'realtime.sql']) {
      await psqlFile(target.url, path.join(backupDir, file));
    }
    const grants = await readFile(path.join(backupDir, 'grants.sql'), 'utf8');
    expect(grants).toContain('GRANT SELECT ON TABLE public.agents TO anon;');
    expect(grants).toMatch(/ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES {2}TO service_role;/);
    expect(grants).toContain('GRANT ALL ON FUNCTION auth.uid() TO authenticated;');
    expect(await readFile(path.join(backupDir, 'roles.sql'), 'utf8')).toMatch(/CREATE ROLE "dbops_fixture_owner" NOLOGIN;/);
    expect(await readFile(path.join(backupDir, 'roles.sql'), 'utf8')).not.toMatch(/CREATE ROLE "?(anon|authenticated|service_role|postgres)\b/);
    const members = await withPg(target.url, (c) =>
      c.query<{ t: string }>(`SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = 'supabase_realtime' ORDER BY 1`),
    );
    expect(members.rows.map((r) => r.t)).toEqual(['public.agents', 'public.conversations', 'public.tasks', 'rag_data.Mixed Case "Quoted" Table']);
    expect(await readFile(path.join(backupDir, 'extensions.tsv'), 'utf8')).toMatch(/^pgcrypto\t1\.\d+\tpublic$/m);
    expect(await readFile(path.join(backupDir, 'views_reloptions.tsv'), 'utf8')).toContain('public\tagent_overview\tview\tsecurity_invoker=true');
  });

  it('normalises \\restrict lines away, so schema.sql is stable between backups', async () => {
    const again = (await backupInto(source.url, await tempDir())).backupDir;
    const [a, b] = [await readFile(path.join(backupDir, 'schema.sql'), 'utf8'), await readFile(path.join(again, 'schema.sql'), 'utf8')];
    expect(a).not.toMatch(/^\\(un)?restrict/m);
    expect(a).toContain('CREATE TABLE rag_data."Mixed Case ""Quoted"" Table"');
    expect(b).toBe(a);
    for (const file of ['grants.sql', 'roles.sql', 'realtime.sql']) {
      expect(await readFile(path.join(again, file), 'utf8'), file).toBe(await readFile(path.join(backupDir, file), 'utf8'));
    }
  });
});

describe('category flags', () => {
  it('--no-transient keeps the transient tables but none of their rows, in the dump and the counts', async () => {
    const result = await backupInto(source.url, await tempDir(), { exclude: ['transient'] });
    const rowCounts = rowCountsSchema.parse(await readJson(path.join(result.backupDir, 'row_counts.json')));
    const target = await dbs.create();
    await restoreDumpInto(result.backupDir, target.url);
    const restored = await tableCounts(target.url);
    for (const table of TRANSIENT) {
      expect(restored[table], table).toBe(0);
      expect(rowCounts.tables.find((t) => `${t.schema}.${t.table}` === table)).toMatchObject({ rows: 0, dataIncluded: false });
    }
    expect(restored['marketing.campaigns']).toBe(30);
    expect(result.manifest.categories.excluded).toEqual([{ name: 'transient', mode: 'data' }]);
  });

  it('--no-org-data empties the org data tables', async () => {
    const result = await backupInto(source.url, await tempDir(), { exclude: ['org_data'] });
    const toc = await dumpToc(result.backupDir);
    expect(toc).toMatch(/TABLE marketing campaigns/);
    expect(toc).not.toMatch(/TABLE DATA marketing campaigns/);
    expect(toc).toMatch(/TABLE DATA public conversations/);
  });

  it('--no-auth leaves out the rows of auth, its CSVs and auth_users.sql, and keeps its definitions', async () => {
    const result = await backupInto(source.url, await tempDir(), { exclude: ['auth'] });
    const toc = await dumpToc(result.backupDir);
    expect(toc).toMatch(/ TABLE auth users /);
    expect(toc).not.toMatch(/ TABLE DATA auth /);
    expect(result.manifest.files).not.toHaveProperty(['auth_users.sql']);
    expect(result.manifest.criticalTables.some((t) => t.schema === 'auth')).toBe(false);
    expect(result.manifest.excludedSchemas).not.toContain('auth');
    expect(result.manifest.excludedDataTables).toContainEqual({ schema: 'auth', table: 'users', category: 'auth' });
  });

  it('--no-storage leaves out the rows of storage, and nothing of auth', async () => {
    const result = await backupInto(source.url, await tempDir(), { exclude: ['storage'] });
    const toc = await dumpToc(result.backupDir);
    expect(toc).not.toMatch(/ TABLE DATA storage /);
    expect(toc).toMatch(/ TABLE storage objects /);
    // auth.users is critical: its rows are stored once, as its CSV (the dump holds the table).
    expect(toc).toMatch(/ TABLE auth users /);
    expect(toc).not.toMatch(/ TABLE DATA auth users /);
    expect(result.manifest.criticalTables).toContainEqual(expect.objectContaining({ schema: 'auth', table: 'users', loadFromCsv: true }));
  });

  it('--prod equals --no-transient --no-org-data', async () => {
    const prod = await backupInto(source.url, await tempDir(), { prod: true });
    const flags = await backupInto(source.url, await tempDir(), { exclude: ['transient', 'org_data'] });
    expect(prod.manifest.mode).toBe('prod');
    expect(flags.manifest.mode).toBe('prod');
    expect(prod.manifest.categories).toEqual(flags.manifest.categories);
    expect(prod.manifest.excludedDataTables).toEqual(flags.manifest.excludedDataTables);
    const [a, b] = [
      await readJson<RowCounts>(path.join(prod.backupDir, 'row_counts.json')),
      await readJson<RowCounts>(path.join(flags.backupDir, 'row_counts.json')),
    ];
    expect(a).toEqual(b);
    for (const table of [...TRANSIENT, ...ORG_DATA]) expect(countsOf(a)[table], table).toBe(0);
  });

  it('refuses an unknown category with the list of valid ones', async () => {
    await expect(backupInto(source.url, await tempDir(), { exclude: ['nope'] })).rejects.toMatchObject({
      code: 'OPTION_INVALID',
      message: 'Unknown category "nope"; categories that can be left out: auth, storage, org_data, transient.',
    });
  });
});

describe('one snapshot', () => {
  it('row_counts.json equals what the dump holds while inserts run during the backup', async () => {
    const db = await dbs.create({ load: [FIXTURE] });
    let stop = false;
    let inserted = 0;
    let firstBatch!: () => void;
    const writing = new Promise<void>((resolve) => (firstBatch = resolve));
    const writer = withPg(db.url, async (c) => {
      while (!stop) {
        await c.query(`INSERT INTO public.observability_events (payload) SELECT '{}' FROM generate_series(1, 50)`);
        await c.query(`INSERT INTO prediction.forecasts (market_id, p) VALUES (1, 0.5)`);
        inserted += 51;
        firstBatch();
      }
    });
    writer.catch(() => firstBatch()); // a writer that fails is reported by `await writer` below
    // The backup starts once the writer is under way (not after a guessed delay).
    await writing;
    const insertedBefore = inserted;
    const result = await backupInto(db.url, await tempDir());
    stop = true;
    await writer;
    expect(insertedBefore).toBeGreaterThan(0);
    expect(inserted).toBeGreaterThan(insertedBefore);
    const counts = countsOf(await readJson<RowCounts>(path.join(result.backupDir, 'row_counts.json')));
    const target = await dbs.create();
    await restoreDumpInto(result.backupDir, target.url);
    const restored = await tableCounts(target.url);
    expect(restored['public.observability_events']).toBe(counts['public.observability_events']);
    expect(restored['prediction.forecasts']).toBe(counts['prediction.forecasts']);
    const csv = gunzipSync(await readFile(path.join(result.backupDir, 'data/prediction.forecasts.csv.gz'))).toString('utf8');
    expect(csv.trim().split('\n').length - 1).toBe(counts['prediction.forecasts']);
    const live = await tableCounts(db.url);
    expect(live['public.observability_events']).toBeGreaterThan(counts['public.observability_events']!);
  });
});

describe('failures', () => {
  it('refuses a pg_dump older than the server, with the install hint', async () => {
    const fakeBin = await tempDir();
    for (const tool of ['pg_dump', 'pg_restore', 'pg_dumpall']) {
      await writeFile(path.join(fakeBin, tool), '#!/bin/sh\necho "pg_dump (PostgreSQL) 9.6.24"\n');
      await chmod(path.join(fakeBin, tool), 0o755);
    }
    const before = process.env.PG_BIN_DIR;
    process.env.PG_BIN_DIR = fakeBin;
    try {
      const out = await tempDir();
      const error = await backupInto(source.url, out).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TOOL_TOO_OLD', message: expect.stringMatching(/^pg_dump 9\.6 is older than the server \(PostgreSQL \d+\)\.$/) });
      expect((error as { hint: string }).hint).toMatch(/postgresql-client/);
      expect(await readdir(out)).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.PG_BIN_DIR;
      else process.env.PG_BIN_DIR = before;
    }
  });

  it('reports an unreachable server clearly, within 10 s', async () => {
    const started = Date.now();
    const error = await backupInto('postgres://u:secret-pw@127.0.0.1:1/db', await tempDir()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
    expect(String((error as Error).message)).not.toContain('secret-pw');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses the transaction pooler port', async () => {
    await expect(backupInto('postgres://u:p@db.example.supabase.co:6543/postgres', await tempDir())).rejects.toMatchObject({
      code: 'URL_POOLER_TRANSACTION',
    });
  });
});
