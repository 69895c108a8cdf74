import { cp, mkdir, readFile, readdir, symlink, writeFile, utimes } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeChecksumList } from '../../src/engine/folder/seal.js';
import { sha256File } from '../../src/engine/folder/checksums.js';
import { listBackups } from '../../src/engine/lifecycle/list-backups.js';
import { pruneBackups } from '../../src/engine/lifecycle/prune-backups.js';
import { verifyBackup } from '../../src/engine/lifecycle/verify-backup.js';
import type { Manifest } from '../../src/engine/folder/manifest.js';
import { backupInto, engineContext, useTempDirs } from '../support/backups.js';
import { FIXTURE, useTestDatabases, withPg } from '../support/databases.js';

const dbs = useTestDatabases('lifecycle');
const tempDir = useTempDirs();
let source: { name: string; url: string };
let template: string;

beforeAll(async () => {
  source = await dbs.create({ load: [FIXTURE] });
  template = (await backupInto(source.url, await tempDir())).backupDir;
});

const ctxFor = (dir: string, env: Record<string, string> = {}) => engineContext({ env: { DBOPS_BACKUP_DIR: dir, ...env } });

/** A copy of the template backup under a new name, time, target, label and source database, its checksums recomputed as a tamperer would. */
async function fakeBackup(dir: string, when: string, target: string, label: string | null, database = `db_${target}`): Promise<string> {
  const folder = `${when.replace(/[-:]/g, '').replace('T', '_').slice(0, 15)}_${target}${label ? `_${label}` : ''}`;
  const to = path.join(dir, folder);
  await cp(template, to, { recursive: true });
  const manifest = JSON.parse(await readFile(path.join(to, 'metadata.json'), 'utf8')) as Manifest;
  await writeFile(path.join(to, 'metadata.json'), JSON.stringify({ ...manifest, createdAt: when, target, label, source: { ...manifest.source, database } }));
  await writeChecksumList(to, manifest.files);
  return folder;
}

/** Rewrites a file and its recorded checksums, so only a deeper check can notice. */
async function rewriteWithChecksums(dir: string, file: string, text: string | Buffer): Promise<void> {
  await writeFile(path.join(dir, file), text);
  const manifest = JSON.parse(await readFile(path.join(dir, 'metadata.json'), 'utf8')) as Manifest;
  manifest.files[file] = await sha256File(path.join(dir, file));
  await writeFile(path.join(dir, 'metadata.json'), JSON.stringify(manifest));
  await writeChecksumList(dir, manifest.files);
}

/** Whether the drill's own database is still there (other runs on the same server may be drilling too). */
async function databaseExists(name: string): Promise<boolean> {
  return withPg(dbs.adminUrl, async (c) => (await c.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount === 1);
}

describe('list-backups', () => {
  it('lists valid, incomplete, corrupt and legacy folders, newest first, and ignores the rest', async () => {
    const dir = await tempDir();
    await fakeBackup(dir, '2026-11-20T10:00:00.000Z', 'prod', null);
    const corrupt = await fakeBackup(dir, '2026-11-21T10:00:00.000Z', 'prod', 'nightly');
    await writeFile(path.join(dir, corrupt, 'schema.sql'), 'tampered');
    await mkdir(path.join(dir, '.20261122_100000_prod.partial-999', 'dump'), { recursive: true });
    await mkdir(path.join(dir, '20250101_000000_staging'));
    await writeFile(path.join(dir, '20250101_000000_staging', 'db_full.dump'), 'PGDMP');
    await mkdir(path.join(dir, 'random-notes'));
    await writeFile(path.join(dir, 'random-notes', 'todo.txt'), 'x');
    const { backups } = await listBackups({}, ctxFor(dir));
    expect(backups.map((b) => [b.folder, b.status, b.target, b.label])).toEqual([
      [corrupt, 'corrupt', 'prod', 'nightly'],
      ['20261120_100000_prod', 'valid', 'prod', null],
      ['20250101_000000_staging', 'legacy', 'staging', null],
      ['.20261122_100000_prod.partial-999', 'incomplete', null, null],
    ]);
    expect(backups[0]?.problem).toMatch(/schema\.sql does not match its checksum/);
    expect((await listBackups({ target: 'staging' }, ctxFor(dir))).backups.map((b) => b.folder)).toEqual(['20250101_000000_staging']);
  });
});

describe('verify-backup', () => {
  it('passes a good backup', async () => {
    const report = await verifyBackup({ backup: template }, ctxFor(await tempDir()));
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => `${c.name}:${c.ok}`)).toEqual(['metadata:true', 'checksums:true', 'dump:true', 'csv:true']);
  });

  it('catches a flipped byte in every kind of file', async () => {
    const kinds = [
      'metadata.json',
      'schema.sql',
      'grants.sql',
      'row_counts.json',
      'data/public.agents.csv.gz',
      'dump/toc.dat',
      'restore.sh',
      'checksums.sha256',
    ];
    const dumpData = (await readdir(path.join(template, 'dump'))).find((f) => f.endsWith('.dat.gz'))!;
    for (const file of [...kinds, `dump/${dumpData}`]) {
      const dir = await tempDir();
      await cp(template, path.join(dir, 'b'), { recursive: true });
      const target = path.join(dir, 'b', file);
      const bytes = await readFile(target);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = bytes[at]! ^ 0x01;
      await writeFile(target, bytes);
      // Either a check fails, or (metadata.json itself damaged) the backup is refused as corrupt; nothing else.
      const report = await verifyBackup({ backup: path.join(dir, 'b') }, ctxFor(dir)).catch((e: unknown) => {
        expect(e, file).toMatchObject({ code: 'BACKUP_CORRUPT' });
        return { ok: false };
      });
      expect(report.ok, file).toBe(false);
    }
  });

  it('catches CSVs whose rows do not match, even with rewritten checksums', async () => {
    const dir = path.join(await tempDir(), 'b');
    await cp(template, dir, { recursive: true });
    const csv = gunzipSync(await readFile(path.join(dir, 'data/public.agents.csv.gz'))).toString('utf8');
    await rewriteWithChecksums(dir, 'data/public.agents.csv.gz', gzipSync(csv.split('\n').slice(0, 3).join('\n') + '\n'));
    const report = await verifyBackup({ backup: dir }, ctxFor(dir));
    expect(report.checks.find((c) => c.name === 'csv')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('data/public.agents.csv.gz holds 2 rows, metadata says 12'),
    });
  });

  it('--drill restores a good backup into a throwaway database that is dropped afterwards', async () => {
    const report = await verifyBackup({ backup: template, drill: true, url: dbs.adminUrl }, ctxFor(await tempDir()));
    expect(report.ok).toBe(true);
    expect(report.drill).toMatchObject({
      database: expect.stringMatching(/^dbops_drill_[0-9a-f]{8}$/),
      dropped: true,
      error: null,
      verification: { verified: true, mismatches: [] },
    });
    expect(await databaseExists(report.drill!.database)).toBe(false);
  });

  it('--drill fails on a wrong row count, and still leaves no database behind', async () => {
    const dir = path.join(await tempDir(), 'b');
    await cp(template, dir, { recursive: true });
    const counts = JSON.parse(await readFile(path.join(dir, 'row_counts.json'), 'utf8')) as { tables: Array<{ table: string; rows: number }> };
    counts.tables.find((t) => t.table === 'llm_usage')!.rows += 1;
    await rewriteWithChecksums(dir, 'row_counts.json', JSON.stringify(counts));
    const report = await verifyBackup({ backup: dir, drill: true, url: dbs.adminUrl }, ctxFor(dir));
    expect(report.ok).toBe(false);
    expect(report.drill?.verification?.mismatches).toEqual([expect.objectContaining({ table: 'llm_usage', expected: 201, actual: 200 })]);
    expect(report.drill?.database).toMatch(/^dbops_drill_[0-9a-f]{8}$/);
    expect(await databaseExists(report.drill!.database)).toBe(false);
  });
});

describe('prune-backups', () => {
  async function populate(): Promise<string> {
    const dir = await tempDir();
    // prod: 7 plain, 3 pre-upgrade, 1 pre-restore; staging: 2; dev: one corrupt newest and one valid.
    for (let d = 1; d <= 7; d++) await fakeBackup(dir, `2026-11-0${d}T01:00:00.000Z`, 'prod', null);
    for (let d = 1; d <= 3; d++) await fakeBackup(dir, `2026-10-0${d}T02:00:00.000Z`, 'prod', 'pre-upgrade');
    await fakeBackup(dir, '2026-09-01T03:00:00.000Z', 'prod', 'pre-restore');
    await fakeBackup(dir, '2026-11-01T04:00:00.000Z', 'staging', null);
    await fakeBackup(dir, '2026-11-02T04:00:00.000Z', 'staging', 'weekly');
    await fakeBackup(dir, '2026-08-01T05:00:00.000Z', 'dev', null);
    const broken = await fakeBackup(dir, '2026-11-09T05:00:00.000Z', 'dev', null);
    await writeFile(path.join(dir, broken, 'grants.sql'), 'changed');
    const old = path.join(dir, '.20261101_000000_prod.partial-1');
    await mkdir(old);
    await utimes(old, new Date('2026-01-01'), new Date('2026-01-01'));
    await mkdir(path.join(dir, '.20261123_000000_prod.partial-2'));
    // A link pointing outside the backups directory, and a folder that is not a backup.
    const outside = await tempDir();
    await writeFile(path.join(outside, 'precious.txt'), 'keep me');
    await symlink(outside, path.join(dir, '20260101_000000_prod_link'));
    await mkdir(path.join(dir, 'notes'));
    return dir;
  }

  it('dry run: reports what it keeps and removes, and why, removing nothing', async () => {
    const dir = await populate();
    const before = (await readdir(dir)).sort();
    const report = await pruneBackups({ dryRun: true }, ctxFor(dir));
    const removed = report.decisions.filter((d) => d.action === 'remove').map((d) => d.folder);
    expect(removed.sort()).toEqual(
      ['.20261101_000000_prod.partial-1', '20261001_020000_prod_pre-upgrade', '20261101_010000_prod', '20261102_010000_prod'].sort(),
    );
    expect(report.decisions.find((d) => d.folder === '20261107_010000_prod')?.reason).toMatch(/^newest valid backup of its database \(.+\/db_prod\)$/);
    expect(report.decisions.find((d) => d.folder === '20261102_010000_prod')?.reason).toBe('older than the newest 5 backups of its database');
    expect(report.decisions.find((d) => d.folder === '20260901_030000_prod_pre-restore')?.action).toBe('keep');
    expect(report.decisions.find((d) => d.folder === '20260801_050000_dev')?.reason).toMatch(/^newest valid backup of its database/);
    expect(report.decisions.find((d) => d.folder === '20261109_050000_dev')?.reason).toMatch(/^corrupt/);
    expect(report.decisions.find((d) => d.folder === '.20261123_000000_prod.partial-2')?.action).toBe('keep');
    expect((await readdir(dir)).sort()).toEqual(before);
  });

  it('for real: removes exactly those, never the link, its target, or anything that is not a backup', async () => {
    const dir = await populate();
    const report = await pruneBackups({}, ctxFor(dir));
    expect(report.removed).toHaveLength(4);
    const left = await readdir(dir);
    expect(left).toContain('20260101_000000_prod_link');
    expect(left).toContain('notes');
    expect(left).not.toContain('20261101_010000_prod');
    expect(await readFile(path.join(dir, '20260101_000000_prod_link', 'precious.txt'), 'utf8')).toBe('keep me');
    // Run again: nothing more to do.
    expect((await pruneBackups({}, ctxFor(dir))).removed).toEqual([]);
  });

  it('keeps the only backup of a database, whatever the target word (--url backups are all "url")', async () => {
    const dir = await tempDir();
    // Five --url backups of app_a, then one older --url backup of app_b: the word "url" is no database.
    for (let d = 1; d <= 6; d++) await fakeBackup(dir, `2026-11-0${d + 1}T01:00:00.000Z`, 'url', null, 'app_a');
    const only = await fakeBackup(dir, '2026-11-01T01:00:00.000Z', 'url', 'b', 'app_b');
    const report = await pruneBackups({}, ctxFor(dir));
    expect(report.decisions.find((d) => d.folder === only)).toMatchObject({
      action: 'keep',
      reason: expect.stringMatching(/^newest valid backup of its database/),
    });
    expect(report.removed).toEqual(['20261102_010000_url']);
    expect(await readdir(dir)).toContain(only);
  });

  it('--target limits pruning to one target', async () => {
    const dir = await populate();
    const report = await pruneBackups({ target: 'staging', dryRun: true }, ctxFor(dir));
    expect(report.decisions.filter((d) => d.target !== null).every((d) => d.target === 'staging')).toBe(true);
    expect(report.decisions.filter((d) => d.action === 'remove').map((d) => d.folder)).toEqual([]);
    expect(report.decisions.some((d) => d.folder.includes('partial'))).toBe(false);
  });
});
