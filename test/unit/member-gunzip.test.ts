import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parallelGzip } from '../../src/engine/backup/parallel-gzip.js';
import { libdeflate, type Libdeflate } from '../../src/engine/libdeflate.js';
import { memberGunzip } from '../../src/engine/restore/member-gunzip.js';

// The restore's gunzip: dbops's own CSVs (many small members) inflated member by member by
// libdeflate where it is built, anything else through zlib from the point libdeflate stops. Every
// file must come back byte for byte, and every file zlib refuses must still be refused.

const binding = libdeflate();

/** Text with repeats and random runs, as parallel-gzip.test.ts makes it. */
function sample(bytes: number): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const part = i % 3 === 0 ? randomBytes(97) : Buffer.from(`${i},"row ${i % 50}",text text text ${i % 7}\n`);
    parts.push(part);
    n += part.length;
  }
  return Buffer.concat(parts).subarray(0, bytes);
}

async function ours(input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from([input]), parallelGzip({ level: 1 }), collect(out));
  return Buffer.concat(out);
}

function collect(out: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.push(chunk);
      done();
    },
  });
}

/** Counts what reached libdeflate and what it inflated. */
function counting(lib: Libdeflate): { binding: Libdeflate; members: () => number } {
  let members = 0;
  return {
    binding: {
      ...lib,
      gunzip: async (input, output) => {
        const result = await lib.gunzip(input, output);
        if (result[0] === 0) members++;
        return result;
      },
    },
    members: () => members,
  };
}

async function gunzip(gz: Buffer, piece: number, lib: Libdeflate | undefined): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < gz.length; at += piece) pieces.push(gz.subarray(at, at + piece));
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), memberGunzip(lib), collect(out));
  return Buffer.concat(out);
}

const ENGINES: Array<[string, Libdeflate | undefined]> =
  binding === undefined
    ? [['zlib', undefined]]
    : [
        ['zlib', undefined],
        ['libdeflate', binding],
      ];

describe.each(ENGINES)('memberGunzip with %s', (_name, lib) => {
  it.each([
    ['one byte', 1, 1000],
    ['less than a member', 100_000, 64 * 1024],
    ['many members, pieces cutting them anywhere', 3_000_000, 77_777],
    ['many members, one piece', 3_000_000, 10_000_000],
  ])('dbops CSVs (%s) come back byte for byte', async (_case, bytes, piece) => {
    const input = sample(bytes);
    expect((await gunzip(await ours(input), piece, lib)).equals(input)).toBe(true);
  });

  it('a file written by one gzip stream (one big member), alone or after small members', async () => {
    const big = sample(3_000_000);
    expect((await gunzip(gzipSync(big), 64 * 1024, lib)).equals(big)).toBe(true);
    const head = sample(600_000);
    const mixed = Buffer.concat([await ours(head), gzipSync(big)]);
    expect((await gunzip(mixed, 100_000, lib)).equals(Buffer.concat([head, big]))).toBe(true);
  });

  it('a big member that barely compresses (more than 8 MB before its end)', async () => {
    const noise = randomBytes(9 * 1024 * 1024);
    expect((await gunzip(gzipSync(noise, { level: 1 }), 256 * 1024, lib)).equals(noise)).toBe(true);
  });

  it.each([
    ['an empty file', () => Promise.resolve(Buffer.alloc(0)), /unexpected end of file/],
    ['a file cut short', async () => (await ours(sample(2_000_000))).subarray(0, 700_000), /unexpected end of file/],
    ['trailing bytes that are not gzip', async () => Buffer.concat([await ours(sample(500_000)), Buffer.from('not gzip at all')]), /incorrect header check/],
    [
      'a damaged member',
      async () => {
        const gz = Buffer.from(await ours(sample(2_000_000)));
        for (let at = 400_000; at < 400_064; at++) gz[at] = gz[at]! ^ 0x5a;
        return gz;
      },
      /./,
    ],
  ])('%s is refused', async (_case, make, reason) => {
    await expect(gunzip(await make(), 64 * 1024, lib)).rejects.toThrow(reason);
  });
});

describe.runIf(binding !== undefined)('memberGunzip with libdeflate', () => {
  it('inflates every member of a dbops CSV itself, without falling back to zlib', async () => {
    const input = sample(3_000_000);
    const gz = await ours(input);
    const probe = counting(binding!);
    expect((await gunzip(gz, 100_000, probe.binding)).equals(input)).toBe(true);
    // 3 000 000 bytes in 256 KiB blocks.
    expect(probe.members()).toBe(Math.ceil(3_000_000 / (256 * 1024)));
  });
});
