import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backupDatabase } from '../../src/engine/backup/backup.js';
import { restoreDatabase } from '../../src/engine/restore/restore.js';
import { engineContext, useTempDirs } from '../support/backups.js';
import { PROJECT_ROOT, useTestDatabases, withPg } from '../support/databases.js';
import { diffImages, imageOf, type DatabaseImage } from '../support/database-image.js';

// The differential round trip: each fixture backed up with each category flag, restored into a
// fresh database, and the target compared with the source on everything a restore must bring
// back (schema dump, rows and content per table, sequences, grants, default privileges,
// policies, publications and their members, comments, extensions, large objects). Data a flag
// leaves out must be absent from every partition and inheritance child. Any difference fails.

const dbs = useTestDatabases('rt');
const tempDir = useTempDirs();

const PAGILA = path.resolve(PROJECT_ROOT, '../shared/fixtures/pagila');
// refused: flags whose backup cannot restore into an empty database, by design: the app's rows
// point at auth.users rows the backup left out, so the restore says so before touching anything.
const FIXTURES: Record<string, { files: string[]; flags: string[]; refused?: string[]; skip?: string }> = {
  // Every object kind PostgreSQL 15 can hold that a Supabase app might, with names that need quoting.
  torture: {
    files: [path.join(PROJECT_ROOT, 'test/fixtures/torture.sql')],
    flags: ['full', '--no-transient', '--no-org-data', '--no-auth', '--no-storage', '--prod'],
    refused: ['--no-auth'],
  },
  pagila: {
    files: [path.join(PAGILA, 'pagila-schema.sql'), path.join(PAGILA, 'pagila-data.sql')],
    flags: ['full', '--prod'],
    ...(existsSync(PAGILA) ? {} : { skip: `../shared/fixtures/pagila is absent (a clone without the shared fixtures): Pagila round trips skipped` }),
  },
};

const FLAG_OPTIONS: Record<string, { exclude?: string[]; prod?: boolean }> = {
  full: {},
  '--no-transient': { exclude: ['transient'] },
  '--no-org-data': { exclude: ['org_data'] },
  '--no-auth': { exclude: ['auth'] },
  '--no-storage': { exclude: ['storage'] },
  '--prod': { prod: true },
};

describe.each(Object.entries(FIXTURES))('%s', (name, fixture) => {
  if (fixture.skip !== undefined) {
    it.skip(fixture.skip, () => undefined);
    return;
  }
  // Read-only fixtures; each test writes its backups into a directory of its own.
  let source: { name: string; url: string };
  let sourceImage: DatabaseImage;
  beforeAll(async () => {
    source = await dbs.create({ load: fixture.files });
    sourceImage = await imageOf(source.url);
  });

  it.each(fixture.flags)(`backup %s → restore into a fresh database equals the source`, async (flag) => {
    const dir = await tempDir();
    const backup = await backupDatabase({ url: source.url, out: dir, label: `${name}-${flag.replace(/^--/, '')}`, ...FLAG_OPTIONS[flag] }, engineContext());
    const target = await dbs.create();
    const restore = () =>
      restoreDatabase(
        { backup: backup.backupDir, url: target.url, yes: true, verify: 'content', safetyBackup: false },
        engineContext({ env: { DBOPS_BACKUP_DIR: dir } }),
      );
    if (fixture.refused?.includes(flag)) {
      const before = await imageOf(target.url);
      await expect(restore()).rejects.toMatchObject({
        code: 'TARGET_UNFIT',
        message: expect.stringMatching(/references auth\.users, whose rows the backup left out/),
      });
      expect(diffImages(before, await imageOf(target.url))).toEqual([]);
      return;
    }
    const result = await restore();
    expect(result.verification).toMatchObject({ verified: true, contentChecked: true, mismatches: [], contentMismatches: [] });

    const excludedRefs = backup.manifest.excludedDataTables;
    const excluded = excludedRefs.map((t) => `${t.schema}.${t.table}`);
    if (flag !== 'full' && name === 'torture') expect(excluded.length).toBeGreaterThan(0);
    // Every descendant of a left-out table is left out too.
    const descendants = await withPg(source.url, async (c) =>
      (
        await c.query<{ child: string }>(
          `WITH RECURSIVE d(oid) AS (SELECT to_regclass(x)::oid FROM unnest($1::text[]) x UNION SELECT i.inhrelid FROM pg_inherits i JOIN d ON i.inhparent = d.oid)
         SELECT n.nspname || '.' || c.relname AS child FROM d JOIN pg_class c ON c.oid = d.oid JOIN pg_namespace n ON n.oid = c.relnamespace`,
          [excludedRefs.map((t) => `"${t.schema.replace(/"/g, '""')}"."${t.table.replace(/"/g, '""')}"`)],
        )
      ).rows.map((r) => r.child),
    );
    expect(new Set(excluded)).toEqual(new Set(descendants));

    const differences = diffImages(sourceImage, await imageOf(target.url), { emptyTables: excluded });
    expect(differences).toEqual([]);
  });

  // Every object of the backup already there (and changed): each is dropped with the dump's own
  // DROP and made again, large objects included; the safety snapshot is taken and not needed.
  it('a full backup restored over a changed copy of the source equals the source', async () => {
    const dir = await tempDir();
    const backup = await backupDatabase({ url: source.url, out: dir, label: `${name}-over` }, engineContext());
    const copy = await dbs.create({ template: source.name });
    await withPg(copy.url, async (c) => {
      const [t] = (
        await c.query<{ s: string; t: string }>(`SELECT n.nspname AS s, c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname = 'public' AND c.relname <> 'artifact_events' ORDER BY c.relpages DESC, 2 LIMIT 1`)
      ).rows;
      await c.query(`TRUNCATE ${c.escapeIdentifier(t!.s)}.${c.escapeIdentifier(t!.t)} CASCADE`);
    });
    const result = await restoreDatabase(
      { backup: backup.backupDir, url: copy.url, yes: true, verify: 'content' },
      engineContext({ env: { DBOPS_BACKUP_DIR: dir } }),
    );
    expect(result.verification).toMatchObject({ verified: true, contentChecked: true });
    expect(diffImages(sourceImage, await imageOf(copy.url))).toEqual([]);
  });
});
