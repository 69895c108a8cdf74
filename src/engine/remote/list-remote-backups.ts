import type { z } from 'zod';
import type { EngineContext } from '../context.js';
import { parseInput } from '../input.js';
import { listRemoteOptionsSchema } from '../options/remote-options.js';
import { checkBucket, listObjects, type ListedObject } from './bucket-ops.js';
import { readRemoteManifest, type RemoteManifest } from './remote-manifest.js';
import { fileObjectKey, isFolderName, MANIFEST_OBJECT, remoteRootKey } from './remote-paths.js';
import { closeRemoteSession, openRemoteSession, type RemoteSession } from './remote-session.js';
import type { ClientOptions } from './s3-client.js';
import { runPool } from './run-pool.js';

// list-backups --remote: every folder under the remote's prefix, with what it is —
// valid (its manifest opens with this key and every object it names is there, at its size),
// incomplete (objects but no manifest: a push that has not finished, or was killed),
// corrupt (a manifest that does not open, or objects missing), or other-key (pushed with another key).
// Read-only: nothing is written, deleted or downloaded beyond the manifests.

export { listRemoteOptionsSchema } from '../options/remote-options.js';

export type RemoteStatus = 'valid' | 'incomplete' | 'corrupt' | 'other-key';

export interface RemoteBackup {
  folder: string;
  /** s3://bucket/prefix/<folder> */
  url: string;
  status: RemoteStatus;
  createdAt: string | null;
  target: string | null;
  label: string | null;
  mode: string | null;
  layout: string | null;
  source: { host: string; port: number; database: string } | null;
  pushedAt: string | null;
  /** Bytes the folder's objects take in the bucket. */
  storedBytes: number;
  /** Bytes of the backup itself (valid copies), as fetch will write them. */
  backupBytes: number | null;
  objects: number;
  /** The newest object's time: what dates an incomplete copy. */
  modifiedAt: string;
  problem: string | null;
}

export interface RemoteListing {
  remote: string;
  /** s3://bucket/prefix */
  url: string;
  keyId: string;
  backups: RemoteBackup[];
}

export async function listRemoteBackups(
  input: z.input<typeof listRemoteOptionsSchema>,
  ctx: EngineContext,
  client: ClientOptions = {},
): Promise<RemoteListing> {
  const options = parseInput('list-backups', listRemoteOptionsSchema, input);
  const session = openRemoteSession(options.remote, ctx, client);
  try {
    const backups = (await scanRemote(session)).filter((b) => options.target === undefined || b.target === options.target);
    return { remote: session.remote.display, url: session.remote.url, keyId: session.keys.keyId, backups };
  } finally {
    closeRemoteSession(session);
  }
}

/** Every folder of the remote, described; newest first, folders of unknown time last. */
export async function scanRemote(session: RemoteSession): Promise<RemoteBackup[]> {
  await checkBucket(session);
  const root = remoteRootKey(session.remote);
  const folders = new Map<string, ListedObject[]>();
  for await (const o of listObjects(session, root)) {
    const rest = o.key.slice(root.length);
    const cut = rest.indexOf('/');
    // Objects beside the folders, and deeper prefixes that are not ours, are not backups.
    const folder = rest.slice(0, Math.max(cut, 0));
    if (cut <= 0 || rest.indexOf('/', cut + 1) !== -1 || !isFolderName(folder)) continue;
    folders.set(folder, [...(folders.get(folder) ?? []), o]);
  }
  const described: RemoteBackup[] = [];
  // Manifests are small: a few read side by side.
  await runPool([...folders.entries()], 4, async ([folder, objects]) => {
    described.push(await describe(session, folder, objects));
  });
  return described.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.folder.localeCompare(b.folder));
}

async function describe(session: RemoteSession, folder: string, objects: ListedObject[]): Promise<RemoteBackup> {
  const newest = objects.reduce((t, o) => (o.modifiedAt > t ? o.modifiedAt : t), new Date(0));
  const base = {
    folder,
    url: `s3://${session.remote.bucket}/${remoteRootKey(session.remote)}${folder}`,
    storedBytes: objects.reduce((n, o) => n + o.size, 0),
    objects: objects.length,
    modifiedAt: newest.toISOString(),
  };
  const unknown = { createdAt: null, target: null, label: null, mode: null, layout: null, source: null, pushedAt: null, backupBytes: null };
  if (!objects.some((o) => o.key.endsWith(`/${MANIFEST_OBJECT}`))) {
    return { ...base, ...unknown, status: 'incomplete', problem: 'no manifest: a push that has not finished or was stopped' };
  }
  const read = await readRemoteManifest(session, folder);
  if (read.state === 'absent') return { ...base, ...unknown, status: 'incomplete', problem: 'no manifest: a push that has not finished or was stopped' };
  if (read.state !== 'ok') return { ...base, ...unknown, status: read.state, problem: read.problem };
  const manifest = read.manifest;
  const missing = missingObjects(session, manifest, objects);
  return {
    ...base,
    createdAt: manifest.backup.createdAt,
    target: manifest.backup.target,
    label: manifest.backup.label,
    mode: manifest.backup.mode,
    layout: manifest.backup.layout,
    source: manifest.backup.source,
    pushedAt: manifest.pushedAt,
    backupBytes: manifest.files.reduce((n, f) => n + f.bytes, 0),
    status: missing.length === 0 ? 'valid' : 'corrupt',
    problem:
      missing.length === 0
        ? null
        : `${missing.length} object(s) missing or of the wrong size (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})`,
  };
}

/** Files of the manifest whose object is absent or not the size it must be, by path. */
export function missingObjects(session: RemoteSession, manifest: RemoteManifest, objects: readonly ListedObject[]): string[] {
  const sizes = new Map(objects.map((o) => [o.key, o.size]));
  return manifest.files.filter((f) => sizes.get(fileObjectKey(session.remote, manifest.folder, f.object)) !== f.objectBytes).map((f) => f.path);
}
