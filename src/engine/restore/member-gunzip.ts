import { open } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { DEFAULT_BLOCK } from '../backup/parallel-gzip.js';
import { LIBDEFLATE_BAD_DATA, LIBDEFLATE_INSUFFICIENT_SPACE, LIBDEFLATE_SUCCESS, libdeflate, type Libdeflate } from '../libdeflate.js';

// Reads a .csv.gz back for the restore. The CSVs dbops writes are gzip members of 256 KiB of CSV
// each, the last one shorter (backup/parallel-gzip.ts); where the libdeflate binding is built,
// each member is inflated whole by libdeflate on libuv's threads, at about half zlib's CPU time.
// Anything not laid out that way goes on through zlib's streaming gunzip from that point, so
// what zlib reads reads the same and what it refuses is refused with its message: a member that
// inflates to more than a megabyte (a CSV written by one gzip stream, as older backups are), 8 MB
// of input without a whole member, a short member that is not the last (tiny members, as log
// writers append them: one thread round trip each would be slow), a header with its own CRC (which
// libdeflate does not check), data libdeflate cannot read. After a member, zero bytes end the file
// and the rest is ignored, as zlib does (padding). Output waits for the reader (backpressure),
// through libdeflate and zlib alike. One known difference, for crafted input only: libdeflate
// decodes a Huffman code of one symbol through either codeword where zlib refuses the unused
// one ("invalid distance code"); the member's CRC-32 and length are still checked, so what is
// read is what its writer meant.

// Room for one member's output: a fresh buffer of a dbops member's size, handed on as it is (no
// copy: 225 MB of copies were a third of the main thread's time), and one of a megabyte for a
// member that needs more, kept for the file and copied out of.
const MEMBER = DEFAULT_BLOCK;
const ROOM = 1024 * 1024;
// A member is tried once this much input is held (twice that after a try that needed more),
// so a big member is not re-inflated from its start for every piece that arrives.
const FIRST_TRY = 320 * 1024;
// Beyond this much input without a whole member, the file is not made of small members.
const GIVE_UP = 8 * 1024 * 1024;
const CHUNK = 256 * 1024;
// Input is copied into one buffer kept for the file (what is left of a member moved to its front
// as the next piece arrives) rather than each piece joined to the rest in a fresh one: on the
// bench's restore those joins were 264 MB of short-lived buffers, which V8 collects with full
// collections once enough of them are waiting (28 in one restore, measured with --trace-gc).
const HOLD = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
const FHCRC = 0x02;

/**
 * A .csv.gz read back, as a stream of its text. The file is read into two buffers in turn, each
 * filled again once the gunzip has taken its bytes (its write callback), so reading it allocates
 * nothing per piece: on the bench's restore, a fresh buffer per read was 130 MB of short-lived
 * buffers. A read error ends the stream with that error.
 */
export function gunzipFile(file: string, binding: Libdeflate | null = libdeflate() ?? null): Readable {
  const gunzip = memberGunzip(binding);
  feed(file, gunzip).catch((error: unknown) => gunzip.destroy(error as Error));
  return gunzip;
}

async function feed(file: string, into: Transform): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const pieces = [Buffer.allocUnsafeSlow(CHUNK), Buffer.allocUnsafeSlow(CHUNK)];
    // Settled with the write's error rather than rejected: the other one may fail unawaited.
    const taken: Array<Promise<Error | null | undefined>> = [Promise.resolve(null), Promise.resolve(null)];
    let position = 0;
    for (let turn = 0; ; turn ^= 1) {
      // A failed write has destroyed the stream already, with its own error.
      if ((await taken[turn]) != null || into.destroyed) return;
      const { bytesRead } = await handle.read(pieces[turn]!, 0, CHUNK, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      taken[turn] = new Promise((resolve) => into.write(pieces[turn]!.subarray(0, bytesRead), resolve));
    }
    if ((await Promise.all(taken)).some((error) => error != null) || into.destroyed) return;
    into.end();
  } finally {
    await handle.close();
  }
}

/** `null`: zlib's gunzip alone. */
export function memberGunzip(binding: Libdeflate | null = libdeflate() ?? null): Transform {
  if (binding === null) return createGunzip({ chunkSize: CHUNK });
  const lib = binding;
  let held: Buffer = EMPTY;
  /** Where held input lives between pieces (held is a view of it, until zlib takes over). */
  let store: Buffer | undefined;
  let tryAt = FIRST_TRY;
  let room: Buffer | undefined;
  let members = 0;
  let lastWasShort = false;
  /** Zero bytes after a member: the rest of the input is ignored. */
  let padded = false;
  let zlib: { stream: Gunzip; ended: Promise<void>; done: boolean } | undefined;
  /** Set while output waits for the reader; _read calls it. */
  let wake: (() => void) | undefined;

  const stream = new Transform({
    // Room for a member or two waiting for the reader while the next one inflates; at the
    // default 16 KiB every member would wait for the reader before the next one started.
    readableHighWaterMark: 2 * MEMBER,
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      if (padded) return done();
      if (zlib !== undefined) {
        if (zlib.done) return done();
        zlib.stream.write(chunk, () => done());
        return;
      }
      hold(chunk);
      inflateHeld(false).then(() => done(), done);
    },
    flush(done: TransformCallback) {
      const finish = () => {
        if (zlib === undefined || zlib.done) return done();
        zlib.ended.then(() => done(), done);
        zlib.stream.end();
      };
      if (zlib !== undefined || padded) return finish();
      inflateHeld(true).then(() => {
        // An empty file: zlib's "unexpected end of file", as before.
        if (zlib === undefined && members === 0 && !padded) handToZlib();
        finish();
      }, done);
    },
    destroy(error, done) {
      zlib?.stream.destroy();
      wakeReader();
      done(error);
    },
  });
  // The reader wants more: output held back resumes (a Transform calls _read for that).
  const read = stream._read.bind(stream);
  stream._read = (size: number) => {
    wakeReader();
    zlib?.stream.resume();
    read(size);
  };
  return stream;

  /**
   * Adds a piece to the input held, in the store, which grows (doubling) only for a member bigger
   * than it. The piece itself is not kept: its writer may fill it again once its write is done
   * (gunzipFile does). Only called between inflations: a view of the store is never changed while
   * libdeflate reads it.
   */
  function hold(chunk: Buffer): void {
    const length = held.length + chunk.length;
    const inStore = store !== undefined && held.length > 0 && held.buffer === store.buffer;
    const from = inStore ? held.byteOffset - store!.byteOffset : 0;
    if (store === undefined || store.length < length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(HOLD, 2 ** Math.ceil(Math.log2(length))));
      held.copy(bigger, 0);
      store = bigger;
    } else if (!inStore || from + length > store.length) {
      // Moved to the front (copyWithin handles the overlap) or copied in from the last piece.
      if (inStore) store.copyWithin(0, from, from + held.length);
      else held.copy(store, 0);
    } else {
      chunk.copy(store, from + held.length);
      held = store.subarray(from, from + length);
      return;
    }
    chunk.copy(store, held.length);
    held = store.subarray(0, length);
  }

  function wakeReader(): void {
    const resume = wake;
    wake = undefined;
    resume?.();
  }

  /** Hands a piece on; when the reader is behind, resolves once it asks for more. */
  async function hand(piece: Buffer): Promise<void> {
    if (stream.push(piece) || stream.destroyed) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }

  /** Inflates every whole member held; at the end, or when libdeflate should not go on, hands the rest to zlib. */
  async function inflateHeld(atEnd: boolean): Promise<void> {
    while (held.length > 0 && (atEnd || held.length >= tryAt) && !stream.destroyed) {
      if (members > 0 && held[0] === 0) {
        padded = true;
        held = EMPTY;
        return;
      }
      // Another member after a short one, or a header CRC to check: not a dbops CSV, zlib's job.
      if (lastWasShort || (held.length > 3 && (held[3]! & FHCRC) !== 0)) return handToZlib();
      const input = held;
      const fresh = Buffer.allocUnsafe(MEMBER);
      let [status, used, written] = await lib.gunzip(input, fresh);
      let output = fresh.subarray(0, written);
      if (status === LIBDEFLATE_INSUFFICIENT_SPACE) {
        room ??= Buffer.allocUnsafeSlow(ROOM);
        [status, used, written] = await lib.gunzip(input, room);
        // A copy: the room is written again by the next such member.
        output = Buffer.from(room.subarray(0, written));
      }
      if (status === LIBDEFLATE_SUCCESS && used > 0) {
        held = input.subarray(used);
        tryAt = FIRST_TRY;
        members++;
        lastWasShort = written < MEMBER;
        await hand(output);
        continue;
      }
      // Cut short (more input to come) or not readable by libdeflate: wait for more, up to a point.
      if (status === LIBDEFLATE_BAD_DATA && !atEnd && held.length < GIVE_UP) {
        tryAt = held.length * 2;
        return;
      }
      return handToZlib();
    }
  }

  function handToZlib(): void {
    room = undefined;
    // zlib reads what it is given on another thread, after write() returns: its own copy.
    held = Buffer.from(held);
    store = undefined;
    const gunzip = createGunzip({ chunkSize: CHUNK });
    // zlib ends by itself at zero padding after a member, before it is told the input ended.
    const state = { stream: gunzip, done: false, ended: new Promise<void>((resolve) => gunzip.once('end', resolve)) };
    state.ended.then(() => {
      state.done = true;
    });
    zlib = state;
    gunzip.on('data', (piece: Buffer) => {
      if (!stream.push(piece)) gunzip.pause();
    });
    gunzip.on('error', (error) => stream.destroy(error));
    gunzip.write(held);
    held = EMPTY;
  }
}
