import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Remote } from './resolve-remote.js';

// One S3 client per remote operation, configured in this one place.
//
// Credentials: only the AWS SDK's standard chain. When the engine's environment is not the
// process's own (tests, an embedding program), its AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/
// AWS_SESSION_TOKEN are handed over exactly as the chain's first link (fromEnv) would read
// them; everything else (AWS_PROFILE, ~/.aws, SSO, web identity, instance roles) is the SDK's
// own default provider. No credential is ever read from dbops.config.yaml.

export interface ClientOptions {
  /** Attempts per request (the SDK's standard retry with backoff); default 5. */
  maxAttempts?: number;
  /** For tests of a skewed clock: milliseconds added to this machine's time when signing. */
  clockOffsetMs?: number;
}

export function createS3Client(remote: Remote, env: NodeJS.ProcessEnv, options: ClientOptions = {}): S3Client {
  // The pinned SDK warns on stderr, once per process, that its releases after January 2027 need
  // node 22. The engine never prints: the pin is deliberate (see package.json's commit), and a
  // user's output is not the place for it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config: S3ClientConfig = {
    region: remote.region,
    forcePathStyle: remote.pathStyle,
    // dbops authenticates every byte itself (AES-GCM per chunk, sha256 per file), so the SDK's
    // default CRC32 adds nothing — and on a stream body it switches to aws-chunked uploads with
    // a trailing checksum, which radosgw, MinIO releases and other S3-compatible servers refuse
    // (411 MissingContentLength). Checksums are sent where S3 requires them (DeleteObjects).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A dropped connection is retried with backoff; after the last attempt the error names it.
    maxAttempts: options.maxAttempts ?? 5,
    requestHandler: { connectionTimeout: 10_000, socketTimeout: 120_000 },
  };
  if (remote.endpoint !== undefined) config.endpoint = remote.endpoint;
  if (remote.profile !== undefined) config.profile = remote.profile;
  if (options.clockOffsetMs !== undefined) config.systemClockOffset = options.clockOffsetMs;
  if (env !== process.env && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    config.credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  }
  return new S3Client(config);
}
