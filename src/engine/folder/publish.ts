import { chmod, mkdir, readdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { DbopsError } from '../errors.js';
import { backupFolderName, PARTIAL_FOLDER } from './layout.js';

// The backup folder's place on disk: a writable parent, a free name, owner-only modes.

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

async function takenNames(parent: string): Promise<Set<string>> {
  return new Set((await readdir(parent)).map((entry) => PARTIAL_FOLDER.exec(entry)?.[1] ?? entry));
}

/**
 * Publishes a finished folder under its name with one atomic rename. Two runs that chose the same
 * name at once (each saw it free) both get published: rename never replaces a folder that holds
 * files, so the one that comes second takes the next free second's name instead of losing its work.
 */
export async function publishFolder(workDir: string, parent: string, folder: string, naming: { createdAt: Date; target: string; label: string | undefined }): Promise<{ backupDir: string; folder: string }> {
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
