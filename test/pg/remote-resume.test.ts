import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { fetchBackup } from '../../src/engine/remote/fetch-backup.js';
import { listRemoteBackups } from '../../src/engine/remote/list-remote-backups.js';
import { pushBackup } from '../../src/engine/remote/push-backup.js';
import { backupInto, engineContext, useTempDirs } from '../support/backups.js';
import { FIXTURE, PROJECT_ROOT, useTestDatabases, withPg } from '../support/databases.js';
import { openUploads, remoteEnv, s3ServerForTests, useBuckets } from '../support/s3-server.js';

// A push killed with SIGKILL in the middle of a multipart upload (a child process running the
// compiled engine), then pushed again: the killed copy is listed as incomplete, the second run
// uploads only the files the first did not finish, aborts the upload the kill left open, and
// the copy fetched afterwards passes every check.

const s3 = await s3ServerForTests();
const dbs = useTestDatabases('remote_resume');
const tempDir = useTempDirs();
const newBucket = useBuckets(s3.server);
const CHILD = path.join(PROJECT_ROOT, 'test/support/remote-push-child.mjs');

describe.skipIf(s3.skip !== undefined)(`a push killed mid-upload, resumed${s3.skip ? ` (skipped: ${s3.skip})` : ''}`, () => {
  let backupDir: string;
  beforeAll(async () => {
    const source = await dbs.create({ load: [FIXTURE] });
    // Two tables of ~20 MiB of random bytes: two dump files of three 8 MiB parts each.
    await withPg(source.url, async (c) => {
      for (const t of ['blob_a', 'blob_b']) {
        await c.query(`CREATE TABLE public.${t} (id int PRIMARY KEY, b bytea)`);
        await c.query(
          `INSERT INTO public.${t} SELECT i, (SELECT decode(string_agg(md5(random()::text || i || j), ''), 'hex') FROM generate_series(1, 65536) j) FROM generate_series(1, 20) i`,
        );
      }
    });
    backupDir = (await backupInto(source.url, await tempDir())).backupDir;
  });

  it('lists the killed copy as incomplete; the next push uploads only what is missing and leaves no open upload', async () => {
    if (!existsSync(path.join(PROJECT_ROOT, 'dist/engine/remote/push-backup.js')))
      throw new Error('dist/ is not built: run npm run build (npm test does it first)');
    const bucket = await newBucket();
    const env = remoteEnv(s3.server!);
    const remote = `s3://${bucket}/resume`;
    const child = execa(process.execPath, [CHILD, backupDir, remote], { env, reject: false });
    const finished: string[] = [];
    let killedAt: string | undefined;
    child.stdout!.setEncoding('utf8');
    let buffered = '';
    child.stdout!.on('data', (text: string) => {
      buffered += text;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const event = JSON.parse(buffered.slice(0, nl)) as { phase: string; path?: string };
        buffered = buffered.slice(nl + 1);
        if (event.phase === 'uploaded') finished.push(event.path!);
        // The first file is in; the second (a multipart upload) has a part in: kill now.
        if (event.phase === 'bytes' && finished.length === 1 && killedAt === undefined) {
          killedAt = finished[0];
          child.kill('SIGKILL');
        }
      }
    });
    const ended = await child;
    expect(ended.signal, `the push ended before it could be killed: ${ended.stderr}`).toBe('SIGKILL');
    expect(finished).toHaveLength(1);

    const ctx = engineContext({ env });
    const listed = await listRemoteBackups({ remote }, ctx);
    expect(listed.backups.map((b) => [b.folder, b.status])).toEqual([[path.basename(backupDir), 'incomplete']]);
    expect(await openUploads(s3.server!, bucket)).toBeGreaterThanOrEqual(1);

    const resumed = await pushBackup({ backup: backupDir, remote }, ctx);
    expect(resumed).toMatchObject({ alreadyThere: 1, uploaded: resumed.files - 1 });
    expect(resumed.abortedUploads).toBeGreaterThanOrEqual(1);
    expect(await openUploads(s3.server!, bucket)).toBe(0);
    expect((await listRemoteBackups({ remote }, ctx)).backups.map((b) => b.status)).toEqual(['valid']);
    const fetched = await fetchBackup({ url: resumed.url, into: await tempDir() }, ctx);
    expect(fetched).toMatchObject({ files: resumed.files, alreadyThere: false });
    expect(fetched.backupBytes).toBeGreaterThan(40 * 1024 * 1024);
  });
});
