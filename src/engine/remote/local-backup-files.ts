import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { openBackup, verifyBackupFiles } from '../folder/open.js';
import { listFiles, sha256File, type FileSum } from '../folder/checksums.js';
import type { RemoteManifest } from './remote-manifest.js';

// A local backup folder as a push needs it: every file with its sha256 and size, and what the
// remote manifest records about the backup. A dbops backup is verified first (a damaged
// backup is not worth a copy, and its recorded sums are then the truth); an old layout,
// which records none, is summed here so its copy can be checked all the same.

export interface LocalBackup {
  dir: string;
  folder: string;
  files: Array<{ path: string } & FileSum>;
  backup: RemoteManifest['backup'];
}

export async function readLocalBackup(dir: string): Promise<LocalBackup> {
  const handle = await openBackup(dir);
  const recorded = handle.manifest === undefined ? {} : handle.manifest.files;
  if (handle.manifest !== undefined) await verifyBackupFiles(handle);
  const realDir = await realpath(handle.dir);
  const files: LocalBackup['files'] = [];
  // listFiles takes regular files only: links were already refused by openBackup (confine.ts).
  for (const name of await listFiles(realDir)) {
    const sum = recorded[name] ?? (await sha256File(path.join(realDir, name)));
    files.push({ path: name, sha256: sum.sha256, bytes: sum.bytes });
  }
  const m = handle.manifest;
  return {
    dir: realDir,
    folder: handle.folder,
    files,
    backup: {
      layout: handle.layout,
      createdAt: handle.createdAt.toISOString(),
      target: handle.target,
      label: handle.label,
      mode: m?.mode ?? null,
      source: m ? { host: m.source.host, port: m.source.port, database: m.source.database } : null,
    },
  };
}
