import { createHash } from 'node:crypto';
import { open, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';

// sha256 of every file in a backup folder. Files dbops writes itself are summed as they are
// written (the bytes pass through the hash on their way to disk); only files another program
// wrote (pg_dump's) are read back, streamed, as dumps can be large.

export interface FileSum {
  sha256: string;
  bytes: number;
}

// 1 MiB reads, the next one under way while this one is hashed: the hash (1.6 GB/s here) rather
// than 64 KiB stream reads sets the pace. A restore checks every file before it touches anything,
// so this is time before its first change (135 MB: 350 ms as a read stream, measured).
const READ_PIECE = 1024 * 1024;

export async function sha256File(file: string): Promise<FileSum> {
  const handle = await open(file, 'r');
  try {
    const hash = createHash('sha256');
    // A small file (most of a backup's) gets pieces its size (+1 to see the end in one read), not
    // 2 MiB of buffers each: short-lived buffers are what V8 runs full collections for.
    const piece = Math.min(READ_PIECE, (await handle.stat()).size + 1);
    const pieces = [Buffer.allocUnsafeSlow(piece), Buffer.allocUnsafeSlow(piece)];
    let bytes = 0;
    let reading = handle.read(pieces[0]!, 0, piece, 0);
    for (let turn = 0; ; turn ^= 1) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) break;
      bytes += bytesRead;
      reading = handle.read(pieces[turn ^ 1]!, 0, piece, bytes);
      hash.update(pieces[turn]!.subarray(0, bytesRead));
    }
    return { sha256: hash.digest('hex'), bytes };
  } finally {
    await handle.close();
  }
}

/** Relative paths (with "/") of every regular file under dir, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

/** A pass-through stream that sums what flows through it: put it just before the file. */
export function summingStream(): { stream: Transform; sum: () => FileSum } {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  let digest: string | undefined;
  return { stream, sum: () => ({ sha256: (digest ??= hash.digest('hex')), bytes }) };
}

/** Writes a file and returns the sum of exactly what was written. */
export async function writeSummedFile(file: string, text: string, mode = 0o600): Promise<FileSum> {
  const data = Buffer.from(text, 'utf8');
  await writeFile(file, data, { mode });
  return { sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
}

/**
 * The sum of every file listed: taken from `known` (summed while written, or already being read
 * back) where it is there, read from disk otherwise.
 */
export async function checksumFiles(
  dir: string,
  files: readonly string[],
  known: ReadonlyMap<string, FileSum | Promise<FileSum>> = new Map(),
): Promise<Record<string, FileSum>> {
  const result: Record<string, FileSum> = {};
  for (const file of files) {
    const read = () => sha256File(path.join(dir, file));
    const pending = known.get(file);
    result[file] = pending === undefined ? await read() : await Promise.resolve(pending).catch(read);
  }
  return result;
}

/** The same checksums in sha256sum's format, so `sha256sum -c` checks a backup without dbops. */
export function sha256sumText(files: Record<string, { sha256: string }>): string {
  return Object.entries(files)
    .map(([file, { sha256 }]) => `${sha256}  ${file}\n`)
    .join('');
}
