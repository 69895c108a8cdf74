import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { openBackup } from '../../src/engine/folder/open.js';
import { chooseBackup } from '../../src/engine/folder/scan.js';
import { writeChecksumList } from '../../src/engine/folder/seal.js';
import { sha256File } from '../../src/engine/folder/checksums.js';
import { listBackups } from '../../src/engine/lifecycle/list-backups.js';
import { verifyBackup } from '../../src/engine/lifecycle/verify-backup.js';
import type { Manifest } from '../../src/engine/folder/manifest.js';
import { backupInto, engineContext, useTempDirs } from '../support/backups.js';
import { FIXTURE, useTestDatabases } from '../support/databases.js';

// A backup folder is input from whoever could write it: paths in metadata.json, links, FIFOs,
// huge or wrongly typed values, another tool's folder. Nothing outside the folder is read, and
// no content of such a file is ever echoed.

const dbs = useTestDatabases('hostile');
const tempDir = useTempDirs();
const SECRET = 'TOPSECRET-7c1e';
let template: string;

beforeAll(async () => {
  const source = await dbs.create({ load: [FIXTURE] });
  template = (await backupInto(source.url, await tempDir())).backupDir;
});

const ctxFor = (dir: string) => engineContext({ env: { DBOPS_BACKUP_DIR: dir } });

/** A copy of the template in a fresh backups directory, plus a secret file beside that directory. */
async function copy(): Promise<{ root: string; dir: string; secretFile: string }> {
  const base = await tempDir();
  const root = path.join(base, 'backups');
  const dir = path.join(root, '20261101_010000_prod');
  await mkdir(root);
  await cp(template, dir, { recursive: true });
  const secretFile = path.join(base, 'secret.csv');
  // A CSV whose parse error would quote the secret, were it ever read.
  await writeFile(secretFile, `id\n${SECRET}"x\n`);
  return { root, dir, secretFile };
}

async function editManifest(dir: string, edit: (m: Manifest) => void | Promise<void>, reseal = true): Promise<void> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'metadata.json'), 'utf8')) as Manifest;
  await edit(manifest);
  await writeFile(path.join(dir, 'metadata.json'), JSON.stringify(manifest));
  // As a tamperer would: every sum recomputed, so only confinement can refuse it.
  if (reseal) await writeChecksumList(dir, manifest.files);
}

/** verify-backup's outcome as text: the report, or the error it threw. */
async function verifyText(dir: string, root: string): Promise<{ ok: boolean; text: string; code?: string }> {
  return verifyBackup({ backup: dir }, ctxFor(root)).then(
    (r) => ({ ok: r.ok, text: JSON.stringify(r) }),
    (e: { code: string; message: string; details?: string[] }) => ({
      ok: false,
      text: JSON.stringify({ message: e.message, details: e.details }),
      code: e.code,
    }),
  );
}

describe('paths read from a backup stay inside it', () => {
  it('criticalTables[].file pointing outside is refused, the outside file never read nor echoed', async () => {
    const { root, dir, secretFile } = await copy();
    const outside = path.relative(dir, secretFile); // "../../secret.csv"
    await editManifest(dir, async (m) => {
      m.criticalTables[0]!.file = outside;
      m.files[outside] = await sha256File(secretFile);
    });
    const result = await verifyText(dir, root);
    expect(result).toMatchObject({ ok: false, code: 'BACKUP_CORRUPT' });
    expect(result.text).toMatch(/is not a plain relative path/);
    expect(result.text).not.toContain(SECRET);
  });

  it('an absolute path in files is refused', async () => {
    const { root, dir, secretFile } = await copy();
    await editManifest(dir, async (m) => {
      m.files[secretFile] = await sha256File(secretFile);
    });
    const result = await verifyText(dir, root);
    expect(result).toMatchObject({ ok: false, code: 'BACKUP_CORRUPT' });
    expect(result.text).toMatch(/is absolute/);
  });

  it('a CSV that is a link leading outside is refused, even with every checksum recomputed', async () => {
    const { root, dir, secretFile } = await copy();
    await editManifest(dir, async (m) => {
      const file = m.criticalTables[0]!.file;
      await rm(path.join(dir, file));
      await symlink(secretFile, path.join(dir, file));
      m.files[file] = await sha256File(secretFile);
    });
    const result = await verifyText(dir, root);
    expect(result).toMatchObject({ ok: false, code: 'BACKUP_CORRUPT' });
    expect(result.text).toMatch(/is a link leading outside the backup folder/);
    expect(result.text).not.toContain(SECRET);
    // Listed as corrupt; never chosen as latest.
    const listed = (await listBackups({}, ctxFor(root))).backups;
    expect(listed).toEqual([expect.objectContaining({ status: 'corrupt' })]);
    await expect(chooseBackup('latest', { root, cwd: root })).rejects.toMatchObject({ code: 'NO_BACKUPS' });
  });

  it('a CSV parse error names the code and line, never the field', async () => {
    const { root, dir } = await copy();
    await editManifest(dir, async (m) => {
      const file = m.criticalTables[0]!.file;
      await writeFile(path.join(dir, file), gzipSync(`id\n${SECRET}"x\n`));
      m.files[file] = await sha256File(path.join(dir, file));
    });
    const report = await verifyBackup({ backup: dir }, ctxFor(root));
    expect(report.checks.find((c) => c.name === 'csv')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('does not parse (INVALID_OPENING_QUOTE at line 2)'),
    });
    expect(JSON.stringify(report)).not.toContain(SECRET);
  });

  it('a FIFO in the folder is refused at once, not read (a read would hang)', async () => {
    const { root, dir } = await copy();
    execFileSync('mkfifo', [path.join(dir, 'data', 'extra.csv')]);
    await expect(openBackup(dir)).rejects.toMatchObject({ code: 'BACKUP_CORRUPT', message: expect.stringMatching(/is not a regular file/) });
    expect((await listBackups({}, ctxFor(root))).backups[0]).toMatchObject({ status: 'corrupt' });
  });
});

describe('metadata.json is checked like every other file', () => {
  it('an edited metadata.json whose checksum was not recomputed is corrupt', async () => {
    const { root, dir } = await copy();
    await editManifest(dir, (m) => void (m.label = 'edited'), false);
    const result = await verifyText(dir, root);
    expect(result.ok).toBe(false);
    expect(result.text).toMatch(/metadata\.json does not match its checksum/);
  });

  it('checksums.sha256 lists every file, metadata.json included, and sha256sum -c agrees', async () => {
    const { dir } = await copy();
    const listed = (await readFile(path.join(dir, 'checksums.sha256'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.slice(66));
    expect(listed).toContain('metadata.json');
    expect(listed).toContain('data/public.agents.csv.gz');
    execFileSync('sha256sum', ['--quiet', '-c', 'checksums.sha256'], { cwd: dir });
  });

  it('a file no checksum covers is reported', async () => {
    const { root, dir } = await copy();
    await writeFile(path.join(dir, 'data', 'planted.csv'), 'id\n1\n');
    expect((await verifyText(dir, root)).text).toMatch(/"data\/planted\.csv\\" is covered by no checksum/);
  });

  it('wrong types and huge values are refused with where, never the value', async () => {
    for (const [name, edit] of [
      ['wrong type', (m: Manifest) => void ((m as unknown as { criticalTables: unknown }).criticalTables = 'all')],
      ['huge label', (m: Manifest) => void (m.label = `${SECRET}${'x'.repeat(1_000_000)}`)],
      ['huge number', (m: Manifest) => void (m.criticalTables[0]!.rows = 1e300)],
      ['huge key', (m: Manifest) => void (m.files[`${SECRET}${'k'.repeat(100_000)}`] = m.files['schema.sql']!)],
    ] as const) {
      const { root, dir } = await copy();
      await editManifest(dir, edit);
      const result = await verifyText(dir, root);
      expect(result, name).toMatchObject({ ok: false, code: 'BACKUP_CORRUPT' });
      expect(result.text.length, name).toBeLessThan(4000);
      expect(result.text, name).not.toContain(SECRET);
    }
  });
});

describe("another tool's folder is not a dbops backup", () => {
  it('is left out of the listing, and named as such when given', async () => {
    const root = await tempDir();
    const other = path.join(root, '20261101_000000_other');
    await mkdir(path.join(other, 'dump'), { recursive: true });
    await writeFile(path.join(other, 'metadata.json'), JSON.stringify({ tool: 'someone-else', version: 3 }));
    const notJson = path.join(root, 'notes');
    await mkdir(notJson);
    await writeFile(path.join(notJson, 'metadata.json'), 'not json');
    expect((await listBackups({}, ctxFor(root))).backups).toEqual([]);
    await expect(openBackup(other)).rejects.toMatchObject({
      code: 'BACKUP_INVALID',
      message: expect.stringMatching(/is not a dbops backup: its metadata\.json was not written by dbops/),
    });
    await expect(openBackup(notJson)).rejects.toMatchObject({ code: 'BACKUP_INVALID', message: expect.stringMatching(/is not a dbops backup/) });
  });

  it('an old layout with a malformed metadata.json still lists (the time comes from the folder name)', async () => {
    const root = await tempDir();
    const old = path.join(root, '20250102_030405');
    await mkdir(old);
    await writeFile(path.join(old, 'backup.sql.gz'), 'x');
    await writeFile(path.join(old, 'metadata.json'), '{ not json');
    await writeFile(path.join(old, 'row_counts.json'), '[1,');
    expect((await listBackups({}, ctxFor(root))).backups).toEqual([expect.objectContaining({ folder: '20250102_030405', status: 'legacy' })]);
  });
});

describe('"latest" is the newest valid dbops backup', () => {
  async function withSibling(folder: string, edit: (m: Manifest) => void): Promise<string> {
    const { root, dir } = await copy();
    await cp(dir, path.join(root, folder), { recursive: true });
    await editManifest(path.join(root, folder), edit);
    return root;
  }

  it('a folder dated in the future is skipped with a reason', async () => {
    const root = await withSibling('20991231_000000_prod', (m) => void (m.createdAt = '2099-12-31T00:00:00.000Z'));
    const chosen = await chooseBackup('latest', { root, cwd: root });
    expect(chosen.handle.folder).toBe('20261101_010000_prod');
    expect(chosen.skipped).toEqual([{ folder: '20991231_000000_prod', reason: expect.stringMatching(/^dated in the future \(2099-12-31T00:00:00.000Z\)/) }]);
  });

  it('a folder with only an old-layout dump is not latest, even when newer', async () => {
    const { root } = await copy();
    const old = path.join(root, '20270101_000000');
    await mkdir(old);
    await writeFile(path.join(old, 'backup.sql.gz'), 'not even gzip');
    const chosen = await chooseBackup('latest', { root, cwd: root });
    expect(chosen.handle.folder).toBe('20261101_010000_prod');
    expect(chosen.skipped).toEqual([{ folder: '20270101_000000', reason: expect.stringMatching(/^old layout legacy-sql-gz with nothing to verify/) }]);
  });

  it('verify-backup never says "verified" for an old layout: nothing in it could be', async () => {
    const root = await tempDir();
    const old = path.join(root, '20250101_000000_staging');
    await mkdir(old);
    await writeFile(path.join(old, 'db_full.dump'), 'PGDMP');
    const report = await verifyBackup({ backup: old }, ctxFor(root));
    expect(report.verified).toBe(false);
  });
});
