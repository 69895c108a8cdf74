import path from 'node:path';
import type { z } from 'zod';
import { chooseBackup } from '../folder/scan.js';
import type { EngineContext } from '../context.js';
import { DbopsError } from '../errors.js';
import { parseInput } from '../input.js';
import { pushOptionsSchema } from '../options/remote-options.js';
import { backupsRoot } from '../folder/layout.js';
import { abortUploads, checkBucket, deleteKeys, listObjects } from './bucket-ops.js';
import { encryptedSize } from './cipher-stream.js';
import { objectName } from './encryption-key.js';
import { readLocalBackup } from './local-backup-files.js';
import { readRemoteManifest, writeRemoteManifest, type RemoteFile, type RemoteManifest } from './remote-manifest.js';
import { fileObjectKey, folderKey, manifestKey } from './remote-paths.js';
import { closeRemoteSession, openRemoteSession } from './remote-session.js';
import type { ClientOptions } from './s3-client.js';
import { runPool } from './run-pool.js';
import { uploadFile } from './upload-file.js';

// push-backup: a local backup folder, encrypted, into <remote>/<folder>/. Resumable by
// construction: each file's object name is an HMAC of its path and content, so a second run
// lists the folder and uploads only the objects that are missing or of the wrong size. The
// manifest goes last; only then are objects of an earlier, different push of this folder and
// uploads a killed run left behind removed.

export { pushOptionsSchema } from '../options/remote-options.js';

export type PushProgress =
  | { phase: 'plan'; files: number; toUpload: number; bytesToUpload: number }
  | { phase: 'uploaded'; path: string; bytes: number }
  | { phase: 'bytes'; sent: number; total: number }
  | { phase: 'manifest' };

export interface PushHooks {
  onProgress?: (p: PushProgress) => void;
  /** Test and tuning knobs for the S3 client (attempts, clock offset). */
  client?: ClientOptions;
  /** Files uploaded side by side (each in parallel parts); default 2. */
  filesInParallel?: number;
}

export interface PushResult {
  remote: string;
  folder: string;
  /** The local backup folder that was pushed. */
  backupDir: string;
  /** s3://bucket/prefix/<folder>, what restore-db and verify-backup take. */
  url: string;
  files: number;
  uploaded: number;
  /** Objects already there with the right name and size (a resumed or repeated push). */
  alreadyThere: number;
  backupBytes: number;
  uploadedBytes: number;
  /** Objects of an earlier push of this folder that the new manifest no longer names, removed. */
  removedStale: number;
  /** Multipart uploads a killed run had left under this folder, aborted. */
  abortedUploads: number;
  keyId: string;
  durationMs: number;
}

export async function pushBackup(input: z.input<typeof pushOptionsSchema>, ctx: EngineContext, hooks: PushHooks = {}): Promise<PushResult> {
  const options = parseInput('push-backup', pushOptionsSchema, input);
  const started = Date.now();
  const progress = hooks.onProgress ?? (() => undefined);
  // The key first: without one nothing leaves the machine, and no request is made.
  const session = openRemoteSession(options.remote, ctx, hooks.client);
  try {
    const local = await readLocalBackup(await backupToPush(options.backup, ctx));
    const { remote, keys } = session;
    await checkBucket(session);

    // What is there already: a manifest pushed with another key is not overwritten silently.
    const existing = await readRemoteManifest(session, local.folder);
    if (existing.state === 'other-key') {
      throw new DbopsError('ENCRYPTION_KEY_WRONG', `${remote.display} already holds ${local.folder}, and ${existing.problem}; nothing was uploaded.`);
    }
    const present = new Map<string, number>();
    for await (const o of listObjects(session, folderKey(remote, local.folder))) present.set(o.key, o.size);

    const files: RemoteFile[] = local.files.map((f) => ({ ...f, object: objectName(keys, f), objectBytes: encryptedSize(f.bytes) }));
    const missing = files.filter((f) => present.get(fileObjectKey(remote, local.folder, f.object)) !== f.objectBytes);
    const total = missing.reduce((n, f) => n + f.objectBytes, 0);
    progress({ phase: 'plan', files: files.length, toUpload: missing.length, bytesToUpload: total });

    // Upload what is missing, largest first (the long ones start early, the small fill in).
    let sent = 0;
    const order = [...missing].sort((a, b) => b.bytes - a.bytes);
    await runPool(order, hooks.filesInParallel ?? 2, async (f) => {
      const target = { file: path.join(local.dir, ...f.path.split('/')), path: f.path, key: fileObjectKey(remote, local.folder, f.object), expected: f };
      await uploadFile(session, target, (n) => progress({ phase: 'bytes', sent: (sent += n), total }));
      progress({ phase: 'uploaded', path: f.path, bytes: f.objectBytes });
    });

    // Last: the manifest. Until this PUT the copy is listed as incomplete, never as valid.
    const manifest: RemoteManifest = {
      format: 'dbops-remote-manifest',
      formatVersion: 1,
      folder: local.folder,
      pushedAt: new Date().toISOString(),
      backup: local.backup,
      files,
    };
    const unchanged = existing.state === 'ok' && missing.length === 0 && sameFiles(existing.manifest, manifest);
    if (!unchanged) {
      progress({ phase: 'manifest' });
      await writeRemoteManifest(session, manifest);
    }

    // Then the leftovers: objects this manifest does not name, and a killed run's open uploads.
    const wanted = new Set([manifestKey(remote, local.folder), ...files.map((f) => fileObjectKey(remote, local.folder, f.object))]);
    const stale = [...present.keys()].filter((k) => !wanted.has(k));
    await deleteKeys(session, stale);
    const abortedUploads = await abortUploads(session, folderKey(remote, local.folder));

    return {
      remote: remote.display,
      folder: local.folder,
      backupDir: local.dir,
      url: `s3://${remote.bucket}/${folderKey(remote, local.folder).replace(/\/$/, '')}`,
      files: files.length,
      uploaded: missing.length,
      alreadyThere: files.length - missing.length,
      backupBytes: files.reduce((n, f) => n + f.bytes, 0),
      uploadedBytes: total,
      removedStale: stale.length,
      abortedUploads,
      keyId: keys.keyId,
      durationMs: Date.now() - started,
    };
  } finally {
    closeRemoteSession(session);
  }
}

/** "latest" (the newest valid backup, as restore-db takes it) or a folder path. */
async function backupToPush(reference: string, ctx: EngineContext): Promise<string> {
  if (reference !== 'latest') return path.resolve(ctx.root, reference);
  const root = backupsRoot(ctx.root, ctx.config.backup.dir, ctx.env);
  return (await chooseBackup('latest', { root, cwd: ctx.root, now: ctx.now?.() })).handle.dir;
}

function sameFiles(a: RemoteManifest, b: RemoteManifest): boolean {
  const line = (m: RemoteManifest) =>
    m.files
      .map((f) => `${f.path} ${f.sha256} ${f.object}`)
      .sort()
      .join('\n');
  return line(a) === line(b) && JSON.stringify(a.backup) === JSON.stringify(b.backup);
}
