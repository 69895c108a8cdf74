import { Transform, type TransformCallback, type TransformOptions } from 'node:stream';
import { constants, createGzip, type Gzip, type ZlibOptions } from 'node:zlib';
import { libdeflate, type Libdeflate, type LibdeflateCompressor } from '../libdeflate.js';

// A gzip stream whose deflate runs on several of libuv's threads at once, as pigz does: the
// input is cut into blocks, each block becomes a complete gzip member of its own, and the members
// are written in input order. RFC 1952 makes a file of several members one gzip file: gzip -d,
// zcat, Node's gunzip, Python's gzip and PostgreSQL's COPY … FROM PROGRAM 'gzip -dc' all read
// it as the concatenated data.
//
// Why: deflate is most of a CSV export's time (225 MB of text: 2.7 s of deflate at level 1 beside
// 0.6 s for the server's COPY), and one zlib stream keeps it on one thread, so the biggest
// critical table set the backup's length while a core sat idle. Members cost no extra CPU: a
// member only starts without the previous 32 KiB of history, so 256 KiB blocks grow the file by
// 0.2 % (225 MB of CSV text: 104.0 -> 104.2 MB).
//
// Each of the few deflaters is one zlib stream kept for the whole file: a member is written into
// it as one block, finished with Z_FINISH, and the stream reset for its next member. Measured on
// a 225 MB export: a fresh zlib.gzip() per block (its own deflate state, its output joined)
// made V8 run a full collection every ~100 ms for the external memory it churned; writing
// pg's 64 KiB pieces one by one cost ~0.1 s more main-thread time than one write per block.
//
// Where the libdeflate binding is built (libdeflate.ts), members are compressed by libdeflate
// instead: a whole-buffer compressor, which is all a member needs, at about half zlib's CPU time
// for level 1 and ~2 % smaller output on the benchmark's CSVs (articles: 4.4-4.7 CPU-s through
// zlib, 2.3-2.5 through libdeflate). Same format: gzip members, end to end.

export interface ParallelGzipOptions {
  level: number;
  memLevel?: number;
  /** Input bytes per gzip member. */
  blockBytes?: number;
  /** Members being deflated at once, at most. */
  deflaters?: number;
  /** Which deflate: libdeflate when its binding is built (the default), else zlib. */
  engine?: 'libdeflate' | 'zlib';
}

interface MemberDeflater {
  /** The block as one gzip member, header to trailer. */
  member(block: Buffer): Promise<Buffer[]>;
  destroy(): void;
}

// 256 KiB blocks: as fast as 2 MiB ones on the bench (4.4-5.0 s either way) for 0.2 % more bytes,
// and the backup's peak RSS stays near where it was without the parallel deflate (136 MB, against
// 126 MB before and 182 MB with 2 MiB blocks).
export const DEFAULT_BLOCK = 256 * 1024;
const DEFAULT_DEFLATERS = 3;
// Output pieces of 256 KiB rather than zlib's 16 KiB: each piece is a trip back to the main
// thread (measured: ~1 s of main-thread time for 225 MB at 16 KiB).
const OUTPUT_PIECE = 256 * 1024;

const closed = () => new Error('the gzip stream was closed before its member was finished');

/** One zlib stream that compresses one member at a time. */
class ZlibDeflater implements MemberDeflater {
  // reset() is documented (zlib.reset()) but missing from @types/node's Gzip.
  private readonly zlib: Gzip & { reset(): void };
  private output: Buffer[] = [];
  private failure: Error | undefined;
  private onFailure: ((error: Error) => void) | undefined;

  constructor(level: number, memLevel: number, blockBytes: number) {
    // A readable side as big as a member can grow, so zlib never waits for us to read it.
    const options: ZlibOptions & TransformOptions = { level, memLevel, chunkSize: OUTPUT_PIECE, readableHighWaterMark: blockBytes + OUTPUT_PIECE };
    this.zlib = createGzip(options) as Gzip & { reset(): void };
    this.zlib.on('data', (piece: Buffer) => this.output.push(piece));
    this.zlib.on('error', (error) => {
      this.failure ??= error;
      this.onFailure?.(error);
    });
  }

  /** The block as one gzip member, header to trailer. */
  member(block: Buffer): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      this.onFailure = reject;
      this.zlib.write(block);
      // The callback also runs, with an error, when the stream was destroyed meanwhile (the
      // pipeline failed or was aborted): then there is nothing to read and nothing to reset.
      const finished = (error?: Error | null) => {
        this.onFailure = undefined;
        const failed = this.failure ?? error ?? (this.zlib.destroyed ? closed() : undefined);
        if (failed !== undefined) return reject(failed);
        // Pieces zlib pushed that the flowing stream has not emitted yet: read() emits them.
        while (this.zlib.readableLength > 0) this.zlib.read();
        const member = this.output;
        this.output = [];
        // Back to a fresh deflate state: the next write starts a new member with its own header.
        this.zlib.reset();
        resolve(member);
      };
      this.zlib.flush(constants.Z_FINISH, finished as () => void);
    });
  }

  destroy(): void {
    this.failure ??= closed();
    this.onFailure?.(this.failure);
    this.zlib.destroy();
  }
}

/** One libdeflate compressor, and the room its member is written into, for one member at a time. */
class LibdeflateDeflater implements MemberDeflater {
  private readonly compressor: LibdeflateCompressor;
  private readonly room: Buffer;
  private destroyed = false;

  constructor(
    private readonly binding: Libdeflate,
    level: number,
    blockBytes: number,
  ) {
    this.compressor = binding.createCompressor(level);
    this.room = Buffer.allocUnsafeSlow(binding.gzipBound(this.compressor, blockBytes));
  }

  async member(block: Buffer): Promise<Buffer[]> {
    if (this.destroyed) throw closed();
    const bytes = await this.binding.gzip(this.compressor, block, this.room);
    // The stream was destroyed while the thread compressed: nothing to hand on.
    if (this.destroyed) throw closed();
    // A copy of the member's bytes: the room is written again by the next member.
    return [Buffer.from(this.room.subarray(0, bytes))];
  }

  destroy(): void {
    this.destroyed = true;
  }
}

export function parallelGzip(options: ParallelGzipOptions): Transform {
  const blockBytes = options.blockBytes ?? DEFAULT_BLOCK;
  const memLevel = options.memLevel ?? 9;
  // zlib's levels for either engine (libdeflate's go further, to 12); -1 is zlib's default, 6.
  if (!Number.isInteger(options.level) || options.level < -1 || options.level > 9) throw new RangeError(`gzip level ${options.level} is not one of -1 to 9`);
  const level = options.level === -1 ? 6 : options.level;
  const binding = options.engine === 'zlib' ? undefined : libdeflate();
  if (options.engine === 'libdeflate' && binding === undefined)
    throw new Error('the libdeflate binding is not built or not loadable (apt-get install libdeflate-dev, then npm run build)');
  const deflaters: MemberDeflater[] = Array.from({ length: Math.max(1, options.deflaters ?? DEFAULT_DEFLATERS) }, () =>
    binding === undefined ? new ZlibDeflater(level, memLevel, blockBytes) : new LibdeflateDeflater(binding, level, blockBytes),
  );
  // Members in input order; the oldest is written first whatever order the threads finish in.
  const queue: Promise<Buffer[]>[] = [];
  let members = 0;
  // Blocks are reused (one per deflater and the one filling): a fresh buffer per block
  // made V8 collect for the external memory churned (0.9 s of main-thread time on 225 MB).
  const free: Buffer[] = [];
  let filling: { block: Buffer; bytes: number } | undefined;

  const dispatch = () => {
    const { block, bytes } = filling ?? { block: Buffer.alloc(0), bytes: 0 };
    filling = undefined;
    // Member n goes to deflater n mod k: the caller has written out member n - k, its last one.
    const member = deflaters[members++ % deflaters.length]!.member(block.subarray(0, bytes));
    // zlib is done with the block once the member is out (or failed).
    member.then(
      () => void (block.length === blockBytes && free.push(block)),
      () => undefined,
    );
    queue.push(member);
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      let offset = 0;
      const fill = (): void => {
        while (offset < chunk.length) {
          filling ??= { block: free.pop() ?? Buffer.allocUnsafeSlow(blockBytes), bytes: 0 };
          const copied = chunk.copy(filling.block, filling.bytes, offset);
          filling.bytes += copied;
          offset += copied;
          if (filling.bytes < blockBytes) break;
          if (queue.length >= deflaters.length) {
            // Every deflater is busy: the oldest member is written out first, which frees its
            // deflater. Holding the callback meanwhile is the backpressure.
            queue
              .shift()!
              .then((out) => {
                for (const piece of out) this.push(piece);
                dispatch();
                fill();
              })
              .catch(done);
            return;
          }
          dispatch();
        }
        done();
      };
      fill();
    },
    flush(done: TransformCallback) {
      const rest = queue.splice(0);
      const write = (member: Promise<Buffer[]>) =>
        member.then((out) => {
          for (const piece of out) this.push(piece);
        });
      rest
        .reduce<Promise<void>>((written, member) => written.then(() => write(member)), Promise.resolve())
        // The last block, now that its deflater is free; an empty input is still one (empty)
        // member, so the file is a valid gzip file.
        .then(() => {
          if (filling === undefined && members > 0) return;
          dispatch();
          return write(queue.shift()!);
        })
        .then(() => done(), done);
    },
    destroy(error, done) {
      for (const deflater of deflaters) deflater.destroy();
      done(error);
    },
  });
}
