import { appendFile, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { libpqEnv, parseConnectionUrl } from '../../src/engine/connection.js';
import { backupDatabase } from '../../src/engine/backup/backup.js';
import { ancestorsOf } from '../../src/engine/restore/apply-backup.js';
import { restoreDatabase, type RestoreOptions } from '../../src/engine/restore/restore.js';
import { backupInto, engineContext, useTempDirs } from '../support/backups.js';
import { FIXTURE, FIXTURE_TRANSIENT_TABLES, useTestDatabases, withPg } from '../support/databases.js';
import { fingerprint } from '../support/fingerprint.js';

const dbs = useTestDatabases('restore');
const tempDir = useTempDirs();
// Read-only fixtures: the source database and one full backup of it, in a folder of its own.
let source: { name: string; url: string };
let fullBackup: string;

const TRANSIENT = FIXTURE_TRANSIENT_TABLES;

/** A restore whose safety snapshot goes into a backups directory of its own, unless env names one. */
async function restore(options: RestoreOptions, env: Record<string, string> = {}) {
  return restoreDatabase(options, engineContext({ env: { DBOPS_BACKUP_DIR: await tempDir(), ...env } }));
}

/** The pre-restore safety snapshots in a backups directory: "<YYYYMMDD_HHMMSS>_url_pre-restore" for a --url target. */
async function safetySnapshots(dir: string): Promise<Array<{ folder: string; label: string | null; database: string }>> {
  const folders = (await readdir(dir)).filter((f) => /^\d{8}_\d{6}_url_pre-restore$/.test(f));
  return Promise.all(
    folders.map(async (folder) => {
      const m = JSON.parse(await readFile(path.join(dir, folder, 'metadata.json'), 'utf8')) as { label: string | null; source: { database: string } };
      return { folder, label: m.label, database: m.source.database };
    }),
  );
}

beforeAll(async () => {
  source = await dbs.create({ load: [FIXTURE] });
  fullBackup = (await backupInto(source.url, await tempDir())).backupDir;
});

describe('restoring a backup', () => {
  it('into a fresh database reproduces schema, grants, policies, publication, sequences, rows and content', async () => {
    const target = await dbs.create();
    const result = await restore({ backup: fullBackup, url: target.url, yes: true, verify: 'content' });
    expect(result.verification).toMatchObject({ verified: true, mismatches: [], contentChecked: true, contentMismatches: [] });
    expect(result.safetyBackupDir).toMatch(/_url_pre-restore$/);
    const [expected, actual] = [await fingerprint(source.url), await fingerprint(target.url)];
    expect(actual.tables).toEqual(expected.tables);
    expect(actual.sequences).toEqual(expected.sequences);
    expect(actual.policies).toEqual(expected.policies);
    expect(actual.grants).toEqual(expected.grants);
    expect(actual.publication).toEqual(expected.publication);
    expect(actual.schema).toBe(expected.schema);
    expect(actual.policies.length).toBeGreaterThan(0);
    expect(actual.publication).toContain('supabase_realtime:rag_data.Mixed Case "Quoted" Table');
  });

  it('loads the tables it fills from their CSVs frozen (COPY … FREEZE): the first read and autovacuum have no page to rewrite', async (context) => {
    const target = await dbs.create();
    await restore({ backup: fullBackup, url: target.url, yes: true, safetyBackup: false, verify: 'content' });
    const manifest = JSON.parse(await readFile(path.join(fullBackup, 'metadata.json'), 'utf8')) as {
      criticalTables: Array<{ schema: string; table: string; rows: number; loadFromCsv?: boolean }>;
    };
    const fromCsv = manifest.criticalTables.filter((t) => t.loadFromCsv === true && t.rows > 0);
    expect(fromCsv.length).toBeGreaterThan(0);
    await withPg(target.url, async (c) => {
      const available = await c.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'pg_visibility'`);
      if (available.rowCount === 0) context.skip('pg_visibility (PostgreSQL contrib) is not installed on this server: frozen pages cannot be read');
      await c.query('CREATE EXTENSION pg_visibility');
      for (const t of fromCsv) {
        const name = `${c.escapeIdentifier(t.schema)}.${c.escapeIdentifier(t.table)}`;
        const { rows } = await c.query<{ pages: string; frozen: string }>(
          `SELECT (SELECT count(*) FROM pg_visibility_map($1::regclass))::text AS pages, all_frozen::text AS frozen FROM pg_visibility_map_summary($1::regclass)`,
          [name],
        );
        expect(Number(rows[0]!.pages), name).toBeGreaterThan(0);
        expect(rows[0]!.frozen, name).toBe(rows[0]!.pages);
      }
    });
  });

  it('over a database holding different data leaves exactly the backup', async () => {
    const target = await dbs.create({ load: [FIXTURE] });
    await withPg(target.url, async (c) => {
      await c.query(`DELETE FROM public.llm_usage WHERE id > 10`);
      await c.query(`UPDATE public.agents SET name = 'changed'`);
      await c.query(`INSERT INTO public.settings VALUES ('extra', 'row')`);
      await c.query(`SELECT setval('public.agents_id_seq', 999)`);
    });
    const result = await restore({ backup: fullBackup, url: target.url, yes: true, verify: 'content' });
    expect(result.verification.verified).toBe(true);
    expect(await fingerprint(target.url)).toEqual(await fingerprint(source.url));
  });

  it('of a --no-transient backup: transient tables exist and are empty, everything else equal', async () => {
    const backup = (await backupInto(source.url, await tempDir(), { exclude: ['transient'] })).backupDir;
    const target = await dbs.create();
    const result = await restore({ backup, url: target.url, yes: true });
    expect(result.verification.verified).toBe(true);
    const [expected, actual] = [await fingerprint(source.url), await fingerprint(target.url)];
    for (const table of TRANSIENT) {
      expect(actual.tables[table], table).toEqual({ rows: 0, hash: expect.any(String) });
      expect(result.verification.emptyTables).toContain(table);
    }
    for (const [table, value] of Object.entries(expected.tables)) {
      if (!TRANSIENT.includes(table)) expect(actual.tables[table], table).toEqual(value);
    }
  });

  it("keeps the target's code_ops.artifact_events rows, adding the backup's without duplicates", async () => {
    const history = `CREATE SCHEMA IF NOT EXISTS code_ops;
      CREATE TABLE IF NOT EXISTS code_ops.artifact_events (id bigserial PRIMARY KEY, run_id uuid NOT NULL, artifact_type text, artifact_name text,
        artifact_version text, event_type text NOT NULL, success boolean, details jsonb, created_at timestamptz DEFAULT now(), UNIQUE (run_id, event_type));`;
    const src = await dbs.create({ load: [FIXTURE] });
    await withPg(src.url, (c) =>
      c.query(
        `${history} INSERT INTO code_ops.artifact_events (run_id, event_type) VALUES ('00000000-0000-0000-0000-0000000000a1', 'invoked'), ('00000000-0000-0000-0000-0000000000a2', 'invoked');`,
      ),
    );
    const backup = (await backupInto(src.url, await tempDir())).backupDir;
    const target = await dbs.create();
    await withPg(target.url, (c) =>
      c.query(
        `${history} INSERT INTO code_ops.artifact_events (run_id, event_type) VALUES ('00000000-0000-0000-0000-0000000000a1', 'invoked'), ('00000000-0000-0000-0000-0000000000b1', 'invoked'), ('00000000-0000-0000-0000-0000000000b1', 'completed');`,
      ),
    );
    const result = await restore({ backup, url: target.url, yes: true });
    expect(result.historyRowsKept).toBe(2);
    const rows = await withPg(target.url, (c) =>
      c.query<{ k: string }>(`SELECT run_id::text || ':' || event_type AS k FROM code_ops.artifact_events ORDER BY 1`),
    );
    expect(rows.rows.map((r) => r.k)).toEqual([
      '00000000-0000-0000-0000-0000000000a1:invoked',
      '00000000-0000-0000-0000-0000000000a2:invoked',
      '00000000-0000-0000-0000-0000000000b1:completed',
      '00000000-0000-0000-0000-0000000000b1:invoked',
    ]);
    // row_counts.json says 2; the kept history adds to it, which verification accepts.
    expect(result.verification.verified).toBe(true);
    expect(result.verification.tables.find((t) => t.table === 'artifact_events')).toMatchObject({ expected: 2, actual: 4, ok: true });
  });
});

describe('restore.sh, without dbops', () => {
  it('checks the checksums and restores with psql and pg_restore alone', async () => {
    const target = await dbs.create();
    const env = { ...libpqEnv(parseConnectionUrl(target.url, 'test')), PATH: process.env.PATH ?? '' };
    const run = await execa(path.join(fullBackup, 'restore.sh'), ['--yes'], { env, extendEnv: false, reject: false });
    // The only thing a test server may say: wal_level is too low for logical replication.
    expect(run.stderr.replace(/^.*(wal_level|Set wal_level).*$/gm, '').trim()).toBe('');
    expect(run.exitCode).toBe(0);
    expect((await fingerprint(target.url)).tables).toEqual((await fingerprint(source.url)).tables);
  });

  it('refuses a damaged backup before touching the target', async () => {
    const dir = (await backupInto(source.url, await tempDir())).backupDir;
    await appendFile(path.join(dir, 'grants.sql'), '-- changed\n');
    const target = await dbs.create();
    const env = { ...libpqEnv(parseConnectionUrl(target.url, 'test')), PATH: process.env.PATH ?? '' };
    const run = await execa(path.join(dir, 'restore.sh'), ['--yes'], { env, extendEnv: false, reject: false });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('restore.sh: checksums do not match; the backup is damaged, nothing was restored');
    expect(Object.keys((await fingerprint(target.url)).tables)).toEqual([]);
  });
});

describe('choosing the backup', () => {
  it('"latest" is the newest complete backup by recorded time, skipping broken folders and naming them', async () => {
    const dir = await tempDir();
    const older = (await backupInto(source.url, dir, { label: 'older' })).backupDir;
    const newer = (await backupInto(source.url, dir, { label: 'newer' })).backupDir;
    await appendFile(path.join(newer, 'schema.sql'), '-- tampered\n');
    await writeFile(path.join(dir, 'notes.txt'), 'not a backup');
    const target = await dbs.create();
    const result = await restore({ url: target.url, yes: true, safetyBackup: false }, { DBOPS_BACKUP_DIR: dir });
    expect(result.plan.backup.dir).toBe(older);
    expect(result.plan.skipped).toEqual([{ folder: path.basename(newer), reason: expect.stringContaining('schema.sql does not match its checksum') }]);
  });

  it('--from picks the newest backup taken from that target', async () => {
    const dir = await tempDir();
    const fromUrl = (await backupInto(source.url, dir, { label: 'x' })).backupDir;
    // A newer backup of another target must not be chosen.
    await backupDatabase({ target: 'staging' }, engineContext({ env: { DATABASE_URL_STAGING: source.url, DBOPS_BACKUP_DIR: dir } }));
    const picked = await restore({ from: 'url', url: (await dbs.create()).url, yes: true, safetyBackup: false }, { DBOPS_BACKUP_DIR: dir });
    expect(picked.plan.backup.dir).toBe(fromUrl);
    const fromDev = await restoreDatabase({ from: 'dev', url: (await dbs.create()).url, yes: true }, engineContext({ env: { DBOPS_BACKUP_DIR: dir } })).catch(
      (e: unknown) => e,
    );
    expect(fromDev).toMatchObject({
      code: 'NO_BACKUPS',
      message: expect.stringMatching(
        new RegExp(`^No valid dbops backup taken from target "dev" in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( \\(skipped: .*\\))?\\.$`),
      ),
    });
  });

  it('a path that does not exist, is not a backup, or is empty gets a one-line error', async () => {
    const target = await dbs.create();
    const empty = await tempDir();
    await expect(restore({ backup: '/no/such/folder', url: target.url, yes: true })).rejects.toMatchObject({
      code: 'BACKUP_NOT_FOUND',
      message: 'Backup folder /no/such/folder does not exist.',
    });
    await expect(restore({ backup: empty, url: target.url, yes: true })).rejects.toMatchObject({
      code: 'BACKUP_INVALID',
      message: `Backup folder ${empty} is empty.`,
    });
    await writeFile(path.join(empty, 'x.txt'), 'x');
    await expect(restore({ backup: empty, url: target.url, yes: true })).rejects.toMatchObject({ code: 'BACKUP_INVALID' });
  });
});

describe('refusals leave the target exactly as it was', () => {
  let target: { name: string; url: string };
  let before: Awaited<ReturnType<typeof fingerprint>>;
  beforeAll(async () => {
    target = await dbs.create({ load: [FIXTURE] });
    await withPg(target.url, (c) => c.query(`UPDATE public.agents SET name = 'local edit'`));
    before = await fingerprint(target.url);
  });

  async function expectRefused(promise: Promise<unknown>, code: string) {
    await expect(promise).rejects.toMatchObject({ code });
    expect(await fingerprint(target.url)).toEqual(before);
  }

  it('a tampered checksum', async () => {
    const dir = (await backupInto(source.url, await tempDir())).backupDir;
    const csv = path.join(dir, 'data/public.agents.csv.gz');
    await appendFile(csv, '99,1,1,evil,{}\n');
    await expectRefused(restore({ backup: dir, url: target.url, yes: true }), 'BACKUP_CORRUPT');
  });

  it('a missing file', async () => {
    const dir = (await backupInto(source.url, await tempDir())).backupDir;
    const dumpFiles = await readdir(path.join(dir, 'dump'));
    await rm(path.join(dir, 'dump', dumpFiles.find((f) => f.endsWith('.gz'))!));
    await expectRefused(restore({ backup: dir, url: target.url, yes: true }), 'BACKUP_CORRUPT');
  });

  it('no --yes and nobody to ask', async () => {
    await expectRefused(restore({ backup: fullBackup, url: target.url }), 'CONFIRMATION_REQUIRED');
  });

  it('a protected target without the right --confirm', async () => {
    const env = { DATABASE_URL_PROD: target.url };
    await expectRefused(restore({ backup: fullBackup, target: 'prod', yes: true }, env), 'CONFIRM_MISMATCH');
    await expectRefused(restore({ backup: fullBackup, target: 'prod', yes: true, confirm: 'postgres' }, env), 'CONFIRM_MISMATCH');
  });

  it('a restore already running into the same database', async () => {
    await withPg(target.url, async (c) => {
      await c.query(`SELECT pg_advisory_lock(hashtext('dbops:restore'))`);
      await expectRefused(restore({ backup: fullBackup, url: target.url, yes: true }), 'RESTORE_LOCKED');
    });
  });
});

describe('pg_restore runs around the CSV loads', () => {
  it("counts every partitioned or inheritance parent of a CSV table as one: a key on it reads the CSV table's rows", async () => {
    const db = await dbs.create();
    await withPg(db.url, (c) =>
      c.query(`CREATE SCHEMA "odd ""name""";
               CREATE TABLE top (id int, at date) PARTITION BY RANGE (at);
               CREATE TABLE "odd ""name""".mid PARTITION OF top FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY RANGE (at);
               CREATE TABLE leaf PARTITION OF "odd ""name""".mid FOR VALUES FROM ('2024-01-01') TO ('2024-07-01');
               CREATE TABLE other PARTITION OF top FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
               CREATE TABLE base (id int); CREATE TABLE child () INHERITS (base); CREATE TABLE grandchild () INHERITS (child);
               CREATE TABLE alone (id int);`),
    );
    const spec = parseConnectionUrl(db.url, 'test');
    const names = (refs: Array<{ schema: string; table: string }>) => refs.map((r) => `${r.schema}.${r.table}`).sort();
    expect(names(await ancestorsOf(spec, [{ schema: 'public', table: 'leaf' }]))).toEqual(['odd "name".mid', 'public.top']);
    expect(
      names(
        await ancestorsOf(spec, [
          { schema: 'public', table: 'grandchild' },
          { schema: 'public', table: 'alone' },
        ]),
      ),
    ).toEqual(['public.base', 'public.child']);
    expect(await ancestorsOf(spec, [{ schema: 'public', table: 'other' }])).toEqual([{ schema: 'public', table: 'top' }]);
    expect(await ancestorsOf(spec, [])).toEqual([]);
  });
});

describe('--data-only --tables', () => {
  it('truncates and reloads just those tables, in FK order, in one transaction, after a safety snapshot', async () => {
    const target = await dbs.create({ load: [FIXTURE] });
    await withPg(target.url, async (c) => {
      await c.query(`UPDATE public.llm_models SET name = 'edited'`);
      await c.query(`DELETE FROM public.settings`);
      await c.query(`UPDATE public.agents SET name = 'kept'`);
    });
    const dir = await tempDir();
    const result = await restore(
      { backup: fullBackup, url: target.url, yes: true, dataOnly: true, tables: ['public.settings', 'crawler.sites', 'crawler.pages'] },
      { DBOPS_BACKUP_DIR: dir },
    );
    // The snapshot of the target taken before anything changed: what the refusal below must not leave.
    const snapshots = await safetySnapshots(dir);
    expect(snapshots).toEqual([{ folder: expect.any(String), label: 'pre-restore', database: target.name }]);
    expect(result.safetyBackupDir).toBe(path.join(dir, snapshots[0]!.folder));
    expect(result.verification.tables.map((t) => `${t.schema}.${t.table}`).sort()).toEqual(['crawler.pages', 'crawler.sites', 'public.settings']);
    expect(result.verification.verified).toBe(true);
    const [expected, actual] = [await fingerprint(source.url), await fingerprint(target.url)];
    expect(actual.tables['public.settings']).toEqual(expected.tables['public.settings']);
    expect(actual.tables['crawler.pages']).toEqual(expected.tables['crawler.pages']);
    expect(actual.tables['public.agents']).not.toEqual(expected.tables['public.agents']);
  });

  it('refuses a table that tables outside the list reference, naming them, before touching anything', async () => {
    const target = await dbs.create({ load: [FIXTURE] });
    const before = await fingerprint(target.url);
    const dir = await tempDir();
    await expect(
      restore({ backup: fullBackup, url: target.url, yes: true, dataOnly: true, tables: ['public.llm_models'] }, { DBOPS_BACKUP_DIR: dir }),
    ).rejects.toMatchObject({
      code: 'OPTION_INVALID',
      message: '--tables leave out public.agents, public.llm_usage, which reference the chosen tables: add them to --tables, or restore the full backup.',
    });
    expect(await fingerprint(target.url)).toEqual(before);
    // Refused before the safety snapshot: no snapshot, not even an unfinished one.
    expect(await safetySnapshots(dir)).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a table the backup holds no data for, and leaves everything as it was', async () => {
    const backup = (await backupInto(source.url, await tempDir(), { exclude: ['transient'] })).backupDir;
    const target = await dbs.create({ load: [FIXTURE] });
    const before = await fingerprint(target.url);
    await expect(restore({ backup, url: target.url, yes: true, dataOnly: true, tables: ['public.tasks'] })).rejects.toMatchObject({
      code: 'OPTION_INVALID',
      message: expect.stringMatching(/^The backup holds no data for public\.tasks; tables with data: /),
    });
    expect(await fingerprint(target.url)).toEqual(before);
  });
});
