import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeChecksumList } from '../../src/engine/folder/seal.js';
import type { Manifest } from '../../src/engine/folder/manifest.js';
import { listRemoteBackups } from '../../src/engine/remote/list-remote-backups.js';
import { pruneRemote } from '../../src/engine/remote/prune-remote.js';
import { pushBackup } from '../../src/engine/remote/push-backup.js';
import { backupInto, engineContext, useTempDirs } from '../support/backups.js';
import { FIXTURE, useTestDatabases } from '../support/databases.js';
import { bucketObjects, getRaw, putRaw, remoteEnv, s3ServerForTests, useBuckets } from '../support/s3-server.js';

// prune-backups --remote keeps exactly what the retention rules say (the same pure decision as
// a local prune): per database the newest keep_last, the newest keep_labels[label] of each
// label, always the newest valid copy; an old incomplete copy goes, a corrupt one stays; a dry
// run removes nothing; a removed copy leaves no object behind.

const s3 = await s3ServerForTests();
const dbs = useTestDatabases('remote_prune');
const tempDir = useTempDirs();
const newBucket = useBuckets(s3.server);

const DAY = 86_400_000;

describe.skipIf(s3.skip !== undefined)(`remote prune${s3.skip ? ` (skipped: ${s3.skip})` : ''}`, () => {
  let template: string;
  let localDir: string;
  beforeAll(async () => {
    const source = await dbs.create({ load: [FIXTURE] });
    template = (await backupInto(source.url, await tempDir())).backupDir;
    localDir = await tempDir();
  });

  /** A copy of the template backup taken `daysAgo` days ago from `database`, with a label; checksums recomputed. */
  async function backupFrom(daysAgo: number, database: string, label: string | null): Promise<string> {
    const when = new Date(Date.now() - daysAgo * DAY);
    const stamp = when.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
    const folder = `${stamp}_prod${label ? `_${label}` : ''}`;
    const to = path.join(localDir, folder);
    await cp(template, to, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(to, 'metadata.json'), 'utf8')) as Manifest;
    await writeFile(
      path.join(to, 'metadata.json'),
      JSON.stringify({ ...manifest, createdAt: when.toISOString(), target: 'prod', label, source: { ...manifest.source, database } }),
    );
    await writeChecksumList(to, manifest.files);
    return folder;
  }

  it('keeps exactly what the rules say, and removes every object of what it prunes', async () => {
    const bucket = await newBucket();
    const env = remoteEnv(s3.server!);
    const ctx = engineContext({ env });
    const remote = `s3://${bucket}/prod`;
    const a = {
      d1: await backupFrom(1, 'app', null),
      d2: await backupFrom(2, 'app', 'pre-upgrade'),
      d3: await backupFrom(3, 'app', null),
      d4: await backupFrom(4, 'app', 'pre-upgrade'),
      d5: await backupFrom(5, 'app', null),
      d6: await backupFrom(6, 'app', null),
    };
    const other = await backupFrom(9, 'billing', null);
    for (const folder of [...Object.values(a), other]) await pushBackup({ backup: path.join(localDir, folder), remote }, ctx);
    // An unfinished copy, and a copy whose manifest was damaged (never removed automatically).
    await putRaw(s3.server!, bucket, `prod/20200101_000000_prod/${'a'.repeat(64)}`, Buffer.from('partial'));
    const corrupt = await backupFrom(30, 'app', null);
    await pushBackup({ backup: path.join(localDir, corrupt), remote }, ctx);
    const manifestKey = `prod/${corrupt}/dbops-manifest`;
    const sealed = await getRaw(s3.server!, bucket, manifestKey);
    sealed[sealed.length - 1]! ^= 1;
    await putRaw(s3.server!, bucket, manifestKey, sealed);

    const rules = { keep_last: 2, keep_labels: { 'pre-upgrade': 1 }, incomplete_max_age_hours: 1 };
    // Two hours on: the unfinished copy is old enough to go.
    const later = engineContext({ env, now: () => new Date(Date.now() + 2 * 3_600_000) });
    const before = await bucketObjects(s3.server!, bucket);
    const dry = await pruneRemote({ remote, dryRun: true }, later, rules);
    expect(await bucketObjects(s3.server!, bucket)).toEqual(before);
    const decided = Object.fromEntries(dry.decisions.map((d) => [d.folder, d.action]));
    expect(decided).toEqual({
      [a.d1]: 'keep', // newest valid of app
      [a.d2]: 'keep', // newest pre-upgrade
      [a.d3]: 'keep', // second of keep_last 2
      [a.d4]: 'remove', // second pre-upgrade, keep_labels 1
      [a.d5]: 'remove',
      [a.d6]: 'remove',
      [other]: 'keep', // newest valid of billing
      [corrupt]: 'keep', // corrupt: inspect it
      '20200101_000000_prod': 'remove', // incomplete, older than 1 h
    });

    const pruned = await pruneRemote({ remote }, later, rules);
    expect(pruned.removed.sort()).toEqual(['20200101_000000_prod', a.d4, a.d5, a.d6].sort());
    expect(pruned.freedBytes).toBeGreaterThan(0);
    const left = await listRemoteBackups({ remote }, ctx);
    expect(left.backups.map((b) => [b.folder, b.status]).sort()).toEqual(
      [
        [a.d1, 'valid'],
        [a.d2, 'valid'],
        [a.d3, 'valid'],
        [other, 'valid'],
        [corrupt, 'corrupt'],
      ].sort(),
    );
    const keys = (await bucketObjects(s3.server!, bucket)).map((o) => o.key);
    for (const gone of pruned.removed)
      expect(
        keys.filter((k) => k.startsWith(`prod/${gone}/`)),
        gone,
      ).toEqual([]);

    // The same rules again: nothing more to do.
    expect((await pruneRemote({ remote }, later, rules)).removed).toEqual([]);
  });
});
