import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { listFiles, sha256File } from '../../src/engine/folder/checksums.js';
import { verifyBackup } from '../../src/engine/lifecycle/verify-backup.js';
import { fetchBackup } from '../../src/engine/remote/fetch-backup.js';
import { listRemoteBackups } from '../../src/engine/remote/list-remote-backups.js';
import { pushBackup } from '../../src/engine/remote/push-backup.js';
import { restoreDatabase } from '../../src/engine/restore/restore.js';
import { backupInto, engineContext, useTempDirs } from '../support/backups.js';
import { diffImages, imageOf, type DatabaseImage } from '../support/database-image.js';
import { PROJECT_ROOT, useTestDatabases } from '../support/databases.js';
import { bucketObjects, remoteEnv, s3ServerForTests, useBuckets } from '../support/s3-server.js';

// Off-site copies end to end against a real S3 server (Ceph RADOS Gateway): a backup of the
// torture fixture pushed, listed, pushed again (nothing uploaded), fetched into a fresh folder
// equal byte for byte, verified with a drill, and restored into a fresh database that equals
// the source on everything database-image.ts compares. What the bucket holds is checked too:
// opaque names, no plaintext, no secret.

const s3 = await s3ServerForTests();
const dbs = useTestDatabases('remote_rt');
const tempDir = useTempDirs();
const newBucket = useBuckets(s3.server);

// A password dbops is given and must never write down: the server's own where it asks for one
// (the embedded provider's scram), else a made-up one that trust authentication ignores.
const MADE_UP_PASSWORD = 'Pw-remote-7f3k9q';
let DB_PASSWORD = MADE_UP_PASSWORD;

describe.skipIf(s3.skip !== undefined)(`off-site copy round trip${s3.skip ? ` (skipped: ${s3.skip})` : ''}`, () => {
  let source: { name: string; url: string };
  let sourceImage: DatabaseImage;
  let backupDir: string;
  let backupsDir: string;
  beforeAll(async () => {
    source = await dbs.create({ load: [path.join(PROJECT_ROOT, 'test/fixtures/torture.sql')] });
    sourceImage = await imageOf(source.url);
    backupsDir = await tempDir();
    const withPassword = new URL(source.url);
    if (withPassword.password === '') withPassword.password = MADE_UP_PASSWORD;
    DB_PASSWORD = decodeURIComponent(withPassword.password);
    backupDir = (await backupInto(withPassword.toString(), backupsDir, { label: 'offsite' })).backupDir;
  });

  it('push → list → push again → fetch → verify --drill → restore equals the source; the bucket holds nothing readable', async () => {
    const bucket = await newBucket();
    const env = remoteEnv(s3.server!, { DBOPS_BACKUP_DIR: backupsDir });
    const ctx = engineContext({ env });
    const remote = `s3://${bucket}/team/prod`;
    const outputs: unknown[] = [];

    const pushed = await pushBackup({ backup: backupDir, remote }, ctx);
    outputs.push(pushed);
    const localFiles = await listFiles(backupDir);
    expect(pushed).toMatchObject({
      folder: path.basename(backupDir),
      files: localFiles.length,
      uploaded: localFiles.length,
      alreadyThere: 0,
      url: `${remote}/${path.basename(backupDir)}`,
    });

    const listing = await listRemoteBackups({ remote }, ctx);
    outputs.push(listing);
    expect(listing.backups.map((b) => [b.folder, b.status, b.target, b.label, b.problem])).toEqual([[pushed.folder, 'valid', 'url', 'offsite', null]]);
    expect(listing.backups[0]!.source).toMatchObject({ database: source.name });

    // A second push finds every object by name and size, uploads nothing, rewrites nothing.
    const again = await pushBackup({ backup: backupDir, remote }, ctx);
    outputs.push(again);
    expect(again).toMatchObject({ uploaded: 0, alreadyThere: localFiles.length, uploadedBytes: 0, removedStale: 0 });

    const into = await tempDir();
    const fetched = await fetchBackup({ url: pushed.url, into }, ctx);
    outputs.push(fetched);
    expect(fetched).toMatchObject({ dir: path.join(into, pushed.folder), files: localFiles.length, alreadyThere: false });
    expect(await readdir(into)).toEqual([pushed.folder]);
    for (const file of localFiles) {
      expect((await sha256File(path.join(fetched.dir, file))).sha256, file).toBe((await sha256File(path.join(backupDir, file))).sha256);
    }
    // Fetching again into the same place finds the same backup there and downloads nothing.
    expect(await fetchBackup({ url: pushed.url, into }, ctx)).toMatchObject({ alreadyThere: true, downloadedBytes: 0 });

    const verified = await verifyBackup({ backup: fetched.dir, drill: true, url: dbs.adminUrl }, ctx);
    outputs.push(verified);
    expect(verified).toMatchObject({ ok: true, verified: true, drill: { dropped: true, error: null, verification: { verified: true } } });

    const target = await dbs.create();
    const restored = await restoreDatabase({ backup: fetched.dir, url: target.url, yes: true, verify: 'content', safetyBackup: false }, ctx);
    outputs.push(restored);
    expect(restored.verification).toMatchObject({ verified: true, contentChecked: true, mismatches: [], contentMismatches: [] });
    expect(diffImages(sourceImage, await imageOf(target.url))).toEqual([]);

    // The bucket: one opaque object per file plus the manifest, nothing else.
    const objects = await bucketObjects(s3.server!, bucket, true);
    const prefix = `team/prod/${pushed.folder}/`;
    expect(objects.length).toBe(localFiles.length + 1);
    for (const o of objects) expect(o.key.startsWith(prefix) && /^([0-9a-f]{64}|dbops-manifest)$/.test(o.key.slice(prefix.length)), o.key).toBe(true);
    const key = Buffer.from(env.DBOPS_ENCRYPTION_KEY!, 'hex');
    const readable = ['PGDMP', 'CREATE TABLE', 'dbops-backup', 'torture', source.name, 'schema.sql', 'toc.dat', 'metadata.json'];
    const secrets = [env.AWS_ACCESS_KEY_ID!, env.AWS_SECRET_ACCESS_KEY!, env.DBOPS_ENCRYPTION_KEY!, DB_PASSWORD];
    for (const o of objects) {
      for (const text of [...readable, ...secrets]) expect(o.body!.includes(Buffer.from(text)), `${o.key} contains ${text.slice(0, 6)}…`).toBe(false);
      expect(o.body!.includes(key), `${o.key} contains the raw key`).toBe(false);
    }
    // Nor in anything returned, nor in the fetched backup.
    const said = JSON.stringify(outputs);
    for (const secret of secrets) expect(said.includes(secret), `output contains ${secret.slice(0, 4)}…`).toBe(false);
    for (const file of localFiles) {
      const text = await readFile(path.join(fetched.dir, file));
      for (const secret of secrets) expect(text.includes(Buffer.from(secret)), `${file} contains a secret`).toBe(false);
    }
    expect(createHash('sha256').update(said).digest('hex')).toMatch(/^[0-9a-f]{64}$/);
  });
});
