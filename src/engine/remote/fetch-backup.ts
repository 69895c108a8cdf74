import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { openBackup, verifyBackupFiles } from '../folder/open.js';
import type { EngineContext } from '../context.js';
import { DbopsError, isDbopsError } from '../errors.js';
import { parseInput } from '../input.js';
import { fetchOptionsSchema } from '../options/remote-options.js';
import { backupsRoot, partialFolderName } from '../folder/layout.js';
import { listObjects } from './bucket-ops.js';
import { downloadFile } from './download-file.js';
import { missingObjects } from './list-remote-backups.js';
import { readRemoteManifest, requireManifest, type RemoteManifest } from './remote-manifest.js';
import { folderKey } from './remote-paths.js';
import { closeRemoteSession, openRemoteSession, type RemoteSession } from './remote-session.js';
import { splitRemoteFolder } from './resolve-remote.js';
import type { ClientOptions } from './s3-client.js';
import { runPool } from './run-pool.js';

// The way back: a remote copy downloaded, decrypted and checked into a local backup folder,
// which restore-db and verify-backup then take like any other. It is written under a hidden
// .<folder>.partial-<pid> name (what list-backups shows as incomplete and prune removes) and
// renamed into place only when every chunk authenticated, every file matched its sha256 and
// the folder passed the same checks a local backup gets; any failure removes it whole.

export { fetchOptionsSchema } from '../options/remote-options.js';

export type FetchProgress = { phase: 'plan'; files: number; bytes: number } | { phase: 'bytes'; received: number; total: number } | { phase: 'verify' };

export interface FetchResult {
  remote: string;
  folder: string;
  /** The local backup folder, ready for restoreDatabase / verifyBackup. */
  dir: string;
  files: number;
  backupBytes: number;
  downloadedBytes: number;
  /** The folder was already there, equal to the copy: nothing was downloaded. */
  alreadyThere: boolean;
  backup: RemoteManifest['backup'];
  durationMs: number;
}

export async function fetchBackup(
  input: z.input<typeof fetchOptionsSchema>,
  ctx: EngineContext,
  hooks: { onProgress?: (p: FetchProgress) => void; client?: ClientOptions } = {},
): Promise<FetchResult> {
  const options = parseInput('fetch-backup', fetchOptionsSchema, input);
  const started = Date.now();
  const progress = hooks.onProgress ?? (() => undefined);
  const named = namedCopy(options, ctx.env);
  const session = openRemoteSession(named.remote, ctx, hooks.client);
  try {
    const folder = named.folder;
    const manifest = requireManifest(await readRemoteManifest(session, folder), session, folder);
    const objects = [];
    for await (const o of listObjects(session, folderKey(session.remote, folder))) objects.push(o);
    const missing = missingObjects(session, manifest, objects);
    if (missing.length > 0) {
      throw new DbopsError(
        'REMOTE_CORRUPT',
        `The copy of ${folder} on ${session.remote.display} lacks ${missing.length} object(s) its manifest names (${missing.slice(0, 3).join(', ')}).`,
      );
    }
    const into = path.resolve(ctx.root, options.into ?? backupsRoot(ctx.root, ctx.config.backup.dir, ctx.env));
    const dest = path.join(into, folder);
    const result = (downloadedBytes: number, alreadyThere: boolean): FetchResult => ({
      remote: session.remote.display,
      folder,
      dir: dest,
      files: manifest.files.length,
      backupBytes: manifest.files.reduce((n, f) => n + f.bytes, 0),
      downloadedBytes,
      alreadyThere,
      backup: manifest.backup,
      durationMs: Date.now() - started,
    });
    if (await stat(dest).catch(() => undefined)) {
      await assertSameBackup(dest, manifest);
      return result(0, true);
    }
    const downloaded = await downloadInto(session, manifest, into, dest, progress);
    return result(downloaded, false);
  } finally {
    closeRemoteSession(session);
  }
}

function namedCopy(
  options: z.output<typeof fetchOptionsSchema>,
  env: NodeJS.ProcessEnv,
): { remote: string | ReturnType<typeof splitRemoteFolder>['remote'] | undefined; folder: string } {
  if (options.url !== undefined) {
    if (options.remote !== undefined || options.folder !== undefined)
      throw new DbopsError('USAGE', 'fetch-backup: pass the copy as one s3:// URL, or as remote and folder, not both.');
    return splitRemoteFolder(options.url, env);
  }
  if (options.folder === undefined) throw new DbopsError('USAGE', 'fetch-backup: name the backup folder to fetch (or pass s3://bucket/prefix/<folder>).');
  return { remote: options.remote, folder: options.folder };
}

async function downloadInto(
  session: RemoteSession,
  manifest: RemoteManifest,
  into: string,
  dest: string,
  progress: (p: FetchProgress) => void,
): Promise<number> {
  const staging = path.join(into, partialFolderName(manifest.folder, process.pid));
  const inner = path.join(staging, manifest.folder);
  const total = manifest.files.reduce((n, f) => n + f.objectBytes, 0);
  progress({ phase: 'plan', files: manifest.files.length, bytes: total });
  try {
    await mkdir(inner, { recursive: true, mode: 0o700 });
    let received = 0;
    const order = [...manifest.files].sort((a, b) => b.bytes - a.bytes);
    await runPool(order, 4, (f) => downloadFile(session, manifest.folder, f, inner, (n) => progress({ phase: 'bytes', received: (received += n), total })));
    progress({ phase: 'verify' });
    // The same checks a local backup gets, on the folder under its own name (old layouts are
    // recognised by it), before anything can take it for a backup.
    const handle = await openBackup(inner);
    if (handle.manifest !== undefined) await verifyBackupFiles(handle);
    await rename(inner, dest).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST' || error.code === 'ENOTEMPTY')
        throw new DbopsError('BACKUP_EXISTS', `${dest} appeared while the copy was fetched; nothing was replaced.`);
      throw error;
    });
    await rmdir(staging);
    return received;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    if (isDbopsError(error) && error.code === 'BACKUP_CORRUPT') {
      throw new DbopsError('REMOTE_CORRUPT', `The copy of ${manifest.folder} fails the backup's own checks: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** A folder of that name already here: fine when it is this very backup, refused otherwise. */
async function assertSameBackup(dest: string, manifest: RemoteManifest): Promise<void> {
  const here = await openBackup(dest).catch(() => undefined);
  const check = here?.manifest === undefined ? undefined : await verifyBackupFiles(here).catch(() => undefined);
  const sameFiles =
    here?.manifest !== undefined &&
    manifest.files.every((f) =>
      f.path === 'metadata.json' ? f.sha256 === here.metadataSha256 : f.path === 'checksums.sha256' || here.manifest!.files[f.path]?.sha256 === f.sha256,
    );
  if (check === undefined || !sameFiles) {
    throw new DbopsError('BACKUP_EXISTS', `${dest} already exists and is not the same backup as the copy; nothing was downloaded.`, {
      hint: 'Pass another directory to fetch into, or move that folder away first.',
    });
  }
}
