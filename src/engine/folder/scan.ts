import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { cutShort, DbopsError, isDbopsError } from '../errors.js';
import { PARTIAL_FOLDER } from './layout.js';
import { openBackup, verifyBackupFiles, type BackupHandle, type FileCheck } from './open.js';

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
  /** Folders passed over, each with the reason. */
  skipped: Array<{ folder: string; reason: string }>;
}

/** A clock a few minutes ahead on the machine that took a backup is not "the future". */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

/**
 * The newest valid dbops backup (by the time its metadata records, not the folder's mtime):
 * metadata and every checksum pass. Old layouts carry nothing to verify, so they are restored
 * only when named; a backup dated in the future is skipped (it would stay "latest" for ever).
 * Optionally only those taken from one target, and never the labels in skipLabels (restore's
 * own pre-restore safety snapshots are not what "latest" means).
 */
export async function findLatestBackup(
  root: string,
  filter: { fromTarget?: string | undefined; skipLabels?: readonly string[]; now?: Date } = {},
): Promise<LatestBackup> {
  const { fromTarget, skipLabels = [], now = new Date() } = filter;
  const scanned = await scanBackups(root);
  const skipped = scanned.filter((s) => s.handle === undefined && !s.notBackup).map((s) => ({ folder: s.folder, reason: s.problem ?? 'not a backup' }));
  const candidates: BackupHandle[] = [];
  const passed: Array<{ handle: BackupHandle; reason: string }> = [];
  for (const handle of scanned.flatMap((s) => (s.handle ? [s.handle] : []))) {
    if ((fromTarget !== undefined && handle.target !== fromTarget) || skipLabels.includes(handle.label ?? '')) continue;
    if (handle.layout !== 'dbops') passed.push({ handle, reason: `old layout ${handle.layout} with nothing to verify: restore it by naming the folder` });
    else if (handle.createdAt.getTime() > now.getTime() + FUTURE_TOLERANCE_MS)
      passed.push({
        handle,
        reason: `dated in the future (${handle.createdAt.toISOString()}): check the clock of the machine that took it, or name the folder`,
      });
    else candidates.push(handle);
  }
  candidates.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  for (const handle of candidates) {
    try {
      const check = await verifyBackupFiles(handle);
      // Old layouts are named only when newer than the choice: an old archive is not news.
      skipped.push(...passed.filter((p) => p.handle.createdAt > handle.createdAt).map((p) => ({ folder: p.handle.folder, reason: p.reason })));
      return { handle, check, skipped };
    } catch (error) {
      if (!isDbopsError(error)) throw error;
      skipped.push({ folder: handle.folder, reason: error.message });
    }
  }
  skipped.push(...passed.map((p) => ({ folder: p.handle.folder, reason: p.reason })));
  const which = fromTarget === undefined ? 'valid dbops backup' : `valid dbops backup taken from target "${cutShort(fromTarget, 63)}"`;
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
export async function chooseBackup(
  reference: string | undefined,
  where: { root: string; cwd: string; fromTarget?: string | undefined; now?: Date | undefined },
): Promise<ChosenBackup> {
  if (reference !== undefined && reference !== 'latest') {
    if (where.fromTarget !== undefined) throw new DbopsError('USAGE', 'Pass a backup path or --from TARGET, not both.');
    return { handle: await openBackup(path.resolve(where.cwd, reference)), check: undefined, skipped: [] };
  }
  return findLatestBackup(where.root, { fromTarget: where.fromTarget, skipLabels: ['pre-restore'], ...(where.now ? { now: where.now } : {}) });
}
