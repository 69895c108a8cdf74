import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checksumFiles, listFiles, sha256File, sha256sumText, type FileSum } from './checksums.js';
import type { Manifest } from './manifest.js';
import { restrictModes, type WorkFolder } from './publish.js';

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

/**
 * Seals a finished work folder: owner-only modes, every file's sum (those taken while writing
 * reused, the rest read back), metadata.json as `manifestFor` makes it from those sums, written
 * and flushed, then checksums.sha256. Publishing it is the caller's next step.
 */
export async function sealFolder(work: WorkFolder, manifestFor: (files: Record<string, FileSum>) => Manifest): Promise<Manifest> {
  await restrictModes(work.dir);
  const relative = (await listFiles(work.dir)).filter((f) => f !== 'metadata.json' && f !== 'checksums.sha256');
  const files = await checksumFiles(work.dir, relative, work.sums);
  const manifest = manifestFor(files);
  // metadata.json is the "complete" marker: written last, so a folder without it (or whose
  // checksums fail) is never taken for a backup.
  await writeFile(work.files.metadata, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flush: true });
  // Then the list of every file's sum, metadata.json's included (see above for why in this order).
  await writeChecksumList(work.dir, files);
  return manifest;
}
