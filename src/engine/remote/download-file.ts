import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { summingStream } from '../folder/checksums.js';
import { cutShort, DbopsError, isDbopsError } from '../errors.js';
import { decryptStream } from './cipher-stream.js';
import type { RemoteFile } from './remote-manifest.js';
import { fileObjectKey } from './remote-paths.js';
import type { RemoteSession } from './remote-session.js';
import { remoteError } from './s3-errors.js';

// One object, streamed from the bucket through decryption (every 64 KiB chunk authenticated
// before it is written) and a sha256 into its file under the fetch's hidden staging folder.
// A connection dropped mid-body is not something the SDK retries (only whole requests), so the
// file is fetched again from its start, up to ATTEMPTS times.

const ATTEMPTS = 3;

/** The manifest is authenticated, but a path from it still never leaves the folder. */
export function safeRelativePath(file: string): string[] {
  const parts = file.split('/');
  if (file.startsWith('/') || file.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..' || /[\u0000-\u001f]/.test(p))) {
    throw new DbopsError('REMOTE_CORRUPT', `The manifest names a file outside its folder: ${cutShort(file)}.`);
  }
  return parts;
}

export async function downloadFile(session: RemoteSession, folder: string, file: RemoteFile, dir: string, onBytes: (n: number) => void): Promise<void> {
  const to = path.join(dir, ...safeRelativePath(file.path));
  await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
  for (let attempt = 1; ; attempt++) {
    try {
      await downloadOnce(session, folder, file, to, onBytes);
      return;
    } catch (error) {
      if (!(isDbopsError(error) && error.code === 'REMOTE_UNREACHABLE') || attempt >= ATTEMPTS || session.signal?.aborted) throw error;
    }
  }
}

async function downloadOnce(session: RemoteSession, folder: string, file: RemoteFile, to: string, onBytes: (n: number) => void): Promise<void> {
  const what = `${folder}/${file.path}`;
  const step = `downloading ${file.path}`;
  let body: Readable;
  try {
    const r = await session.client.send(new GetObjectCommand({ Bucket: session.remote.bucket, Key: fileObjectKey(session.remote, folder, file.object) }), {
      abortSignal: session.signal,
    });
    body = r.Body as Readable;
  } catch (error) {
    throw remoteError(error, session.remote, step, session.env);
  }
  const summing = summingStream();
  body.on('data', (b: Buffer) => onBytes(b.length));
  try {
    // 'w', not 'wx': a retry writes the same file again from its start.
    await pipeline(body, decryptStream(session.keys, what), summing.stream, createWriteStream(to, { mode: 0o600 }), { signal: session.signal });
  } catch (error) {
    if (isDbopsError(error)) {
      // The manifest opened with this key, so an object that claims another key was altered.
      if (error.code === 'ENCRYPTION_KEY_WRONG')
        throw new DbopsError('REMOTE_CORRUPT', `${what}: its header was changed in the bucket (it names another key than its manifest).`);
      throw error;
    }
    throw remoteError(error, session.remote, step, session.env);
  }
  const got = summing.sum();
  if (got.sha256 !== file.sha256 || got.bytes !== file.bytes) {
    // Authenticated, yet not the file the manifest names: objects were swapped in the bucket.
    throw new DbopsError('REMOTE_CORRUPT', `${what} does not match the sha256 its manifest records: objects were swapped or replaced in the bucket.`);
  }
}
