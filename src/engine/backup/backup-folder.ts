import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DbopsError } from '../errors.js';
import { backupFolderName } from '../paths.js';

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

/** Two backups of one target in the same second would share a name: the later one takes the next second's. */
export async function freeFolderName(parent: string, createdAt: Date, target: string, label: string | undefined): Promise<string> {
  const existing = new Set(await readdir(parent));
  let when = createdAt;
  for (let i = 0; i < 3; i++) {
    const name = backupFolderName(when, target, label);
    if (!existing.has(name)) return name;
    when = new Date(when.getTime() + 1000);
  }
  throw new DbopsError('BACKUP_EXISTS', `A backup named ${backupFolderName(createdAt, target, label)} already exists.`);
}

export async function restrictModes(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    if (entry.isDirectory()) await chmod(full, 0o700);
    else if (entry.isFile() && !/restore(-full)?\.sh$/.test(entry.name)) await chmod(full, 0o600);
  }
  await chmod(dir, 0o700);
}
