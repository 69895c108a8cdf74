import { createReadStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Upload } from '@aws-sdk/lib-storage';
import { summingStream, type FileSum } from '../folder/checksums.js';
import { DbopsError, toDbopsError } from '../errors.js';
import { encryptStream } from './cipher-stream.js';
import { deleteKeys } from './bucket-ops.js';
import type { RemoteSession } from './remote-session.js';
import { remoteError } from './s3-errors.js';

// One file of a backup, read, summed and encrypted on its way into one object: a multipart
// upload of 8 MiB parts, 4 in flight, so memory is at most 32 MiB per file at any size (the SDK
// must hold a part to retry it). A file that changed since it was summed is not kept: its
// object name promises that content, and a resumed push would trust it.

export const PART_BYTES = 8 * 1024 * 1024;
export const PARTS_IN_FLIGHT = 4;

export interface UploadTarget {
  file: string;
  /** "dump/toc.dat", for messages. */
  path: string;
  key: string;
  expected: FileSum;
}

export async function uploadFile(session: RemoteSession, target: UploadTarget, onBytes: (n: number) => void): Promise<void> {
  const summing = summingStream();
  const body = new PassThrough({ highWaterMark: PART_BYTES });
  const reading = pipeline(createReadStream(target.file), summing.stream, encryptStream(session.keys), body);
  const upload = new Upload({
    client: session.client,
    params: {
      Bucket: session.remote.bucket,
      Key: target.key,
      Body: body,
      ContentType: 'application/octet-stream',
      ...(session.remote.storageClass === undefined ? {} : { StorageClass: session.remote.storageClass as never }),
    },
    partSize: PART_BYTES,
    queueSize: PARTS_IN_FLIGHT,
    // On failure the SDK aborts the multipart upload: no parts are left billed and invisible.
    leavePartsOnError: false,
  });
  let sent = 0;
  upload.on('httpUploadProgress', (p) => {
    if (p.loaded !== undefined && p.loaded > sent) {
      onBytes(p.loaded - sent);
      sent = p.loaded;
    }
  });
  const stop = () => void upload.abort().catch(() => undefined);
  session.signal?.addEventListener('abort', stop, { once: true });
  try {
    // A failed upload stops reading the file (else the pipeline would wait on it for ever).
    const sending = upload.done().catch((error: unknown) => {
      body.destroy();
      throw error;
    });
    const [read, sent] = await Promise.allSettled([reading, sending]);
    // A local read error (the file vanished, a disk error) is the cause whichever side saw it first.
    const readError = read.status === 'rejected' && (read.reason as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE' ? read.reason : undefined;
    if (readError !== undefined) throw toDbopsError(readError);
    if (sent.status === 'rejected') throw remoteError(sent.reason, session.remote, `uploading ${target.path}`, session.env);
  } finally {
    session.signal?.removeEventListener('abort', stop);
  }
  const got = summing.sum();
  if (got.sha256 !== target.expected.sha256 || got.bytes !== target.expected.bytes) {
    await deleteKeys(session, [target.key]);
    throw new DbopsError(
      'BACKUP_CORRUPT',
      `${target.path} changed while it was pushed (its sha256 no longer matches the backup's); the copy of it was removed.`,
    );
  }
}
