import type { Config, RemoteConfig } from '../config.js';
import { cutShort, DbopsError } from '../errors.js';

// A remote named by the user, as every remote operation takes it: a name from `remotes:` in
// dbops.config.yaml, or inline as s3://bucket/prefix. Inline remotes take what the AWS SDK's
// own environment says (AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL; AWS_REGION) plus
// DBOPS_S3_PATH_STYLE=1, so a script or CI job needs no config file. Nothing here is secret:
// credentials are the SDK's business (s3-client.ts), the encryption key encryption-key.ts's.

export interface Remote {
  /** The configured name, or the s3:// URL it was given as. */
  name: string;
  bucket: string;
  /** "" or "team/prod" (no leading or trailing slash). */
  prefix: string;
  /** undefined: the SDK's own choice (AWS). */
  endpoint: string | undefined;
  region: string;
  pathStyle: boolean;
  profile: string | undefined;
  storageClass: string | undefined;
  keyFile: string | undefined;
  retention: RemoteConfig['retention'];
  /** "s3://bucket/prefix": what a copy's URL starts with. */
  url: string;
  /** "s3://bucket/prefix" (plus the endpoint's host when not AWS): what messages show. */
  display: string;
}

const S3_URL = /^s3:\/\/([^/]+)(?:\/(.*))?$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * `reference`: a configured name, an s3:// URL, or undefined for the only configured remote.
 * An s3:// URL may also name one folder (s3://bucket/prefix/<folder>): see splitRemoteFolder.
 */
export function resolveRemote(reference: string | undefined, config: Config, env: NodeJS.ProcessEnv): Remote {
  if (reference !== undefined && reference.startsWith('s3://')) return inlineRemote(reference, env);
  const names = Object.keys(config.remotes);
  if (reference === undefined) {
    if (names.length === 1) return configuredRemote(names[0]!, config.remotes[names[0]!]!, env);
    const known = names.length === 0 ? 'none is configured' : `configured: ${names.join(', ')}`;
    throw new DbopsError('REMOTE_UNKNOWN', `Name the remote to use (${known}).`);
  }
  const entry = config.remotes[reference];
  if (entry === undefined) {
    const known = names.length === 0 ? 'no remotes are configured' : `configured: ${names.join(', ')}`;
    throw new DbopsError('REMOTE_UNKNOWN', `No remote named "${cutShort(reference, 63)}" (${known}).`);
  }
  return configuredRemote(reference, entry, env);
}

/** "s3://bucket/team/prod/20261123_071502_prod" → the remote s3://bucket/team/prod and the folder. */
export function splitRemoteFolder(url: string, env: NodeJS.ProcessEnv): { remote: Remote; folder: string } {
  const m = S3_URL.exec(url);
  const path = (m?.[2] ?? '').replace(/\/+$/, '');
  const cut = path.lastIndexOf('/');
  const folder = path.slice(cut + 1);
  if (!m || folder === '') throw new DbopsError('REMOTE_INVALID', `${cutShort(url)} names no backup folder: use s3://bucket/prefix/<folder>.`);
  return { remote: inlineRemote(`s3://${m[1]}/${cut < 0 ? '' : path.slice(0, cut)}`, env), folder };
}

function inlineRemote(url: string, env: NodeJS.ProcessEnv): Remote {
  const m = S3_URL.exec(url);
  if (!m || !BUCKET.test(m[1]!)) throw new DbopsError('REMOTE_INVALID', `${cutShort(url)} is not an s3://bucket/prefix URL with a valid bucket name.`);
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return finish({
    name: url,
    bucket: m[1]!,
    prefix: cleanPrefix(m[2] ?? '', url),
    endpoint: endpoint === undefined ? undefined : checkEndpoint(endpoint, env.AWS_ENDPOINT_URL_S3 ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL'),
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    pathStyle: env.DBOPS_S3_PATH_STYLE === '1',
    profile: undefined,
    storageClass: undefined,
    keyFile: undefined,
    retention: undefined,
  });
}

function configuredRemote(name: string, entry: RemoteConfig, env: NodeJS.ProcessEnv): Remote {
  const endpoint = entry.endpoint ?? (env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined);
  return finish({
    name,
    bucket: entry.bucket,
    prefix: cleanPrefix(entry.prefix, `remotes.${name}.prefix`),
    endpoint: endpoint === undefined ? undefined : checkEndpoint(endpoint, entry.endpoint ? `remotes.${name}.endpoint` : 'AWS_ENDPOINT_URL'),
    region: entry.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1'),
    pathStyle: entry.path_style ?? env.DBOPS_S3_PATH_STYLE === '1',
    profile: entry.profile,
    storageClass: entry.storage_class,
    keyFile: entry.encryption_key_file,
    retention: entry.retention,
  });
}

function finish(remote: Omit<Remote, 'display' | 'url'>): Remote {
  const url = `s3://${remote.bucket}${remote.prefix === '' ? '' : `/${remote.prefix}`}`;
  // The endpoint's host only: a URL's userinfo or query never reaches a message.
  const host = remote.endpoint === undefined ? '' : ` at ${new URL(remote.endpoint).host}`;
  return { ...remote, url, display: `${url}${host}` };
}

function cleanPrefix(prefix: string, where: string): string {
  const clean = prefix.replace(/^\/+|\/+$/g, '');
  if (clean.split('/').some((part) => part === '' || part === '.' || part === '..') && clean !== '') {
    throw new DbopsError('REMOTE_INVALID', `${cutShort(where)}: the prefix must be a path like team/prod (no empty, "." or ".." parts).`);
  }
  return clean;
}

function checkEndpoint(endpoint: string, where: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new DbopsError('REMOTE_INVALID', `${where} is not a URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DbopsError('REMOTE_INVALID', `${where} must be an http(s):// URL.`);
  // Credentials belong to the SDK's chain; a URL carrying them would end up in logs.
  if (url.username !== '' || url.password !== '')
    throw new DbopsError('REMOTE_INVALID', `${where} must not carry a user name or password: credentials come from the AWS SDK's chain.`);
  return url.toString().replace(/\/$/, '');
}
