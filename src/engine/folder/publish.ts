import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DbopsError } from '../errors.js';
import type { FileSum } from './checksums.js';
import { backupFolderName, backupPaths, partialFolderName, PARTIAL_FOLDER, type BackupPaths } from './layout.js';

// The backup folder's place on disk: a writable parent, a free name, a hidden work folder,
// owner-only modes, and the one rename that publishes it.

export async function ensureWritable(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const info = await stat(dir);
    if (!info.isDirectory()) throw new Error('not a directory');
  } catch (error) {
    throw new DbopsError('BACKUP_DIR_UNWRITABLE', `Cannot write backups to ${dir}: ${(error as Error).message}.`, { cause: error });
  }
}

/**
 * Two backups of one target in the same second would share a name: the later one takes the next
 * second's. A name another run is still writing (its hidden .partial folder) counts as taken.
 */
export async function freeFolderName(parent: string, createdAt: Date, target: string, label: string | undefined): Promise<string> {
  const taken = await takenNames(parent);
  let when = createdAt;
  for (let i = 0; i < PUBLISH_ATTEMPTS; i++) {
    const name = backupFolderName(when, target, label);
    if (!taken.has(name)) return name;
    when = new Date(when.getTime() + 1000);
  }
  throw new DbopsError('BACKUP_EXISTS', `A backup named ${backupFolderName(createdAt, target, label)} already exists.`);
}

const PUBLISH_ATTEMPTS = 30;

/** A backup folder being written: hidden under its partial name until it is published. */
export interface WorkFolder {
  /** The name it is to be published under (the next free one if taken meanwhile: see publishFolder). */
  folder: string;
  /** storage/backups/.20261123_071502_prod.partial-4242 */
  dir: string;
  files: BackupPaths;
  /** Relative path → sum, taken as each file is written; sealing reads back only the files missing here. */
  sums: Map<string, FileSum | Promise<FileSum>>;
}

/** The hidden work folder for a backup taken at createdAt, with data/ and lists/ made; removed again if that fails. */
export async function startWorkFolder(parent: string, createdAt: Date, target: string, label: string | undefined): Promise<WorkFolder> {
  const folder = await freeFolderName(parent, createdAt, target, label);
  const dir = path.join(parent, partialFolderName(folder, process.pid));
  const files = backupPaths(dir);
  try {
    await mkdir(files.dataDir, { recursive: true, mode: 0o700 });
    await mkdir(files.lists, { mode: 0o700 });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { folder, dir, files, sums: new Map() };
}

async function takenNames(parent: string): Promise<Set<string>> {
  return new Set((await readdir(parent)).map((entry) => PARTIAL_FOLDER.exec(entry)?.[1] ?? entry));
}

/**
 * Publishes a finished folder under its name with one atomic rename. Two runs that chose the same
 * name at once (each saw it free) both get published: rename never replaces a folder that holds
 * files, so the one that comes second takes the next free second's name instead of losing its work.
 */
export async function publishFolder(
  workDir: string,
  parent: string,
  folder: string,
  naming: { createdAt: Date; target: string; label: string | undefined },
): Promise<{ backupDir: string; folder: string }> {
  let name = folder;
  for (let attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
    const backupDir = path.join(parent, name);
    try {
      await rename(workDir, backupDir);
      return { backupDir, folder: name };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') {
        throw new DbopsError('BACKUP_EXISTS', `Cannot publish backup ${name}: ${code ?? (error as Error).message}.`, { cause: error });
      }
      const taken = await takenNames(parent);
      let when = naming.createdAt;
      do {
        when = new Date(when.getTime() + 1000);
        name = backupFolderName(when, naming.target, naming.label);
      } while (taken.has(name) && when.getTime() - naming.createdAt.getTime() < PUBLISH_ATTEMPTS * 1000);
    }
  }
  throw new DbopsError('BACKUP_EXISTS', `Cannot publish backup ${folder}: every name of the next ${PUBLISH_ATTEMPTS} seconds is taken.`);
}

export async function restrictModes(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    if (entry.isDirectory()) await chmod(full, 0o700);
    else if (entry.isFile() && !/restore(-full)?\.sh$/.test(entry.name)) await chmod(full, 0o600);
  }
  await chmod(dir, 0o700);
}
