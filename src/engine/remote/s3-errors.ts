import { cutShort, DbopsError, isDbopsError } from '../errors.js';
import type { Remote } from './resolve-remote.js';

// What an S3 server (or the network on the way) said, mapped to the engine's error codes here
// and nowhere else. The message is ours, naming the remote and the step; the server's own text
// is added only cut short and with every credential this process knows of blanked out.

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

const AUTH = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'AllAccessDisabled',
]);
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** `step`: what dbops was doing, e.g. "listing", "uploading dump/toc.dat". */
export function remoteError(error: unknown, remote: Remote, step: string, env: NodeJS.ProcessEnv): DbopsError {
  if (isDbopsError(error)) return error;
  const e = (error ?? {}) as SdkError;
  const name = e.Code ?? e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const attempts = e.$metadata?.attempts;
  const where = `${remote.display} (${step})`;
  const said = serverText(e, env);
  if (name === 'AbortError' || (error as Error | undefined)?.name === 'AbortError') {
    return new DbopsError('INTERRUPTED', `Stopped while ${step} on ${remote.display}.`, { cause: error });
  }
  if (name === 'RequestTimeTooSkewed') {
    return new DbopsError('REMOTE_CLOCK_SKEW', `${where}: the server refused the request because this machine's clock is off (RequestTimeTooSkewed).`, {
      cause: error,
    });
  }
  if (name === 'NoSuchBucket' || (status === 404 && name === 'NotFound' && step === 'checking the bucket')) {
    return new DbopsError(
      'REMOTE_BUCKET_MISSING',
      `Bucket ${remote.bucket} does not exist at ${remote.endpoint === undefined ? 'AWS S3' : new URL(remote.endpoint).host}.`,
      { cause: error },
    );
  }
  if (AUTH.has(name) || status === 403) {
    const why =
      name === 'CredentialsProviderError'
        ? 'no credentials were found'
        : `the server refused the credentials (${name === 'Unknown' ? `HTTP ${status}` : name})`;
    return new DbopsError('REMOTE_AUTH_FAILED', `${where}: ${why}.`, { cause: error });
  }
  const code = e.code ?? (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  if ((code !== undefined && NETWORK.has(code)) || name === 'TimeoutError' || name === 'RequestTimeout') {
    const tries = attempts === undefined ? '' : ` after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
    return new DbopsError('REMOTE_UNREACHABLE', `${where}: the connection failed${tries} (${code ?? name}).`, { cause: error });
  }
  return new DbopsError('REMOTE_FAILED', `${where}: the server answered ${name}${status === undefined ? '' : ` (HTTP ${status})`}${said}.`, { cause: error });
}

/** The server's own words, when it gave any: one line, short, no known credential in it. */
function serverText(e: SdkError, env: NodeJS.ProcessEnv): string {
  const text = e.message;
  if (text === undefined || text === '' || text === 'UnknownError' || text === e.name) return '';
  return `: ${cutShort(redactSecrets(text, env), 160)}`;
}

/** Every credential and key this process was given, blanked out of a text that came from outside. */
export function redactSecrets(text: string, env: NodeJS.ProcessEnv): string {
  let out = text;
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'DBOPS_ENCRYPTION_KEY']) {
    const value = env[name] ?? process.env[name];
    if (value !== undefined && value.length >= 4) out = out.split(value).join('[redacted]');
  }
  return out;
}
