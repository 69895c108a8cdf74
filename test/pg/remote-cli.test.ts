import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_MODULES } from '../../src/commands/index.js';
import { loadConfig } from '../../src/engine/config.js';
import { buildRegistry } from '../../src/loader/registry.js';
import { createDbopsMcpServer } from '../../src/mcp/server.js';
import { useTempDirs } from '../support/backups.js';
import { runCli, type CliRun } from '../support/cli.js';
import { diffImages, imageOf, type DatabaseImage } from '../support/database-image.js';
import { PROJECT_ROOT, tableCounts, useTestDatabases } from '../support/databases.js';
import { bucketObjects, getRaw, putRaw, remoteEnv, s3ServerForTests, useBuckets } from '../support/s3-server.js';

// Off-site copies as a person or a script drives them: the built CLI against a real S3 server
// (Ceph RADOS Gateway). A project whose dbops.config.yaml names one remote (so --push needs no
// --remote), backup-db --push, a push that fails after the backup (kept, and push-backup
// retries it), list-backups --remote, prune-backups --remote --dry-run, verify-backup and
// restore-db from s3:// URLs (the restore equals the source), and the refusals: another key and
// a flipped byte, each one line and exit 1 with nothing restored. No secret in any output or
// recorded event.

const s3 = await s3ServerForTests();
const dbs = useTestDatabases('remote_cli');
const tempDir = useTempDirs();
const newBucket = useBuckets(s3.server);

interface BackupJson {
  ok: boolean;
  backupDir: string;
  folder: string;
  pushed: { url: string; uploaded: number; alreadyThere: number; files: number; uploadedBytes: number; keyId: string } | null;
}

/** Keys other than the project's: a key is a secret whichever it is. */
const OTHER_KEYS = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];

describe.skipIf(s3.skip !== undefined)(`dbops off-site copies from the CLI${s3.skip ? ` (skipped: ${s3.skip})` : ''}`, () => {
  let project: string;
  let env: Record<string, string>;
  let spool: string;
  let remoteUrl: string;
  let bucket: string;
  let source: { name: string; url: string };
  let sourceImage: DatabaseImage;
  const runs: Array<CliRun & { progress: string[] }> = [];
  /** Every CLI run of this file goes through here, so the secret check sees all of them. */
  const cli = async (args: string[], extra: Record<string, string> = {}) => {
    const run = await runCli(args, { cwd: project, env: { ...env, ...extra } });
    runs.push(run);
    return run;
  };
  /** The one line a refusal prints: stderr is that line and nothing else. */
  const oneLine = (run: CliRun) => {
    const lines = run.stderr.trim().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    return lines[0]!;
  };

  beforeAll(async () => {
    source = await dbs.create({ load: [path.join(PROJECT_ROOT, 'test/fixtures/torture.sql')] });
    sourceImage = await imageOf(source.url);
    bucket = await newBucket();
    remoteUrl = `s3://${bucket}/team/prod`;
    // A project of its own: the shipped config with one remote (keep_last 1, so a dry run has
    // something to remove), its own backups directory and spool.
    project = await tempDir();
    spool = await tempDir();
    const shipped = await readFile(path.join(PROJECT_ROOT, 'dbops.config.yaml'), 'utf8');
    const remote = `remotes:\n  offsite:\n    bucket: ${bucket}\n    prefix: team/prod\n    endpoint: ${s3.server!.endpoint}\n    path_style: true\n    retention: { keep_last: 1 }\n`;
    expect(shipped).toContain('\nremotes: {}\n');
    await writeFile(path.join(project, 'dbops.config.yaml'), shipped.replace('\nremotes: {}\n', `\n${remote}`));
    // The project's own storage/backups (the default), not the test helper's temporary one.
    env = { ...remoteEnv(s3.server!), DBOPS_SPOOL_DIR: spool, DBOPS_BACKUP_DIR: path.join(project, 'storage/backups') };
  });

  let first: BackupJson;
  let second: { folder: string; url: string };

  it('backup-db --push copies the finished backup to the only configured remote', async () => {
    const run = await cli(['backup-db', '--url', source.url, '--label', 'first', '--push', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    first = JSON.parse(run.stdout) as BackupJson;
    expect(first.pushed).toMatchObject({ url: `${remoteUrl}/${first.folder}`, alreadyThere: 0 });
    expect(first.pushed!.uploaded).toBe(first.pushed!.files);
    expect(first.pushed!.uploadedBytes).toBeGreaterThan(0);
    expect(
      run.progress.some((l) => / backup-db: pushing \d+ files/.test(l)),
      run.progress.join('\n'),
    ).toBe(true);
  });

  it('backup-db refuses --remote without --push, and a push it could not make, before taking the backup', async () => {
    const before = await readdir(path.join(project, 'storage/backups'));
    const alone = await cli(['backup-db', '--url', source.url, '--remote', 'offsite']);
    expect(alone.exitCode).toBe(2);
    expect(oneLine(alone)).toMatch(/^error \[USAGE\]: backup-db: --remote says where --push sends the backup/);
    const noKey = await cli(['backup-db', '--url', source.url, '--push'], { DBOPS_ENCRYPTION_KEY: '' });
    expect(noKey.exitCode).toBe(2);
    expect(oneLine(noKey)).toMatch(/^error \[ENCRYPTION_KEY_MISSING\]/);
    const unknown = await cli(['backup-db', '--url', source.url, '--push', '--remote', 'elsewhere']);
    expect(oneLine(unknown)).toMatch(/^error \[REMOTE_UNKNOWN\]: No remote named "elsewhere" \(configured: offsite\)/);
    expect(await readdir(path.join(project, 'storage/backups'))).toEqual(before);
  });

  it('a push that fails after the backup keeps the backup and names the line that retries it; push-backup then pushes it', async () => {
    const missing = `s3://dbops-t-missing-${randomBytes(4).toString('hex')}/x`;
    const failed = await cli(['backup-db', '--url', source.url, '--label', 'second', '--push', '--remote', missing]);
    expect(failed.exitCode).toBe(1);
    const line = oneLine(failed);
    expect(line).toMatch(/^error \[REMOTE_BUCKET_MISSING\]: /);
    const dir = /The backup itself is complete at (\S+); `dbops push-backup \1 --remote s3:\/\/dbops-t-missing-[0-9a-f]+\/x` retries the push\./.exec(
      line,
    )?.[1];
    expect(dir, line).toBeDefined();
    expect(existsSync(path.join(dir!, 'metadata.json'))).toBe(true);

    // "latest" is that backup (the newest); the remote is the configured one.
    const pushed = await cli(['push-backup', '--json']);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    const out = JSON.parse(pushed.stdout) as { backupDir: string; folder: string; url: string; uploaded: number; files: number; alreadyThere: number };
    expect(out).toMatchObject({ backupDir: dir, folder: path.basename(dir!), url: `${remoteUrl}/${path.basename(dir!)}`, alreadyThere: 0 });
    expect(out.uploaded).toBe(out.files);
    second = { folder: out.folder, url: out.url };
    // Progress is counted in bytes.
    expect(
      pushed.progress.some((l) => / push-backup: uploading bytes \(\d+\/\d+\)$/.test(l)),
      pushed.progress.join('\n'),
    ).toBe(true);

    // Again: nothing to upload.
    const again = await cli(['push-backup', dir!, '--remote', 'offsite']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('was already complete');
  });

  it('list-backups --remote lists the copies (valid; other-key with another key)', async () => {
    const run = await cli(['list-backups', '--remote', 'offsite', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout) as {
      root: string;
      remote: { url: string; display: string; keyId: string };
      backups: Array<{ folder: string; status: string; url: string; label: string }>;
    };
    expect(json.root).toBe(remoteUrl);
    expect(json.remote).toMatchObject({ url: remoteUrl, keyId: first.pushed!.keyId });
    expect(json.remote.display).toContain(new URL(s3.server!.endpoint).host);
    expect(json.backups.map((b) => [b.folder, b.status, b.label, b.url])).toEqual([
      [second.folder, 'valid', 'second', `${remoteUrl}/${second.folder}`],
      [first.folder, 'valid', 'first', `${remoteUrl}/${first.folder}`],
    ]);
    // The same by URL, as text; and read with another key, every copy is "other-key", not an error.
    const text = await cli(['list-backups', '--remote', remoteUrl]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain(`Copies in ${remoteUrl}`);
    const otherKey = await cli(['list-backups', '--remote', 'offsite', '--json'], { DBOPS_ENCRYPTION_KEY: OTHER_KEYS[0]! });
    expect(otherKey.exitCode, otherKey.stderr).toBe(0);
    expect((JSON.parse(otherKey.stdout) as typeof json).backups.map((b) => b.status)).toEqual(['other-key', 'other-key']);
  });

  it("prune-backups --remote --dry-run applies the remote's retention and deletes nothing", async () => {
    const before = await bucketObjects(s3.server!, bucket);
    const run = await cli(['prune-backups', '--remote', 'offsite', '--dry-run', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout) as { root: string; dryRun: boolean; removed: string[]; decisions: Array<{ folder: string; action: string }> };
    expect(json).toMatchObject({ root: remoteUrl, dryRun: true, removed: [] });
    expect(json.decisions.map((d) => [d.folder, d.action])).toEqual([
      [second.folder, 'keep'],
      [first.folder, 'remove'],
    ]);
    expect(await bucketObjects(s3.server!, bucket)).toEqual(before);
  });

  it('MCP: push_backup and list_backups with the configured remote, as an agent calls them', async () => {
    const registry = await buildRegistry(PROJECT_ROOT, COMMAND_MODULES);
    const config = loadConfig(project, {}).config;
    const server = createDbopsMcpServer({
      registry,
      readOnly: false,
      version: '0.1.0',
      context: (signal) => ({ root: project, config, env: { ...env }, signal }),
    });
    const client = new Client({ name: 'dbops-test', version: '1.0.0' });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    await client.connect(clientSide);
    try {
      const progress: string[] = [];
      const push = (await client.callTool({ name: 'push_backup', arguments: { backup: second.folder } }, undefined, {
        onprogress: (p) => progress.push(String(p.message)),
      })) as CallToolResult;
      expect(push.isError, JSON.stringify(push.content)).toBeFalsy();
      expect(push.structuredContent).toMatchObject({ folder: second.folder, url: second.url, uploaded: 0 });
      expect(progress.some((m) => m.startsWith('pushing '))).toBe(true);
      const list = (await client.callTool({ name: 'list_backups', arguments: { remote: 'offsite' } })) as CallToolResult;
      expect((list.structuredContent as { backups: Array<{ folder: string; status: string }> }).backups.map((b) => b.status)).toEqual(['valid', 'valid']);
      // A remote prune by an agent: refused unless confirmed by the remote's name; a dry run needs no confirmation.
      for (const args of [{ remote: 'offsite' }, { remote: 'offsite', confirm: 'other' }]) {
        const refused = (await client.callTool({ name: 'prune_backups', arguments: args })) as CallToolResult;
        expect(refused.isError).toBe(true);
        expect(refused._meta?.['dbops/error']).toMatchObject({ code: 'CONFIRM_MISMATCH' });
      }
      const dry = (await client.callTool({ name: 'prune_backups', arguments: { remote: 'offsite', dryRun: true } })) as CallToolResult;
      expect(dry.isError, JSON.stringify(dry.content)).toBeFalsy();
      expect((dry.structuredContent as { decisions: Array<{ action: string }> }).decisions.map((d) => d.action).sort()).toEqual(['keep', 'remove']);
      const still = (await client.callTool({ name: 'list_backups', arguments: { remote: 'offsite' } })) as CallToolResult;
      expect((still.structuredContent as { backups: unknown[] }).backups).toHaveLength(2);
      runs.push({ exitCode: 0, stdout: JSON.stringify([push, list, dry]), stderr: progress.join('\n'), progress: [] });
    } finally {
      await client.close();
    }
  });

  it('verify-backup s3://… --drill verifies a fetched copy in a temporary folder, removed after', async () => {
    const tmp = await tempDir();
    const localBefore = await readdir(path.join(project, 'storage/backups'));
    const run = await cli(['verify-backup', first.pushed!.url, '--drill', '--url', dbs.adminUrl, '--json'], { TMPDIR: tmp });
    expect(run.exitCode, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout) as {
      ok: boolean;
      verified: boolean;
      backupDir: string;
      fetched: { dir: string | null; alreadyThere: boolean; downloadedBytes: number };
      drill: { dropped: boolean };
    };
    expect(json).toMatchObject({
      ok: true,
      verified: true,
      backupDir: first.pushed!.url,
      fetched: { dir: null, alreadyThere: false },
      drill: { dropped: true },
    });
    expect(json.fetched.downloadedBytes).toBeGreaterThan(0);
    expect((await readdir(tmp)).filter((f) => f.startsWith('dbops-verify-'))).toEqual([]);
    expect(await readdir(path.join(project, 'storage/backups'))).toEqual(localBefore);
  });

  it('restore-db s3://… fetches into the backups directory, then restores: the target equals the source', async () => {
    const target = await dbs.create();
    const backups = await tempDir();
    const run = await cli(['restore-db', first.pushed!.url, '--url', target.url, '--yes', '--no-safety-backup', '--verify', 'content', '--json'], {
      DBOPS_BACKUP_DIR: backups,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout) as { verified: boolean; backupDir: string; fetched: { url: string; dir: string; alreadyThere: boolean } };
    expect(json).toMatchObject({
      verified: true,
      backupDir: path.join(backups, first.folder),
      fetched: { url: first.pushed!.url, dir: path.join(backups, first.folder), alreadyThere: false },
    });
    expect(await readdir(backups)).toEqual([first.folder]);
    expect(diffImages(sourceImage, await imageOf(target.url))).toEqual([]);
  });

  it('another key, and a flipped byte in the bucket: one line, exit 1, nothing fetched or restored', async () => {
    const target = await dbs.create();
    const backups = await tempDir();
    const wrongKey = await cli(['restore-db', first.pushed!.url, '--url', target.url, '--yes'], {
      DBOPS_BACKUP_DIR: backups,
      DBOPS_ENCRYPTION_KEY: OTHER_KEYS[1]!,
    });
    expect(wrongKey.exitCode).toBe(1);
    expect(oneLine(wrongKey)).toMatch(/^error \[ENCRYPTION_KEY_WRONG\]: /);
    const verifyWrongKey = await cli(['verify-backup', first.pushed!.url], { DBOPS_ENCRYPTION_KEY: OTHER_KEYS[2]! });
    expect(verifyWrongKey.exitCode).toBe(1);
    expect(oneLine(verifyWrongKey)).toMatch(/^error \[ENCRYPTION_KEY_WRONG\]: /);

    // One byte in the middle of the copy's largest object.
    const prefix = `team/prod/${first.folder}/`;
    const largest = (await bucketObjects(s3.server!, bucket))
      .filter((o) => o.key.startsWith(prefix) && !o.key.endsWith('dbops-manifest'))
      .sort((a, b) => b.size - a.size)[0]!;
    const body = await getRaw(s3.server!, bucket, largest.key);
    body[Math.floor(body.length / 2)]! ^= 0x01;
    await putRaw(s3.server!, bucket, largest.key, body);
    const flipped = await cli(['restore-db', first.pushed!.url, '--url', target.url, '--yes'], { DBOPS_BACKUP_DIR: backups });
    expect(flipped.exitCode).toBe(1);
    expect(oneLine(flipped)).toMatch(/^error \[REMOTE_CORRUPT\]: /);

    expect(await tableCounts(target.url)).toEqual({});
    expect(await readdir(backups)).toEqual([]);
  });

  it('no secret in any output or recorded event', async () => {
    const secrets = [env.AWS_SECRET_ACCESS_KEY!, env.AWS_ACCESS_KEY_ID!, env.DBOPS_ENCRYPTION_KEY!, ...OTHER_KEYS];
    const password = decodeURIComponent(new URL(source.url).password);
    if (password !== '') secrets.push(password);
    const events = await readFile(path.join(spool, 'events.jsonl'), 'utf8').catch(() => '');
    expect(events).toContain('"push-backup"');
    const said = [...runs.flatMap((r) => [r.stdout, r.stderr, ...r.progress]), events].join('\n');
    for (const secret of secrets) expect(said.includes(secret), `a secret (${secret.slice(0, 3)}…) was printed or recorded`).toBe(false);
  });
});
