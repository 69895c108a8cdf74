import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { restoreDatabase } from '../../src/engine/restore/restore.js';
import { runTool } from '../../src/engine/tools/pg-tools.js';
import { engineContext, useTempDirs } from '../support/backups.js';
import { PROJECT_ROOT, useTestDatabases } from '../support/databases.js';
import { fingerprint } from '../support/fingerprint.js';

// The three layouts the team's scripts wrote before dbops, made here the way those scripts
// made them (pg_dump plain or custom, side files), then restored by restore-db.

const dbs = useTestDatabases('legacy');
const tempDir = useTempDirs();
const TINY = path.join(PROJECT_ROOT, 'test/fixtures/legacy-tiny.sql');
// Read-only fixture: the database the old layouts are made from. Each test makes its folders in a
// backups directory of its own.
let source: { name: string; url: string };

const dump = (args: string[]) => runTool('pg_dump', args, { connection: parseConnectionUrl(source.url, 'test') });

beforeAll(async () => {
  source = await dbs.create({ load: [TINY] });
});

/** Layout 1: <YYYYMMDD_HHMMSS>/ with backup.sql.gz, data/*.csv, row_counts.json, metadata.json "2.0". */
async function layout1(backups: string): Promise<string> {
  const dir = path.join(backups, '20250102_030405');
  await mkdir(path.join(dir, 'data'), { recursive: true });
  await dump(['--clean', '--if-exists', '--file', path.join(dir, 'backup.sql')]);
  await pipeline(createReadStream(path.join(dir, 'backup.sql')), createGzip(), createWriteStream(path.join(dir, 'backup.sql.gz')));
  await rm(path.join(dir, 'backup.sql'));
  await writeFile(path.join(dir, 'data/organizations.csv'), 'id,name\n1,Acme\n2,Globex\n');
  await writeFile(path.join(dir, 'row_counts.json'), JSON.stringify({ organizations: 2, agents: 9 }));
  await writeFile(path.join(dir, 'metadata.json'), JSON.stringify({ version: '2.0', timestamp: '2025-01-02T03:04:05Z' }));
  return dir;
}

/** Layout 2: prod_<YYYY-MM-DDTHH-MM-SS>/ with backup.sql and the side files. */
async function layout2(backups: string): Promise<string> {
  const dir = path.join(backups, 'prod_2025-02-03T04-05-06');
  await mkdir(dir, { recursive: true });
  await dump(['--clean', '--if-exists', '--no-publications', '--file', path.join(dir, 'backup.sql')]);
  await dump(['--schema-only', '--file', path.join(dir, 'schema.sql')]);
  await writeFile(path.join(dir, 'grants.sql'), 'GRANT SELECT ON public.agents TO anon;\n');
  await writeFile(path.join(dir, 'realtime.sql'), 'CREATE PUBLICATION supabase_realtime FOR TABLE public.agents;\n');
  await writeFile(path.join(dir, 'extensions.sql'), 'CREATE EXTENSION IF NOT EXISTS pgcrypto;\n');
  await writeFile(path.join(dir, 'auth_users.sql'), '-- no auth schema in this project\n');
  await writeFile(path.join(dir, 'metadata.json'), JSON.stringify({ environment: 'prod' }));
  return dir;
}

/** Layout 3: <YYYYMMDD_HHMMSS>_<env>[_label]/ with db_full.dump (custom format). */
async function layout3(backups: string): Promise<string> {
  const dir = path.join(backups, '20250304_050607_staging_pre-upgrade');
  await mkdir(dir, { recursive: true });
  await dump(['--format=custom', '--file', path.join(dir, 'db_full.dump')]);
  await dump(['--schema-only', '--file', path.join(dir, 'schema.sql')]);
  await writeFile(path.join(dir, 'version.txt'), 'PostgreSQL 15\n');
  await writeFile(path.join(dir, 'extensions.tsv'), 'extname\textversion\npgcrypto\t1.3\n');
  return dir;
}

async function restoreAndCompare(folder: string) {
  const target = await dbs.create();
  const result = await restoreDatabase({ backup: folder, url: target.url, yes: true }, engineContext({ env: { DBOPS_BACKUP_DIR: path.dirname(folder) } }));
  const [expected, actual] = [await fingerprint(source.url), await fingerprint(target.url)];
  expect(actual.tables).toEqual(expected.tables);
  expect(actual.sequences).toEqual(expected.sequences);
  return { result, actual, expected };
}

describe('backups made by the old scripts', () => {
  it('layout 1: <YYYYMMDD_HHMMSS>/ with backup.sql.gz, data/*.csv, row_counts.json, metadata.json "2.0"', async () => {
    const { result } = await restoreAndCompare(await layout1(await tempDir()));
    expect(result.plan.backup).toMatchObject({ layout: 'legacy-sql-gz', createdAt: '2025-01-02T03:04:05.000Z' });
    expect(result.plan.warnings[0]).toMatch(/has no checksums/);
    expect(result.verification).toMatchObject({ verified: true, countsRecorded: true });
    expect(result.verification.tables.map((t) => `${t.schema}.${t.table}=${t.actual}`).sort()).toEqual(['public.agents=9', 'public.organizations=2']);
  });

  it('layout 2: prod_<YYYY-MM-DDTHH-MM-SS>/ with backup.sql and the side files', async () => {
    const { result, actual, expected } = await restoreAndCompare(await layout2(await tempDir()));
    expect(result.plan.backup).toMatchObject({ layout: 'legacy-prod-sql', createdAt: '2025-02-03T04:05:06.000Z', source: 'prod' });
    expect(actual.publication).toEqual(expected.publication);
    expect(actual.grants).toEqual(expected.grants);
    expect(result.verification.countsRecorded).toBe(false);
  });

  it('layout 3: <YYYYMMDD_HHMMSS>_<env>[_label]/ with db_full.dump (custom format)', async () => {
    const { result, actual, expected } = await restoreAndCompare(await layout3(await tempDir()));
    expect(result.plan.backup).toMatchObject({ layout: 'legacy-custom-dump', createdAt: '2025-03-04T05:06:07.000Z', source: 'staging' });
    expect(actual.schema).toBe(expected.schema);
  });

  it('"latest" never picks an old layout (nothing in it can be verified): it names them, and they restore only when named', async () => {
    const backups = await tempDir();
    const folders = [await layout1(backups), await layout2(backups), await layout3(backups)].map((dir) => path.basename(dir));
    const target = await dbs.create();
    const before = await fingerprint(target.url);
    const attempt = restoreDatabase({ url: target.url, yes: true, safetyBackup: false }, engineContext({ env: { DBOPS_BACKUP_DIR: backups } }));
    const error = (await attempt.catch((e: unknown) => e)) as { code: string; message: string };
    expect(error).toMatchObject({ code: 'NO_BACKUPS' });
    for (const folder of folders) expect(error.message).toContain(folder);
    expect(await fingerprint(target.url)).toEqual(before);
  });
});
