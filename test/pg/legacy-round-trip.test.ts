import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { restoreDatabase } from '../../src/engine/restore/restore.js';
import { ensureEventsSchema } from '../../src/reporting/events-schema.js';
import { engineContext, useTempDirs } from '../support/backups.js';
import { PROJECT_ROOT, useTestDatabases, withPg } from '../support/databases.js';
import { diffImages, imageOf, type DatabaseImage } from '../support/database-image.js';
import { writePnpmBackup, writeRunbookBackup, writeV2Backup, type LegacyBackup } from '../support/legacy-layouts.js';

// The three layouts the old scripts wrote (../shared/seeds), made from the torture fixture
// exactly as their documents describe, restored by dbops into a fresh database and into one where
// dbops already records its own events (code_ops with the artifact_runs view over its table),
// and compared with the source. The pnpm layout holds only the public schema, without owners or
// privileges, by its document's design: it is compared on what it holds.

const dbs = useTestDatabases('legacy_rt');
const tempDir = useTempDirs();
const TORTURE = path.join(PROJECT_ROOT, 'test/fixtures/torture.sql');

let source: { name: string; url: string };
let sourceImage: DatabaseImage;
let backupsDir: string;
const layouts = new Map<string, LegacyBackup>();

beforeAll(async () => {
  source = await dbs.create({ load: [TORTURE] });
  sourceImage = await imageOf(source.url);
  backupsDir = await tempDir();
  layouts.set('v2', await writeV2Backup(source.url, backupsDir));
  layouts.set('pnpm', await writePnpmBackup(source.url, backupsDir));
  layouts.set('runbook', await writeRunbookBackup(source.url, backupsDir));
});

async function target(withEvents: boolean) {
  const db = await dbs.create();
  if (withEvents) {
    await withPg(db.url, async (c) => {
      await ensureEventsSchema(c);
      await c.query(
        `INSERT INTO code_ops.artifact_events (run_id, artifact_type, artifact_name, event_type, success) VALUES (gen_random_uuid(), 'command', 'backup-db', 'invoked', null)`,
      );
    });
  }
  return db;
}

const restore = (folder: string, url: string) =>
  restoreDatabase({ backup: folder, url, yes: true, safetyBackup: true }, engineContext({ env: { DBOPS_BACKUP_DIR: backupsDir } }));

describe.each([false, true])('old layouts into a fresh database (code_ops already there: %s)', (withEvents) => {
  it.each(['v2', 'runbook'])('%s: restores equal to the source', async (name) => {
    const db = await target(withEvents);
    const result = await restore(layouts.get(name)!.dir, db.url);
    expect(result.plan.backup.layout).toMatch(/^legacy-/);
    if (name === 'v2') expect(result.verification).toMatchObject({ verified: true, countsRecorded: true, mismatches: [] });
    expect(diffImages(sourceImage, await imageOf(db.url))).toEqual([]);
    if (withEvents) {
      expect(
        result.historyRowsKept + (await withPg(db.url, async (c) => Number((await c.query('SELECT count(*) AS n FROM code_ops.artifact_events')).rows[0].n))),
      ).toBeGreaterThan(0);
      await withPg(db.url, (c) => c.query('SELECT * FROM code_ops.artifact_events'));
    }
  });

  // 002's restore replaces public in the DEV database, which has the app's other schemas; a
  // public-only dump whose views read other schemas cannot stand alone in an empty database.
  it('pnpm into an empty database: fails on its first real error and is put back as it was', async () => {
    const db = await target(withEvents);
    const before = await imageOf(db.url);
    const error = await restore(layouts.get('pnpm')!.dir, db.url).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RESTORE_FAILED', message: expect.stringMatching(/relation "prediction\.\w+" does not exist.*put back/) });
    expect(diffImages(before, await imageOf(db.url))).toEqual([]);
  });

  it('pnpm into the database it was made for: the public schema it holds equals the source', async () => {
    const db = await dbs.create({ template: source.name });
    if (withEvents) await withPg(db.url, (c) => ensureEventsSchema(c));
    const result = await restore(layouts.get('pnpm')!.dir, db.url);
    expect(result.plan.backup.layout).toBe('legacy-prod-sql');
    const after = await imageOf(db.url);
    const publicTables = Object.keys(sourceImage.tables).filter((t) => t.startsWith('public.'));
    expect(publicTables.length).toBeGreaterThan(5);
    for (const t of publicTables) expect(after.tables[t], t).toEqual(sourceImage.tables[t]);
    for (const [seq, value] of Object.entries(sourceImage.sequences).filter(([k]) => k.startsWith('public.'))) expect(after.sequences[seq], seq).toBe(value);
  });
});
