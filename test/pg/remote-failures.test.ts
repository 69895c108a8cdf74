import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineContext } from '../../src/engine/context.js';
import { formatErrorLine, type DbopsError } from '../../src/engine/errors.js';
import { fetchBackup } from '../../src/engine/remote/fetch-backup.js';
import { listRemoteBackups } from '../../src/engine/remote/list-remote-backups.js';
import { pruneRemote } from '../../src/engine/remote/prune-remote.js';
import { pushBackup } from '../../src/engine/remote/push-backup.js';
import { backupInto, engineContext, useTempDirs } from '../support/backups.js';
import { FIXTURE, useTestDatabases } from '../support/databases.js';
import { startFlakyProxy } from '../support/flaky-proxy.js';
import { bucketObjects, openUploads, putRaw, remoteEnv, s3ServerForTests, useBuckets } from '../support/s3-server.js';

// What users hit, each refused with one line naming the cause, and nothing half-written: no
// partial folder where a fetch was to write, no copy listed as valid after a failed push, no
// object changed by a refused prune. Against the real S3 server; the bad network is a TCP proxy
// in front of it that cuts connections mid-request.

const s3 = await s3ServerForTests();
const dbs = useTestDatabases('remote_fail');
const tempDir = useTempDirs();
const newBucket = useBuckets(s3.server);

let backupDir: string;
let folder: string;

/** The error a promise is refused with, and its one line as every face prints it. */
async function refusal(work: Promise<unknown>): Promise<{ error: DbopsError; line: string }> {
  const error = (await work.then(
    () => undefined,
    (e: unknown) => e,
  )) as DbopsError | undefined;
  expect(error, 'expected a refusal').toBeDefined();
  const line = formatErrorLine(error!);
  expect(line).not.toContain('\n');
  return { error: error!, line };
}

function setup(env: Record<string, string>): EngineContext {
  return engineContext({ env });
}

describe.skipIf(s3.skip !== undefined)(`off-site copies refuse what is wrong${s3.skip ? ` (skipped: ${s3.skip})` : ''}`, () => {
  beforeAll(async () => {
    const source = await dbs.create({ load: [FIXTURE] });
    backupDir = (await backupInto(source.url, await tempDir())).backupDir;
    folder = path.basename(backupDir);
  });

  /** A bucket holding one pushed copy of the backup, with the environment that pushed it. */
  async function pushedCopy(extra: Record<string, string> = {}) {
    const bucket = await newBucket();
    const env = remoteEnv(s3.server!, extra);
    const remote = `s3://${bucket}/offsite`;
    const pushed = await pushBackup({ backup: backupDir, remote }, setup(env));
    return { bucket, env, remote, pushed };
  }

  it('a wrong key: fetch, list and push each say so once, naming key ids; nothing written on either side', async () => {
    const { bucket, env, remote, pushed } = await pushedCopy();
    const before = await bucketObjects(s3.server!, bucket);
    const wrong = { ...env, DBOPS_ENCRYPTION_KEY: randomBytes(32).toString('hex') };
    const into = await tempDir();
    const { error, line } = await refusal(fetchBackup({ url: pushed.url, into }, setup(wrong)));
    expect(error.code).toBe('ENCRYPTION_KEY_WRONG');
    expect(line).toMatch(
      new RegExp(
        `^error \\[ENCRYPTION_KEY_WRONG\\]: ${folder}/dbops-manifest was encrypted with another key \\(key id ${pushed.keyId}; DBOPS_ENCRYPTION_KEY has key id [0-9a-f]{16}\\)\\. Hint: Use the key this copy was pushed with`,
      ),
    );
    expect(await readdir(into)).toEqual([]);
    const listed = await listRemoteBackups({ remote }, setup(wrong));
    expect(listed.backups.map((b) => [b.folder, b.status])).toEqual([[folder, 'other-key']]);
    expect((await refusal(pushBackup({ backup: backupDir, remote }, setup(wrong)))).error.code).toBe('ENCRYPTION_KEY_WRONG');
    expect(await bucketObjects(s3.server!, bucket)).toEqual(before);
    for (const secret of [env.DBOPS_ENCRYPTION_KEY!, wrong.DBOPS_ENCRYPTION_KEY]) expect(line).not.toContain(secret);
  });

  it('a flipped byte in any object, or in the manifest, is found before anything is kept; a missing object before anything is downloaded', async () => {
    const { bucket, env, remote, pushed } = await pushedCopy();
    const objects = await bucketObjects(s3.server!, bucket, true);
    const largest = objects.filter((o) => !o.key.endsWith('dbops-manifest')).sort((a, b) => b.size - a.size)[0]!;
    const flipped = Buffer.from(largest.body!);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x04;
    await putRaw(s3.server!, bucket, largest.key, flipped);
    const into = await tempDir();
    const { error, line } = await refusal(fetchBackup({ url: pushed.url, into }, setup(env)));
    expect(error.code).toBe('REMOTE_CORRUPT');
    expect(line).toMatch(/^error \[REMOTE_CORRUPT\]: .+ fails authentication at byte \d+: it was changed or damaged in the bucket\. Hint: /);
    expect(await readdir(into)).toEqual([]);

    await putRaw(s3.server!, bucket, largest.key, largest.body!);
    const manifest = objects.find((o) => o.key.endsWith('dbops-manifest'))!;
    const badManifest = Buffer.from(manifest.body!);
    badManifest[badManifest.length - 3]! ^= 0x80;
    await putRaw(s3.server!, bucket, manifest.key, badManifest);
    expect((await refusal(fetchBackup({ url: pushed.url, into }, setup(env)))).error.code).toBe('REMOTE_CORRUPT');
    expect((await listRemoteBackups({ remote }, setup(env))).backups.map((b) => b.status)).toEqual(['corrupt']);
    expect(await readdir(into)).toEqual([]);

    await putRaw(s3.server!, bucket, manifest.key, manifest.body!);
    await putRaw(s3.server!, bucket, largest.key, largest.body!.subarray(0, 100));
    const missing = await refusal(fetchBackup({ url: pushed.url, into }, setup(env)));
    expect(missing.line).toMatch(
      new RegExp(
        `^error \\[REMOTE_CORRUPT\\]: The copy of ${folder} on s3://${bucket}/offsite at 127\\.0\\.0\\.1:\\d+ lacks 1 object\\(s\\) its manifest names`,
      ),
    );
    expect((await listRemoteBackups({ remote }, setup(env))).backups.map((b) => b.status)).toEqual(['corrupt']);
    expect(await readdir(into)).toEqual([]);
    // Pushing again repairs it: the object of the wrong size is uploaded again.
    expect(await pushBackup({ backup: backupDir, remote }, setup(env))).toMatchObject({ uploaded: 1 });
    expect(await fetchBackup({ url: pushed.url, into }, setup(env))).toMatchObject({ alreadyThere: false });
  });

  it('a missing bucket, bad credentials and a skewed clock each get their own code, and no secret', async () => {
    const env = remoteEnv(s3.server!);
    const into = await tempDir();
    const missing = await refusal(pushBackup({ backup: backupDir, remote: 's3://dbops-no-such-bucket-here/x' }, setup(env)));
    expect(missing.line).toMatch(
      /^error \[REMOTE_BUCKET_MISSING\]: Bucket dbops-no-such-bucket-here does not exist at 127\.0\.0\.1:\d+\. Hint: Create the bucket first/,
    );
    expect((await refusal(listRemoteBackups({ remote: 's3://dbops-no-such-bucket-here/x' }, setup(env)))).error.code).toBe('REMOTE_BUCKET_MISSING');
    expect((await refusal(fetchBackup({ url: `s3://dbops-no-such-bucket-here/x/${folder}`, into }, setup(env)))).error.code).toBe('REMOTE_BUCKET_MISSING');

    const bucket = await newBucket();
    const remote = `s3://${bucket}/x`;
    const badSecret = { ...env, AWS_SECRET_ACCESS_KEY: `${env.AWS_SECRET_ACCESS_KEY!.slice(0, -4)}zzzz` };
    const refusedSecret = await refusal(pushBackup({ backup: backupDir, remote }, setup(badSecret)));
    expect(refusedSecret.line).toMatch(
      /^error \[REMOTE_AUTH_FAILED\]: s3:\/\/.+ \(checking the bucket\): the server refused the credentials \(SignatureDoesNotMatch\)\. Hint: Check the credentials/,
    );
    const badId = { ...env, AWS_ACCESS_KEY_ID: 'AKIADBOPSNOSUCHKEY01' };
    const refusedId = await refusal(listRemoteBackups({ remote }, setup(badId)));
    expect(refusedId.error.code).toBe('REMOTE_AUTH_FAILED');
    for (const line of [refusedSecret.line, refusedId.line, missing.line]) {
      for (const secret of [
        env.AWS_SECRET_ACCESS_KEY!,
        badSecret.AWS_SECRET_ACCESS_KEY,
        env.AWS_ACCESS_KEY_ID!,
        badId.AWS_ACCESS_KEY_ID,
        env.DBOPS_ENCRYPTION_KEY!,
      ])
        expect(line).not.toContain(secret);
    }

    const skewed = await refusal(listRemoteBackups({ remote }, setup(env), { clockOffsetMs: 3_600_000, maxAttempts: 2 }));
    expect(skewed.line).toMatch(/^error \[REMOTE_CLOCK_SKEW\]: .+ this machine's clock is off \(RequestTimeTooSkewed\)\. Hint: /);
    expect(await bucketObjects(s3.server!, bucket)).toEqual([]);
    expect(await readdir(into)).toEqual([]);
  });

  it('no key: refused before any request (the endpoint here would not even answer)', async () => {
    const env = { ...remoteEnv(s3.server!, { AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }), DBOPS_ENCRYPTION_KEY: '' };
    const { line } = await refusal(pushBackup({ backup: backupDir, remote: 's3://any-bucket/x' }, setup(env)));
    expect(line).toMatch(
      /^error \[ENCRYPTION_KEY_MISSING\]: Off-site copies are encrypted before they leave this machine, and no encryption key is set\. Hint: Set DBOPS_ENCRYPTION_KEY/,
    );
    const short = await refusal(pushBackup({ backup: backupDir, remote: 's3://any-bucket/x' }, setup({ ...env, DBOPS_ENCRYPTION_KEY: 'hunter2-but-longer' })));
    expect(short.line).toMatch(/^error \[ENCRYPTION_KEY_INVALID\]: DBOPS_ENCRYPTION_KEY is not a 32-byte key \(it holds 18 characters/);
    expect(short.line).not.toContain('hunter2');
  });

  it('a network that drops a connection mid-upload: retried and finished; one that stays down: a clear error and nothing listed', async () => {
    const bucket = await newBucket();
    const remote = `s3://${bucket}/net`;
    const blip = await startFlakyProxy(s3.server!.endpoint, { afterBytes: 20_000, drops: 2 });
    try {
      const env = remoteEnv(s3.server!, { AWS_ENDPOINT_URL: blip.endpoint });
      const pushed = await pushBackup({ backup: backupDir, remote }, setup(env));
      expect(blip.cut()).toBe(2);
      expect((await listRemoteBackups({ remote }, setup(env))).backups.map((b) => b.status)).toEqual(['valid']);
      expect(await fetchBackup({ url: pushed.url, into: await tempDir() }, setup(env))).toMatchObject({ files: pushed.files });
    } finally {
      await blip.close();
    }

    const other = await newBucket();
    const down = await startFlakyProxy(s3.server!.endpoint, { afterBytes: 20_000, drops: Infinity });
    const env = remoteEnv(s3.server!);
    try {
      const { line } = await refusal(pushBackup({ backup: backupDir, remote: `s3://${other}/net` }, setup({ ...env, AWS_ENDPOINT_URL: down.endpoint })));
      expect(line).toMatch(
        /^error \[REMOTE_UNREACHABLE\]: s3:\/\/.+ \(uploading .+\): the connection failed after 5 attempts \(E[A-Z]+\)\. Hint: Check the endpoint/,
      );
    } finally {
      await down.close();
    }
    // Whatever made it across is never listed as valid; a push over a good network finishes the
    // copy and aborts the multipart uploads the failed run could not abort itself.
    const direct = setup(env);
    expect((await listRemoteBackups({ remote: `s3://${other}/net` }, direct)).backups.filter((b) => b.status !== 'incomplete')).toEqual([]);
    await pushBackup({ backup: backupDir, remote: `s3://${other}/net` }, direct);
    expect((await listRemoteBackups({ remote: `s3://${other}/net` }, direct)).backups.map((b) => b.status)).toEqual(['valid']);
    expect(await openUploads(s3.server!, other)).toBe(0);
  });

  it('a bucket with Object Lock: pushes work, a prune is refused and deletes nothing', async () => {
    const bucket = await newBucket({ objectLock: true });
    const env = remoteEnv(s3.server!);
    const remote = `s3://${bucket}/locked`;
    await pushBackup({ backup: backupDir, remote }, setup(env));
    // An unfinished copy an hour old: the one thing these rules would remove.
    await putRaw(s3.server!, bucket, `locked/20200101_000000_old/${'0'.repeat(64)}`, Buffer.from('x'));
    const before = await bucketObjects(s3.server!, bucket);
    const later = engineContext({ env, now: () => new Date(Date.now() + 3_600_000) });
    const { line } = await refusal(pruneRemote({ remote }, later, { keep_last: 1, keep_labels: {}, incomplete_max_age_hours: 0.5 }));
    expect(line).toMatch(/^error \[REMOTE_OBJECT_LOCK\]: s3:\/\/.+ has S3 Object Lock on: 1 copy\(ies\) would be pruned, and nothing was deleted\. Hint: /);
    expect(await bucketObjects(s3.server!, bucket)).toEqual(before);
  });
});
