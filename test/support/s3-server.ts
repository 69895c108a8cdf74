import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { afterAll } from 'vitest';
import { PROJECT_ROOT } from './databases.js';

// A real S3 server for the off-site copy tests: Ceph's RADOS Gateway from ../shared/tools/s3-server.
// .ci/run starts one and exports S3_ENDPOINT & co.; without them, a test file starts its own
// (and stops it after). Where it cannot start, the tests are skipped with the reason — except
// under CI=true, where a missing server fails the run: CI must never pass by skipping these.

export interface S3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export const S3_TOOL = path.resolve(PROJECT_ROOT, '../shared/tools/s3-server');

export type S3Availability = { server: S3Server; skip: undefined } | { server: undefined; skip: string };

/** Call at the top level of a test file (top-level await): the server, or why there is none. */
export async function s3ServerForTests(): Promise<S3Availability> {
  const fromEnv = serverFromEnv(process.env);
  if (fromEnv) return { server: fromEnv, skip: undefined };
  const reason = await startOwnServer().catch((error: unknown) => (error as Error).message.split('\n').slice(-3).join(' '));
  if (typeof reason !== 'string') return { server: reason, skip: undefined };
  if (process.env.CI === 'true') throw new Error(`CI must run the S3 tests, and no S3 server could be started: ${reason}`);
  return { server: undefined, skip: `no S3 server (set S3_ENDPOINT/S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY or let ${S3_TOOL}/start.sh run): ${reason}` };
}

function serverFromEnv(env: NodeJS.ProcessEnv): S3Server | undefined {
  if (!env.S3_ENDPOINT || !env.S3_ACCESS_KEY_ID || !env.S3_SECRET_ACCESS_KEY) return undefined;
  return { endpoint: env.S3_ENDPOINT, accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY, region: env.S3_REGION ?? 'us-east-1' };
}

async function startOwnServer(): Promise<S3Server> {
  if (!existsSync(path.join(S3_TOOL, 'start.sh'))) throw new Error(`${S3_TOOL}/start.sh is absent (a clone without the shared tools)`);
  const started = await execa('bash', [path.join(S3_TOOL, 'start.sh')], { reject: false, timeout: 300_000 });
  const env: Record<string, string> = {};
  for (const m of String(started.stdout).matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]!] = m[2]!;
  if (env.S3_SERVER_DIR) afterAll(async () => void (await execa('bash', [path.join(S3_TOOL, 'stop.sh'), env.S3_SERVER_DIR!], { reject: false })));
  const server = serverFromEnv(env);
  if (started.exitCode !== 0 || !server) throw new Error(String(started.stderr).trim() || `start.sh exited ${started.exitCode}`);
  return server;
}

export function adminClient(server: S3Server, overrides: Partial<{ accessKeyId: string; secretAccessKey: string }> = {}): S3Client {
  // The pinned SDK's node-22 notice (see s3-client.ts) is not test output either.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: overrides.accessKeyId ?? server.accessKeyId, secretAccessKey: overrides.secretAccessKey ?? server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The environment dbops reads for an inline s3:// remote on this server, plus a fresh key. */
export function remoteEnv(server: S3Server, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_ENDPOINT_URL: server.endpoint,
    AWS_REGION: server.region,
    DBOPS_S3_PATH_STYLE: '1',
    DBOPS_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    ...extra,
  };
}

/** Buckets made for one test file, emptied (every version, every open upload) and removed after it. */
export function useBuckets(server: S3Server | undefined): (options?: { objectLock?: boolean }) => Promise<string> {
  const made: string[] = [];
  afterAll(async () => {
    if (!server) return;
    const s3 = adminClient(server);
    for (const bucket of made) await removeBucket(s3, bucket).catch(() => undefined);
    s3.destroy();
  });
  return async (options = {}) => {
    const s3 = adminClient(server!);
    const bucket = `dbops-t-${randomBytes(5).toString('hex')}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ...(options.objectLock ? { ObjectLockEnabledForBucket: true } : {}) }));
    s3.destroy();
    made.push(bucket);
    return bucket;
  };
}

async function removeBucket(s3: S3Client, bucket: string): Promise<void> {
  for (const u of (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }));
  }
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  const all = [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
  for (let i = 0; i < all.length; i += 1000) {
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, BypassGovernanceRetention: true, Delete: { Objects: all.slice(i, i + 1000), Quiet: true } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/** Every object of a bucket: key, size and (when `bodies`) its bytes as stored. */
export async function bucketObjects(server: S3Server, bucket: string, bodies = false): Promise<Array<{ key: string; size: number; body?: Buffer }>> {
  const s3 = adminClient(server);
  try {
    const out: Array<{ key: string; size: number; body?: Buffer }> = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const body = bodies
          ? Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }))).Body!.transformToByteArray())
          : undefined;
        out.push({ key: o.Key!, size: o.Size ?? 0, ...(body ? { body } : {}) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  } finally {
    s3.destroy();
  }
}

export async function openUploads(server: S3Server, bucket: string): Promise<number> {
  const s3 = adminClient(server);
  try {
    return ((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).length;
  } finally {
    s3.destroy();
  }
}

/** One object's bytes as stored. */
export async function getRaw(server: S3Server, bucket: string, key: string): Promise<Buffer> {
  const s3 = adminClient(server);
  try {
    return Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
  } finally {
    s3.destroy();
  }
}

/** Overwrites one object with other bytes, as damage or a tamperer would. */
export async function putRaw(server: S3Server, bucket: string, key: string, body: Buffer): Promise<void> {
  const s3 = adminClient(server);
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  } finally {
    s3.destroy();
  }
}
