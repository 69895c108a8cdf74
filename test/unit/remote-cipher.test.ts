import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, decryptBuffer, encryptBuffer, encryptedSize, encryptStream, HEADER_BYTES } from '../../src/engine/remote/cipher-stream.js';
import { deriveKeys, loadEncryptionKeys, objectName, parseKey } from '../../src/engine/remote/encryption-key.js';

// The encrypted object format (remote/cipher-stream.ts) without any server: every size
// around the chunk boundary round-trips to exactly its size, and every kind of tampering
// (a flipped byte anywhere, a cut, an added or swapped chunk, another key) is refused.

const keys = deriveKeys(randomBytes(32), 'test key');
const otherKeys = deriveKeys(randomBytes(32), 'other key');

describe('encrypted objects', () => {
  it.each([0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES, 3 * CHUNK_BYTES + 17])(
    '%i bytes round-trip, with the size encryptedSize predicts',
    async (size) => {
      const plain = randomBytes(size);
      const sealed = await encryptBuffer(keys, plain);
      expect(sealed.length).toBe(encryptedSize(size));
      expect((await decryptBuffer(keys, sealed, 'obj')).equals(plain)).toBe(true);
    },
  );

  it('is the same whatever pieces the input arrives in', async () => {
    const plain = randomBytes(2 * CHUNK_BYTES + 5);
    const out: Buffer[] = [];
    const pieces = [7, 70_000, 1, 60_000].reduce<Buffer[]>((acc, n) => [...acc, plain.subarray(acc.reduce((s, b) => s + b.length, 0)).subarray(0, n)], []);
    pieces.push(plain.subarray(pieces.reduce((s, b) => s + b.length, 0)));
    await pipeline(Readable.from(pieces), encryptStream(keys), async function* (src: AsyncIterable<Buffer>) {
      for await (const b of src) out.push(b);
    });
    expect((await decryptBuffer(keys, Buffer.concat(out), 'obj')).equals(plain)).toBe(true);
  });

  it('reveals nothing of the content: the same file encrypts differently each time', async () => {
    const plain = Buffer.alloc(1000, 'a');
    const [a, b] = [await encryptBuffer(keys, plain), await encryptBuffer(keys, plain)];
    expect(a.equals(b)).toBe(false);
    expect(a.includes(Buffer.from('aaaa'))).toBe(false);
  });

  it('refuses a flipped byte anywhere: header, any chunk, any tag', async () => {
    const sealed = await encryptBuffer(keys, randomBytes(2 * CHUNK_BYTES + 100));
    for (const at of [0, 9, 12, 25, HEADER_BYTES, HEADER_BYTES + CHUNK_BYTES + 3, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at] = bad[at]! ^ 0x01;
      await expect(decryptBuffer(keys, bad, 'obj'), `byte ${at}`).rejects.toMatchObject({
        code: expect.stringMatching(/^(REMOTE_CORRUPT|ENCRYPTION_KEY_WRONG)$/),
      });
    }
  });

  it('refuses a cut, a dropped chunk, a swapped pair of chunks and an appended chunk', async () => {
    const sealed = await encryptBuffer(keys, randomBytes(3 * CHUNK_BYTES + 10));
    const c = CHUNK_BYTES + 16;
    const chunks = [0, 1, 2, 3].map((i) => sealed.subarray(HEADER_BYTES + i * c, HEADER_BYTES + (i + 1) * c));
    const head = sealed.subarray(0, HEADER_BYTES);
    const variants = {
      'cut at a chunk boundary': Buffer.concat([head, chunks[0]!, chunks[1]!]),
      'cut inside a chunk': sealed.subarray(0, sealed.length - 5),
      'cut inside the header': sealed.subarray(0, 20),
      'chunk dropped': Buffer.concat([head, chunks[0]!, chunks[2]!, chunks[3]!]),
      'chunks swapped': Buffer.concat([head, chunks[1]!, chunks[0]!, chunks[2]!, chunks[3]!]),
      'chunk appended': Buffer.concat([sealed, chunks[1]!]),
    };
    for (const [name, bad] of Object.entries(variants)) {
      await expect(decryptBuffer(keys, bad, 'obj'), name).rejects.toMatchObject({ code: 'REMOTE_CORRUPT' });
    }
  });

  it('tells a wrong key from damage, naming both key ids and never a key', async () => {
    const sealed = await encryptBuffer(keys, Buffer.from('secret rows'));
    const error = await decryptBuffer(otherKeys, sealed, 'folder/x').catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ENCRYPTION_KEY_WRONG',
      message: `folder/x was encrypted with another key (key id ${keys.keyId}; other key has key id ${otherKeys.keyId}).`,
    });
  });
});

describe('encryption keys', () => {
  it('takes 64 hex characters or base64 of 32 bytes, and refuses anything else without echoing it', () => {
    const raw = randomBytes(32);
    expect(parseKey(raw.toString('hex'), 'K').equals(raw)).toBe(true);
    expect(parseKey(`${raw.toString('base64')}\n`, 'K').equals(raw)).toBe(true);
    expect(parseKey(raw.toString('base64url'), 'K').equals(raw)).toBe(true);
    for (const bad of ['correct horse battery staple', raw.toString('hex').slice(2), randomBytes(16).toString('hex')]) {
      const error = (() => {
        try {
          parseKey(bad, 'DBOPS_ENCRYPTION_KEY');
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error).toMatchObject({ code: 'ENCRYPTION_KEY_INVALID' });
      expect(error!.message).not.toContain(bad.slice(0, 10));
    }
  });

  it('reads a key file only when no one else can read it; a missing key is ENCRYPTION_KEY_MISSING', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dbops-key-'));
    try {
      const file = path.join(dir, 'k');
      const hex = randomBytes(32).toString('hex');
      await writeFile(file, `${hex}\n`, { mode: 0o644 });
      await chmod(file, 0o644);
      expect(() => loadEncryptionKeys({ name: 'r', keyFile: undefined }, { DBOPS_ENCRYPTION_KEY_FILE: file }, dir)).toThrow(
        /can be read by other users \(mode 644\)/,
      );
      await chmod(file, 0o600);
      const fromFile = loadEncryptionKeys({ name: 'r', keyFile: 'k' }, {}, dir);
      expect(fromFile.keyId).toBe(loadEncryptionKeys({ name: 'r', keyFile: undefined }, { DBOPS_ENCRYPTION_KEY: hex }, dir).keyId);
      expect(() => loadEncryptionKeys({ name: 'r', keyFile: undefined }, {}, dir)).toThrow(expect.objectContaining({ code: 'ENCRYPTION_KEY_MISSING' }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names objects by path and content, so a changed file gets a new name and names differ per key', () => {
    const file = { path: 'dump/toc.dat', sha256: 'a'.repeat(64), bytes: 10 };
    expect(objectName(keys, file)).toMatch(/^[0-9a-f]{64}$/);
    expect(objectName(keys, file)).toBe(objectName(keys, { ...file }));
    expect(objectName(keys, { ...file, sha256: 'b'.repeat(64) })).not.toBe(objectName(keys, file));
    expect(objectName(otherKeys, file)).not.toBe(objectName(keys, file));
  });
});
