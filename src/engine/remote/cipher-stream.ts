import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import { DbopsError } from '../errors.js';
import type { EncryptionKeys } from './encryption-key.js';

// The encrypted form of every object dbops puts in a bucket. Why this format:
// - node:crypto's AES-256-GCM only, no new dependency: OpenSSL's AEAD, hardware-accelerated,
//   and authenticated — unlike pgBackRest's aes-256-cbc, a changed byte cannot go unnoticed.
// - Chunked (64 KiB) in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015; the
//   shape of age's payload and Tink's AES-GCM-HKDF streaming AEAD): each chunk carries its own
//   tag and is verified before a byte of it is written, memory is one chunk at any file size,
//   and the nonce holds the chunk's number and a last-chunk flag, so reordered, dropped or
//   appended chunks and a truncated object all fail authentication.
// - A random 32-byte salt per object gives each object its own key (HKDF), so counter nonces
//   never repeat under one key, with no limit on how many objects one master key encrypts.
// - The header is authenticated data of every chunk, and carries the key id in the clear, so a
//   wrong key is one clear error (ENCRYPTION_KEY_WRONG) and never mistaken for damage.
// age itself was the alternative: its Node package is built around X25519 recipients and
// scrypt passphrases, and would have been a dependency for what these 100 lines do with
// primitives Node already ships.
//
// Layout: header (52 bytes) = "DBOPSENC" | version 1 | log2(chunk size) = 16 | 2 reserved zero bytes
//         | key id (8) | salt (32); then chunks, each ciphertext || 16-byte tag. An empty file
//         is one empty final chunk. Nonce (12) = chunk number (u64 BE) | 3 zero bytes | 1 if last.

const MAGIC = Buffer.from('DBOPSENC', 'ascii');
const VERSION = 1;
const CHUNK_LOG2 = 16;
export const CHUNK_BYTES = 1 << CHUNK_LOG2;
export const HEADER_BYTES = 52;
const TAG_BYTES = 16;

/** The exact size of a file's encrypted object: what a listing is checked against. */
export function encryptedSize(plainBytes: number): number {
  return HEADER_BYTES + plainBytes + TAG_BYTES * Math.max(1, Math.ceil(plainBytes / CHUNK_BYTES));
}

function objectKey(keys: EncryptionKeys, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', keys.fileKey, salt, 'dbops remote v1 object', 32));
}

function nonce(index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 0);
  n[11] = last ? 1 : 0;
  return n;
}

function sealChunk(key: Buffer, header: Buffer, index: number, last: boolean, plain: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce(index, last));
  cipher.setAAD(header);
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** Encrypts whatever flows through it into one object. */
export function encryptStream(keys: EncryptionKeys): Transform {
  const salt = randomBytes(32);
  const header = Buffer.concat([MAGIC, Buffer.from([VERSION, CHUNK_LOG2, 0, 0]), Buffer.from(keys.keyId, 'hex'), salt]);
  const key = objectKey(keys, salt);
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  let started = false;
  const start = (stream: Transform) => {
    if (!started) stream.push(header);
    started = true;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      start(this);
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      // Strictly more than a chunk: the last full chunk waits, as only the end says it is the last.
      while (pending.length > CHUNK_BYTES) {
        this.push(sealChunk(key, header, index++, false, pending.subarray(0, CHUNK_BYTES)));
        pending = pending.subarray(CHUNK_BYTES);
      }
      done();
    },
    flush(done) {
      start(this);
      this.push(sealChunk(key, header, index++, true, pending));
      done();
    },
  });
}

/** Encrypts a small buffer (the remote manifest) in the same format. */
export async function encryptBuffer(keys: EncryptionKeys, plain: Buffer): Promise<Buffer> {
  return collect(encryptStream(keys), plain);
}

export async function decryptBuffer(keys: EncryptionKeys, sealed: Buffer, what: string): Promise<Buffer> {
  return collect(decryptStream(keys, what), sealed);
}

async function collect(stream: Transform, input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  stream.on('data', (b: Buffer) => out.push(b));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  stream.end(input);
  await ended;
  return Buffer.concat(out);
}

/** The key id an object was encrypted with, read from its header (undefined: not our format). */
export function headerKeyId(header: Buffer): string | undefined {
  if (header.length < HEADER_BYTES || !header.subarray(0, 8).equals(MAGIC)) return undefined;
  return header.subarray(12, 20).toString('hex');
}

/**
 * Decrypts one object, verifying every chunk before passing it on. `what` names the object in
 * errors. A wrong key is ENCRYPTION_KEY_WRONG; anything else that fails is REMOTE_CORRUPT.
 */
export function decryptStream(keys: EncryptionKeys, what: string): Transform {
  let pending: Buffer = Buffer.alloc(0);
  let header: Buffer | undefined;
  let key: Buffer | undefined;
  let index = 0;
  const corrupt = (why: string) => new DbopsError('REMOTE_CORRUPT', `${what} ${why}: it was changed or damaged in the bucket.`);
  const open = (last: boolean, sealed: Buffer): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', key!, nonce(index, last));
    decipher.setAAD(header!);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
      index++;
      return plain;
    } catch {
      throw corrupt(`fails authentication at byte ${HEADER_BYTES + index * (CHUNK_BYTES + TAG_BYTES)}`);
    }
  };
  const readHeader = () => {
    const h = pending.subarray(0, HEADER_BYTES);
    if (!h.subarray(0, 8).equals(MAGIC)) throw corrupt('is not a dbops encrypted object');
    if (h[8] !== VERSION || h[9] !== CHUNK_LOG2 || h[10] !== 0 || h[11] !== 0) throw corrupt(`has an unknown format (version ${h[8]})`);
    const keyId = headerKeyId(h)!;
    if (keyId !== keys.keyId) {
      throw new DbopsError('ENCRYPTION_KEY_WRONG', `${what} was encrypted with another key (key id ${keyId}; ${keys.source} has key id ${keys.keyId}).`);
    }
    header = Buffer.from(h);
    key = objectKey(keys, header.subarray(20, 52));
    pending = pending.subarray(HEADER_BYTES);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        if (header === undefined && pending.length >= HEADER_BYTES) readHeader();
        while (header !== undefined && pending.length > CHUNK_BYTES + TAG_BYTES) {
          this.push(open(false, pending.subarray(0, CHUNK_BYTES + TAG_BYTES)));
          pending = pending.subarray(CHUNK_BYTES + TAG_BYTES);
        }
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done) {
      try {
        if (header === undefined && pending.length >= HEADER_BYTES) readHeader();
        if (header === undefined || pending.length < TAG_BYTES) throw corrupt('is cut short');
        this.push(open(true, pending));
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
}
