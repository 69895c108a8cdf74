import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { DbopsError, isDbopsError } from '../errors.js';
import { PARTIAL_FOLDER } from '../paths.js';
import { openBackup, verifyBackupFiles, type BackupHandle, type FileCheck } from './open-backup.js';

// The folders of a backups directory, recognised but not yet checksummed (that costs a read
// of every file, so only the chosen one is verified).

export interface ScannedFolder {
  folder: string;
  dir: string;
  handle: BackupHandle | undefined;
  /** Why the folder is not a usable backup, when it is not. */
  problem: string | undefined;
  incomplete: boolean;
  /** Not a backup at all (no backup files in it): listed nowhere, touched by nothing. */
  notBackup: boolean;
}

export async function scanBackups(root: string): Promise<ScannedFolder[]> {
  const names = await readdir(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const scanned: ScannedFolder[] = [];
  for (const folder of names.sort()) {
    const dir = path.join(root, folder);
    const info = await lstat(dir);
    // Links are never followed: a backups directory must not lead anywhere else.
    if (!info.isDirectory() || info.isSymbolicLink()) continue;
    if (PARTIAL_FOLDER.test(folder)) {
      scanned.push({ folder, dir, handle: undefined, problem: 'left by an interrupted backup', incomplete: true, notBackup: false });
      continue;
    }
    if (folder.startsWith('.')) continue;
    try {
      scanned.push({ folder, dir, handle: await openBackup(dir), problem: undefined, incomplete: false, notBackup: false });
    } catch (error) {
      if (!isDbopsError(error)) throw error;
      scanned.push({ folder, dir, handle: undefined, problem: error.message, incomplete: false, notBackup: error.code !== 'BACKUP_CORRUPT' });
    }
  }
  return scanned;
}

export interface LatestBackup {
  handle: BackupHandle;
  /** The checks it passed: every file was read once, here, so callers need not read them again. */
  check: FileCheck;
  /** Newer folders passed over, each with the reason. */
  skipped: Array<{ folder: string; reason: string }>;
}

/**
 * The newest backup (by the time its metadata records, not the folder's mtime) that passes its
 * checks; optionally only those taken from one target, and never the labels in skipLabels
 * (restore's own pre-restore safety snapshots are not what "latest" means).
 */
export async function findLatestBackup(root: string, filter: { fromTarget?: string | undefined; skipLabels?: readonly string[] } = {}): Promise<LatestBackup> {
  const { fromTarget, skipLabels = [] } = filter;
  const scanned = await scanBackups(root);
  const skipped = scanned.filter((s) => s.handle === undefined && !s.notBackup).map((s) => ({ folder: s.folder, reason: s.problem ?? 'not a backup' }));
  const candidates = scanned
    .flatMap((s) => (s.handle ? [s.handle] : []))
    .filter((h) => (fromTarget === undefined || h.target === fromTarget) && !skipLabels.includes(h.label ?? ''))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  for (const handle of candidates) {
    try {
      return { handle, check: await verifyBackupFiles(handle), skipped };
    } catch (error) {
      if (!isDbopsError(error)) throw error;
      skipped.push({ folder: handle.folder, reason: error.message });
    }
  }
  const which = fromTarget === undefined ? 'complete backup' : `complete backup taken from target "${fromTarget}"`;
  const note = skipped.length > 0 ? ` (skipped: ${skipped.map((s) => s.folder).join(', ')})` : '';
  throw new DbopsError('NO_BACKUPS', `No ${which} in ${root}${note}.`);
}

export interface ChosenBackup {
  handle: BackupHandle;
  /** Present when choosing already verified the files ("latest"); a given path is still to be checked. */
  check: FileCheck | undefined;
  skipped: LatestBackup['skipped'];
}

/** "latest" (optionally from one target) or a folder path, as restore-db and verify-backup take it. */
export async function chooseBackup(reference: string | undefined, where: { root: string; cwd: string; fromTarget?: string | undefined }): Promise<ChosenBackup> {
  if (reference !== undefined && reference !== 'latest') {
    if (where.fromTarget !== undefined) throw new DbopsError('USAGE', 'Pass a backup path or --from TARGET, not both.');
    return { handle: await openBackup(path.resolve(where.cwd, reference)), check: undefined, skipped: [] };
  }
  return findLatestBackup(where.root, { fromTarget: where.fromTarget, skipLabels: ['pre-restore'] });
}
