import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

// sha256 of every file in a backup folder, streamed (dumps can be large).

export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(createReadStream(file), async function* (chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) {
      hash.update(chunk);
      bytes += chunk.length;
    }
  });
  return { sha256: hash.digest('hex'), bytes };
}

/** Relative paths (with "/") of every regular file under dir, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

export async function checksumFiles(dir: string, files: readonly string[]): Promise<Record<string, { sha256: string; bytes: number }>> {
  const result: Record<string, { sha256: string; bytes: number }> = {};
  for (const file of files) result[file] = await sha256File(path.join(dir, file));
  return result;
}

/** The same checksums in sha256sum's format, so `sha256sum -c` checks a backup without dbops. */
export function sha256sumText(files: Record<string, { sha256: string }>): string {
  return Object.entries(files)
    .map(([file, { sha256 }]) => `${sha256}  ${file}\n`)
    .join('');
}
