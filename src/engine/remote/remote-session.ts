import type { S3Client } from '@aws-sdk/client-s3';
import type { EngineContext } from '../context.js';
import { loadEncryptionKeys, type EncryptionKeys } from './encryption-key.js';
import { resolveRemote, type Remote } from './resolve-remote.js';
import { createS3Client, type ClientOptions } from './s3-client.js';

// What every remote operation starts from: the remote resolved, the key loaded (before any
// network call, so a missing key costs nothing), and a client. The key is needed even to list:
// what a copy holds (its time, target, database) is inside its encrypted manifest.

export interface RemoteSession {
  remote: Remote;
  keys: EncryptionKeys;
  client: S3Client;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal | undefined;
}

/** `remote`: a configured name, s3://bucket/prefix, or a Remote already resolved. */
export function openRemoteSession(remote: string | Remote | undefined, ctx: EngineContext, client: ClientOptions = {}): RemoteSession {
  const resolved = typeof remote === 'object' ? remote : resolveRemote(remote, ctx.config, ctx.env);
  const keys = loadEncryptionKeys(resolved, ctx.env, ctx.root);
  return { remote: resolved, keys, client: createS3Client(resolved, ctx.env, client), env: ctx.env, signal: ctx.signal };
}

export function closeRemoteSession(session: RemoteSession): void {
  session.client.destroy();
}

/**
 * What a remote operation will need, checked without a request: the remote resolves and the key
 * loads. backup-db --push asks this before the backup, so a typo or a missing key costs nothing.
 */
export function checkRemoteSetup(remote: string | undefined, ctx: EngineContext): { url: string; display: string; keyId: string } {
  const resolved = resolveRemote(remote, ctx.config, ctx.env);
  return { url: resolved.url, display: resolved.display, keyId: loadEncryptionKeys(resolved, ctx.env, ctx.root).keyId };
}
