import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parallelGzip } from '../../src/engine/backup/parallel-gzip.js';
import { libdeflate, type Libdeflate } from '../../src/engine/libdeflate.js';
import { gunzipFile, memberGunzip } from '../../src/engine/restore/member-gunzip.js';

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

async function gunzip(gz: Buffer, piece: number, lib: Libdeflate | null): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < gz.length; at += piece) pieces.push(gz.subarray(at, at + piece));
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), memberGunzip(lib), collect(out));
  return Buffer.concat(out);
}

// null: zlib's gunzip alone (undefined would mean the default, libdeflate where it is built).
const ENGINES: Array<[string, Libdeflate | null]> =
  binding === undefined
    ? [['zlib', null]]
    : [
        ['zlib', null],
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

  it('zero bytes after the last member end the file, as zlib has it (padding), after small members and after a big one', async () => {
    const small = sample(600_000);
    const big = sample(3_000_000);
    for (const [gz, want] of [
      [Buffer.concat([await ours(small), Buffer.alloc(512)]), small],
      [Buffer.concat([gzipSync(big), Buffer.alloc(100)]), big],
      [Buffer.concat([gzipSync(small), Buffer.alloc(1), Buffer.from('ignored after the padding')]), small],
    ] as const) {
      expect(gunzipSync(gz).equals(want)).toBe(true);
      expect((await gunzip(gz, 256 * 1024, lib)).equals(want)).toBe(true);
    }
  });

  it('a member handed to zlib part-way, then zero padding: the file ends (no hang)', async () => {
    // Noise does not compress: past 1 MiB of output, zlib takes over inside a transform().
    const noise = randomBytes(4_000_000);
    const gz = Buffer.concat([gzipSync(noise, { level: 1 }), Buffer.alloc(100)]);
    expect((await gunzip(gz, 256 * 1024, lib)).equals(noise)).toBe(true);
  }, 10_000);

  it('every cut near a member boundary', async () => {
    const parts = [randomBytes(262_144), sample(300_000), randomBytes(100)];
    const members = parts.map((p) => gzipSync(p));
    const gz = Buffer.concat(members);
    const want = Buffer.concat(parts);
    let at = 0;
    for (const m of members) {
      at += m.length;
      for (let d = -12; d <= 12; d += 3) {
        const cut = at + d;
        if (cut <= 0 || cut >= gz.length) continue;
        const out: Buffer[] = [];
        await pipeline(Readable.from([gz.subarray(0, cut), gz.subarray(cut)]), memberGunzip(lib), collect(out));
        expect(Buffer.concat(out).equals(want), `cut at ${cut}`).toBe(true);
      }
    }
  });

  it('a header with its own CRC (FHCRC) is checked: read when right, refused when wrong', async () => {
    const data = sample(50_000);
    const member = (crc16: number | undefined) => {
      const header = Buffer.from([0x1f, 0x8b, 8, 0x02, 0, 0, 0, 0, 0, 3]);
      const hcrc = Buffer.alloc(2);
      hcrc.writeUInt16LE(crc16 ?? crc32(header) & 0xffff);
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(crc32(data), 0);
      trailer.writeUInt32LE(data.length, 4);
      return Buffer.concat([header, hcrc, deflateRawSync(data), trailer]);
    };
    expect((await gunzip(member(undefined), 10_000, lib)).equals(data)).toBe(true);
    await expect(gunzip(member(0x1234), 10_000, lib)).rejects.toThrow(/header crc mismatch/);
  });

  it('many tiny members (one per line, as some writers append them) read as zlib reads them', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => Buffer.from(`${i},"row ${i}"\n`));
    const gz = Buffer.concat(lines.map((line) => gzipSync(line)));
    expect((await gunzip(gz, 4096, lib)).equals(Buffer.concat(lines))).toBe(true);
  });

  it('waits for its reader: with nobody reading, it holds about one member of output', async () => {
    // Rows that repeat compress ~200:1, so a 256 KiB read holds ~100 members.
    const row = Buffer.from('42,"active","2024-01-01 00:00:00+00",t,f,\\N\n');
    const text = Buffer.alloc(60 * 1024 * 1024);
    for (let at = 0; at < text.length; at += row.length) row.copy(text, at);
    const gz = await ours(text);
    const stream = memberGunzip(lib);
    Readable.from([gz]).pipe(stream);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stream.readableLength).toBeLessThan(2 * 1024 * 1024);
    stream.destroy();
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

describe.each(ENGINES)('gunzipFile with %s', (_name, lib) => {
  // It reads the file into two buffers it fills again as soon as the gunzip has taken their
  // bytes: anything that kept a view of one would come back as later bytes, so these compare
  // every byte of files many reads long, members crossing reads anywhere.
  const withFile = async (bytes: Buffer, test: (file: string) => Promise<void>) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dbops-gunzip-file-'));
    try {
      const file = path.join(dir, 'table.csv.gz');
      await writeFile(file, bytes);
      await test(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const read = async (file: string) => {
    const out: Buffer[] = [];
    await pipeline(gunzipFile(file, lib), collect(out));
    return Buffer.concat(out);
  };

  it.each([
    ['a dbops CSV', async (input: Buffer) => ours(input)],
    ['one gzip stream', async (input: Buffer) => gzipSync(input)],
    ['small members, then one big member', async (input: Buffer) => Buffer.concat([await ours(input.subarray(0, 700_000)), gzipSync(input.subarray(700_000))])],
  ])('%s comes back byte for byte', async (_case, write) => {
    const input = Buffer.concat([sample(2_500_000), randomBytes(300_000), sample(1_000_000)]);
    await withFile(await write(input), async (file) => expect((await read(file)).equals(input)).toBe(true));
  });

  it('a damaged file, an empty one and a missing one are refused', async () => {
    const gz = Buffer.from(await ours(sample(2_000_000)));
    for (let at = 600_000; at < 600_064; at++) gz[at] = gz[at]! ^ 0x5a;
    await withFile(gz, async (file) => expect(read(file)).rejects.toThrow());
    await withFile(Buffer.alloc(0), async (file) => expect(read(file)).rejects.toThrow(/unexpected end of file/));
    await expect(read(path.join(tmpdir(), 'dbops-no-such-dir', 'x.csv.gz'))).rejects.toThrow(/ENOENT/);
  });

  it('stops reading when its reader stops (the file is let go, nothing fails later)', async () => {
    await withFile(await ours(sample(6_000_000)), async (file) => {
      const stream = gunzipFile(file, lib);
      const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
      expect(first.length).toBeGreaterThan(0);
      stream.destroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(stream.destroyed).toBe(true);
    });
  });
});

/** CRC-32 as gzip's header and trailer carry it. */
function crc32(data: Buffer): number {
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

describe.runIf(binding !== undefined)('memberGunzip with libdeflate', () => {
  it('inflates every member of a dbops CSV itself, without falling back to zlib', async () => {
    const input = sample(3_000_000);
    const gz = await ours(input);
    const probe = counting(binding!);
    expect((await gunzip(gz, 100_000, probe.binding)).equals(input)).toBe(true);
    // 3 000 000 bytes in 256 KiB blocks.
    expect(probe.members()).toBe(Math.ceil(3_000_000 / (256 * 1024)));
  });

  it('members of exactly 256 KiB and of exactly 1 MiB are its own', async () => {
    const a = randomBytes(256 * 1024);
    const b = randomBytes(1024 * 1024);
    const probe = counting(binding!);
    const gz = Buffer.concat([gzipSync(a), gzipSync(b), gzipSync(Buffer.from('end'))]);
    expect((await gunzip(gz, 256 * 1024, probe.binding)).equals(Buffer.concat([a, b, Buffer.from('end')]))).toBe(true);
    expect(probe.members()).toBe(3);
  });

  it('leaves files of tiny members to zlib after the first, rather than one thread round trip per member', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => Buffer.from(`${i}\n`));
    const probe = counting(binding!);
    expect((await gunzip(Buffer.concat(lines.map((l) => gzipSync(l))), 64 * 1024, probe.binding)).equals(Buffer.concat(lines))).toBe(true);
    expect(probe.members()).toBe(1);
  });
});
