import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { DbopsError, isDbopsError } from '../errors.js';
import { decryptBuffer, encryptBuffer, headerKeyId } from './cipher-stream.js';
import { readSmallObject } from './bucket-ops.js';
import { manifestKey } from './remote-paths.js';
import type { RemoteSession } from './remote-session.js';
import { remoteError } from './s3-errors.js';

// The remote copy's manifest: which object holds which file of the backup (with the file's
// sha256 and size), and what list and retention need to know (time, target, label, database).
// It is encrypted like every object, so it is also signed: only a holder of the key can write
// one that opens. It is written after every object it names, so a copy without it is
// incomplete, never valid — the same rule as metadata.json in a local backup folder.

export const REMOTE_MANIFEST_FORMAT = 'dbops-remote-manifest';
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

const remoteFileSchema = z.strictObject({
  /** Relative path inside the backup folder, "/"-separated: "dump/toc.dat". */
  path: z.string().min(1).max(4096),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The object's name inside the folder (64 hex) and its exact encrypted size. */
  object: z.string().regex(/^[0-9a-f]{64}$/),
  objectBytes: z.number().int().nonnegative(),
});

export const remoteManifestSchema = z.strictObject({
  format: z.literal(REMOTE_MANIFEST_FORMAT),
  formatVersion: z.literal(1),
  folder: z.string(),
  pushedAt: z.iso.datetime(),
  backup: z.strictObject({
    layout: z.string(),
    createdAt: z.iso.datetime(),
    target: z.string().nullable(),
    label: z.string().nullable(),
    mode: z.string().nullable(),
    source: z.strictObject({ host: z.string(), port: z.number().int(), database: z.string() }).nullable(),
  }),
  files: z.array(remoteFileSchema),
});

export type RemoteManifest = z.infer<typeof remoteManifestSchema>;
export type RemoteFile = z.infer<typeof remoteFileSchema>;

export type ManifestRead =
  | { state: 'absent' }
  | { state: 'ok'; manifest: RemoteManifest }
  | { state: 'other-key'; keyId: string; problem: string }
  | { state: 'corrupt'; problem: string };

/** Reads and opens a folder's manifest; every way it can fail is a state, not an exception. */
export async function readRemoteManifest(session: RemoteSession, folder: string): Promise<ManifestRead> {
  const key = manifestKey(session.remote, folder);
  const sealed = await readSmallObject(session, key, MAX_MANIFEST_BYTES);
  if (sealed === undefined) return { state: 'absent' };
  const what = `${folder}/${key.slice(key.lastIndexOf('/') + 1)}`;
  const keyId = headerKeyId(sealed);
  if (keyId !== undefined && keyId !== session.keys.keyId) {
    return {
      state: 'other-key',
      keyId,
      problem: `${what} was encrypted with another key (key id ${keyId}; ${session.keys.source} has key id ${session.keys.keyId})`,
    };
  }
  let plain: Buffer;
  try {
    plain = await decryptBuffer(session.keys, sealed, what);
  } catch (error) {
    if (isDbopsError(error)) return { state: 'corrupt', problem: error.message.replace(/\.$/, '') };
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(plain.toString('utf8'));
  } catch {
    return { state: 'corrupt', problem: `${what} is not JSON` };
  }
  const parsed = remoteManifestSchema.safeParse(raw);
  if (!parsed.success || parsed.data.folder !== folder) {
    // A manifest moved from another folder opens too (same key): its folder name says so.
    return { state: 'corrupt', problem: parsed.success ? `${what} belongs to folder ${parsed.data.folder}` : `${what} is not a valid manifest` };
  }
  return { state: 'ok', manifest: parsed.data };
}

/** The manifest as a valid copy needs it, or the error that says why it is not one. */
export function requireManifest(read: ManifestRead, session: RemoteSession, folder: string): RemoteManifest {
  if (read.state === 'ok') return read.manifest;
  if (read.state === 'absent') {
    throw new DbopsError('REMOTE_BACKUP_NOT_FOUND', `${session.remote.display} holds no complete copy of ${folder}.`);
  }
  if (read.state === 'other-key') throw new DbopsError('ENCRYPTION_KEY_WRONG', `${read.problem}.`);
  throw new DbopsError('REMOTE_CORRUPT', `${read.problem}.`);
}

/** Written last, in one PUT (atomic in S3): from this moment the copy is complete. */
export async function writeRemoteManifest(session: RemoteSession, manifest: RemoteManifest): Promise<void> {
  const body = await encryptBuffer(session.keys, Buffer.from(JSON.stringify(manifest), 'utf8'));
  const key = manifestKey(session.remote, manifest.folder);
  try {
    await session.client.send(
      new PutObjectCommand({
        Bucket: session.remote.bucket,
        Key: key,
        Body: body,
        // Checked by the server before it stores anything (and asked for by Object Lock buckets).
        ContentMD5: createHash('md5').update(body).digest('base64'),
        // The default storage class whatever the remote's: listing reads every manifest, and an
        // archive class (GLACIER) would need a restore request before each read.
        ContentType: 'application/octet-stream',
      }),
      { abortSignal: session.signal },
    );
  } catch (error) {
    throw remoteError(error, session.remote, 'writing the manifest', session.env);
  }
}
