import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { libdeflate } from '../../src/engine/libdeflate.js';
import { parallelGzip, type ParallelGzipOptions } from '../../src/engine/backup/parallel-gzip.js';

// The CSV exports' gzip: blocks deflated on several threads, written as consecutive gzip members
// in input order. Whatever the sizes, what comes out must decompress to exactly what went in, with
// Node's gunzip (the restore) and with gzip -dc (restore.sh). Every case runs with zlib and,
// where its binding is built (npm run build with libdeflate-dev installed), with libdeflate.

const ENGINES: ReadonlyArray<NonNullable<ParallelGzipOptions['engine']>> = libdeflate() === undefined ? ['zlib'] : ['zlib', 'libdeflate'];

/** Text with repeats (so deflate finds matches) and random runs (so blocks differ). */
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

async function compress(input: Buffer, pieceBytes: number, options: ParallelGzipOptions): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < input.length; at += pieceBytes) pieces.push(input.subarray(at, at + pieceBytes));
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    parallelGzip(options),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        out.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(out);
}

/** Members in the file: zlib writes the same 10-byte header for each (no name, no time), which
 * 10 bytes of deflate output all but never repeat by chance. */
function memberCount(gz: Buffer): number {
  const header = gz.subarray(0, 10);
  let members = 0;
  for (let at = gz.indexOf(header); at !== -1; at = gz.indexOf(header, at + 1)) members++;
  return members;
}

describe.each(ENGINES)('parallelGzip with %s', (engine) => {
  it.each([
    ['nothing at all', 0, 1000],
    ['one byte', 1, 1000],
    ['less than a block', 700, 1000],
    ['exactly one block', 1000, 1000],
    ['one block and a byte', 1001, 1000],
    ['many blocks from odd pieces', 50_123, 777],
  ])('%s: gunzip gives back exactly the input', async (_name, bytes, block) => {
    const input = sample(bytes);
    const gz = await compress(input, 333, { level: 1, blockBytes: block, deflaters: 3, engine });
    expect(gunzipSync(gz).equals(input)).toBe(true);
  });

  it('writes one member per block, in input order, that gzip -dc reads as one file', async () => {
    const input = sample(20_000);
    const gz = await compress(input, 500, { level: 6, blockBytes: 4000, deflaters: 2, engine });
    // 20 000 bytes in 500-byte pieces: a member is cut once 4 000 bytes are in.
    expect(memberCount(gz)).toBe(5);
    expect(execFileSync('gzip', ['-dc'], { input: gz }).equals(input)).toBe(true);
  });

  it('keeps the order when later blocks finish first (one deflater per block, big and small)', async () => {
    // Incompressible blocks take longer than repetitive ones: with several in flight, the threads
    // finish out of order; the file must not.
    const blocks = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? randomBytes(64 * 1024) : Buffer.alloc(64 * 1024, i)));
    const input = Buffer.concat(blocks);
    const gz = await compress(input, 64 * 1024, { level: 9, blockBytes: 64 * 1024, deflaters: 4, engine });
    expect(gunzipSync(gz).equals(input)).toBe(true);
  });

  it('with its own defaults (256 KiB blocks, 3 deflaters): one piece spanning many blocks, then a slow reader', async () => {
    const input = sample(1_900_000);
    const out: Buffer[] = [];
    await pipeline(
      Readable.from([input.subarray(0, 1_500_000), input.subarray(1_500_000)]),
      parallelGzip({ level: 1, engine }),
      new Writable({
        highWaterMark: 1024,
        write(chunk: Buffer, _encoding, done) {
          out.push(chunk);
          setTimeout(done, 2);
        },
      }),
    );
    expect(gunzipSync(Buffer.concat(out)).equals(input)).toBe(true);
  });

  // A failure anywhere in the pipeline destroys the stream while members are being deflated:
  // the pipeline must reject with that failure and nothing may throw later from zlib's callbacks
  // (an exception there would end the whole process, not just the export).
  describe('when the pipeline fails part-way, it rejects and nothing is thrown afterwards', () => {
    const busySource = (failAfter?: number) => {
      let pieces = 0;
      return new Readable({
        read() {
          pieces++;
          if (failAfter !== undefined && pieces > failAfter) this.destroy(new Error('the COPY broke'));
          else this.push(randomBytes(64 * 1024));
        },
      });
    };
    const sink = (fail?: () => Error) =>
      new Writable({
        write(_chunk, _encoding, done) {
          done(fail?.());
        },
      });
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);

    it.each([
      ['the source fails', () => pipeline(busySource(40), parallelGzip({ level: 6, engine }), sink()), /the COPY broke/],
      [
        'the file cannot be written (a full disk)',
        () =>
          pipeline(
            busySource(),
            parallelGzip({ level: 6, engine }),
            sink(() => Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })),
          ),
        /ENOSPC/,
      ],
      ['the backup is interrupted', () => pipeline(busySource(), parallelGzip({ level: 6, engine }), sink(), { signal: AbortSignal.timeout(30) }), /aborted/],
    ])('%s', async (_name, run, reason) => {
      process.on('uncaughtException', record);
      try {
        await expect(run()).rejects.toThrow(reason);
        // zlib's callbacks for the members in flight come after the rejection.
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(uncaught).toEqual([]);
      } finally {
        process.off('uncaughtException', record);
      }
    });
  });

  it('a bad level is refused when the stream is made, before anything is written', () => {
    for (const level of [12, 10, -2, 1.5]) expect(() => parallelGzip({ level, engine }), String(level)).toThrow(RangeError);
  });
});
