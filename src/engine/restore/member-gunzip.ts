import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { LIBDEFLATE_BAD_DATA, LIBDEFLATE_INSUFFICIENT_SPACE, LIBDEFLATE_SUCCESS, libdeflate, type Libdeflate } from '../libdeflate.js';

// Reads a .csv.gz back for the restore. The CSVs dbops writes are many small gzip members, one
// per 256 KiB of CSV (backup/parallel-gzip.ts); where the libdeflate binding is built, each
// member is inflated whole by libdeflate on libuv's threads, at about half zlib's CPU time.
// Anything else — a member that inflates to more than a megabyte (a CSV written by one gzip
// stream, as older backups and other tools write them), or data libdeflate cannot read —
// goes on through zlib's streaming gunzip from that point, so every file zlib reads still reads,
// with zlib's own error for one that does not.

// Room for one member's output: a fresh buffer of the size dbops's members hold (256 KiB of CSV)
// that is handed on as it is (no copy: 225 MB of copies were a third of the main thread's time),
// and one of a megabyte for a member that needs more, kept for the file and copied out of.
const MEMBER = 256 * 1024;
const ROOM = 1024 * 1024;
// A member is tried once this much input is held (twice that after a try that needed more),
// so a big member is not re-inflated from its start for every piece that arrives.
const FIRST_TRY = 320 * 1024;
// Beyond this much input without a whole member, the file is not made of small members.
const GIVE_UP = 8 * 1024 * 1024;

export function memberGunzip(binding: Libdeflate | undefined = libdeflate()): Transform {
  if (binding === undefined) return createGunzip({ chunkSize: 256 * 1024 });
  const lib = binding;
  let held: Buffer = Buffer.alloc(0);
  let tryAt = FIRST_TRY;
  let zlib: Gunzip | undefined;
  let room: Buffer | undefined;
  let members = 0;

  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      if (zlib !== undefined) {
        zlib.write(chunk, () => done());
        return;
      }
      held = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
      inflateHeld(this, false).then(() => done(), done);
    },
    flush(done: TransformCallback) {
      const finish = () => {
        if (zlib === undefined) return done();
        zlib.once('end', () => done());
        zlib.end();
      };
      if (zlib !== undefined) return finish();
      inflateHeld(this, true).then(() => {
        // An empty file: zlib's "unexpected end of file", as before.
        if (zlib === undefined && members === 0) handToZlib(this);
        finish();
      }, done);
    },
    destroy(error, done) {
      zlib?.destroy();
      done(error);
    },
  });

  /** Inflates every whole member held; at the end, or when libdeflate cannot go on, hands the rest to zlib. */
  async function inflateHeld(stream: Transform, atEnd: boolean): Promise<void> {
    while (held.length > 0 && (atEnd || held.length >= tryAt)) {
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
        stream.push(output);
        held = input.subarray(used);
        tryAt = FIRST_TRY;
        members++;
        continue;
      }
      // Cut short (more input to come) or not readable by libdeflate: wait for more, up to a point.
      if (status === LIBDEFLATE_BAD_DATA && !atEnd && held.length < GIVE_UP) {
        tryAt = held.length * 2;
        return;
      }
      handToZlib(stream);
      return;
    }
  }

  function handToZlib(stream: Transform): void {
    room = undefined;
    zlib = createGunzip({ chunkSize: 256 * 1024 });
    zlib.on('data', (piece: Buffer) => stream.push(piece));
    zlib.on('error', (error) => stream.destroy(error));
    zlib.write(held);
    held = Buffer.alloc(0);
  }
}
