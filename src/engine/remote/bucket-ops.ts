import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DbopsError } from '../errors.js';
import { remoteRootKey } from './remote-paths.js';
import type { RemoteSession } from './remote-session.js';
import { remoteError } from './s3-errors.js';

// The few bucket calls the remote operations share, each with its failure mapped to an error
// code (s3-errors.ts). Listings are paginated; nothing here holds more than one page or one
// small object in memory.

export interface ListedObject {
  key: string;
  size: number;
  modifiedAt: Date;
}

async function call<T>(session: RemoteSession, step: string, work: (client: S3Client) => Promise<T>): Promise<T> {
  try {
    return await work(session.client);
  } catch (error) {
    throw remoteError(error, session.remote, step, session.env);
  }
}

/**
 * A missing bucket, wrong credentials, a skewed clock or an unreachable endpoint, said up front.
 * A one-key listing rather than HeadBucket: a HEAD answer has no body, so every refusal is a bare
 * 403 there, while a listing's error names its cause (SignatureDoesNotMatch, RequestTimeTooSkewed…),
 * and listing is a right every remote operation needs anyway.
 */
export async function checkBucket(session: RemoteSession): Promise<void> {
  await call(session, 'checking the bucket', (c) =>
    c.send(new ListObjectsV2Command({ Bucket: session.remote.bucket, Prefix: remoteRootKey(session.remote), MaxKeys: 1 }), { abortSignal: session.signal }),
  );
}

/** Whether S3 Object Lock is on: deletes there only add delete markers, the data stays. */
export async function objectLockEnabled(session: RemoteSession): Promise<boolean> {
  try {
    const r = await session.client.send(new GetObjectLockConfigurationCommand({ Bucket: session.remote.bucket }), { abortSignal: session.signal });
    return r.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
  } catch (error) {
    const mapped = remoteError(error, session.remote, "reading the bucket's object lock setting", session.env);
    // No configuration (404) or a server without the call (501) both mean no lock.
    if (mapped.code === 'REMOTE_FAILED') return false;
    throw mapped;
  }
}

/** Every object under a key prefix, page by page. */
export async function* listObjects(session: RemoteSession, prefix: string): AsyncGenerator<ListedObject> {
  let token: string | undefined;
  do {
    const page = await call(session, 'listing', (c) =>
      c.send(new ListObjectsV2Command({ Bucket: session.remote.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: session.signal }),
    );
    for (const o of page.Contents ?? []) {
      if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

/** A small object (the manifest), refused past `max` bytes before it is read; undefined when absent. */
export async function readSmallObject(session: RemoteSession, key: string, max: number): Promise<Buffer | undefined> {
  try {
    const r = await session.client.send(new GetObjectCommand({ Bucket: session.remote.bucket, Key: key }), { abortSignal: session.signal });
    if ((r.ContentLength ?? 0) > max) {
      r.Body?.transformToWebStream()
        .cancel()
        .catch(() => undefined);
      throw new DbopsError('REMOTE_CORRUPT', `${key} is ${r.ContentLength} bytes, more than a manifest may be (${max}).`);
    }
    return Buffer.from(await r.Body!.transformToByteArray());
  } catch (error) {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NoSuchKey' || (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket')) return undefined;
    throw remoteError(error, session.remote, `reading ${key}`, session.env);
  }
}

/** Deletes keys, up to 1000 per request; a key the server would not delete is an error. */
export async function deleteKeys(session: RemoteSession, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const r = await call(session, 'deleting', (c) =>
      c.send(new DeleteObjectsCommand({ Bucket: session.remote.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }), {
        abortSignal: session.signal,
      }),
    );
    const failed = r.Errors ?? [];
    if (failed.length > 0) {
      throw new DbopsError(
        'REMOTE_FAILED',
        `${session.remote.display}: ${failed.length} object(s) could not be deleted (${failed[0]!.Code ?? 'error'} on ${failed[0]!.Key}).`,
      );
    }
  }
}

/** Aborts multipart uploads left under a prefix (a killed push leaves its parts behind, billed and invisible). */
export async function abortUploads(session: RemoteSession, prefix: string): Promise<number> {
  let aborted = 0;
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  do {
    const page = await call(session, 'listing unfinished uploads', (c) =>
      c.send(new ListMultipartUploadsCommand({ Bucket: session.remote.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: idMarker }), {
        abortSignal: session.signal,
      }),
    );
    for (const u of page.Uploads ?? []) {
      await call(session, 'aborting an unfinished upload', (c) =>
        c.send(new AbortMultipartUploadCommand({ Bucket: session.remote.bucket, Key: u.Key!, UploadId: u.UploadId! }), { abortSignal: session.signal }),
      ).catch((error: DbopsError) => {
        // Gone meanwhile (another run aborted or finished it): what was wanted.
        if (!/NoSuchUpload/.test(error.message)) throw error;
      });
      aborted++;
    }
    [keyMarker, idMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [undefined, undefined];
  } while (keyMarker !== undefined);
  return aborted;
}
