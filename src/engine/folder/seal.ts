import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256File, sha256sumText } from './checksums.js';

// checksums.sha256 is written after metadata.json and lists every file of the backup,
// metadata.json included, so `sha256sum -c checksums.sha256` (restore.sh) and dbops both catch a
// changed metadata.json. metadata.json cannot hold its own sum, and the two cannot hold each
// other's: metadata.json records every file but these two, the list records everything but
// itself, and the verifier checks that both agree.

/** `files`: the sums metadata.json records (every file but metadata.json and checksums.sha256). */
export async function writeChecksumList(dir: string, files: Record<string, { sha256: string }>): Promise<void> {
  const metadata = await sha256File(path.join(dir, 'metadata.json'));
  await writeFile(path.join(dir, 'checksums.sha256'), sha256sumText({ ...files, 'metadata.json': metadata }), { mode: 0o600, flush: true });
}
