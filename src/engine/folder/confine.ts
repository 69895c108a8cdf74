import { lstat, readFile, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { DbopsError } from '../errors.js';

// A backup folder is untrusted input: whoever can write it chooses the paths in its
// metadata.json and the kind of every entry. Nothing outside the folder is ever read through
// it — no "..", no absolute paths, no links leading out (checked with realpath), no FIFOs or
// devices (a read would hang or never end) — and no file is read whole past a size limit.

/** metadata.json of a database with tens of thousands of tables stays far below this. */
export const MAX_METADATA_BYTES = 64 * 1024 * 1024;
/** Old layouts' metadata.json and row_counts.json. */
export const MAX_SMALL_FILE_BYTES = 16 * 1024 * 1024;

/** Why a path written in a backup may not be used, or undefined when it is a plain relative path. */
export function relativePathProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 1024) return 'is longer than 1024 characters';
  if (/[\0\\]/.test(name)) return 'holds a NUL or a backslash';
  if (path.posix.isAbsolute(name) || /^[A-Za-z]:/.test(name)) return 'is absolute';
  if (name.split('/').some((part) => part === '' || part === '.' || part === '..')) return 'is not a plain relative path (empty part, "." or "..")';
  return undefined;
}

/** Shown in messages: a path read from a backup, quoted with control characters escaped; a long one only by its length. */
export function shownPath(name: string): string {
  return name.length > 200 ? `(a path of ${name.length} characters)` : JSON.stringify(name);
}

/**
 * The real path of `name` inside the folder whose real path is `realDir`, if it is a regular
 * file there; otherwise BACKUP_CORRUPT naming the path, never its content.
 */
export async function confinedFile(realDir: string, folder: string, name: string): Promise<string> {
  const problem = relativePathProblem(name);
  if (problem !== undefined)
    throw new DbopsError('BACKUP_CORRUPT', `${folder}/metadata.json names the path ${shownPath(name)}, which ${problem}: nothing outside a backup is read.`);
  const real = await realpath(path.join(realDir, name)).catch(() => undefined);
  if (real === undefined) throw new DbopsError('BACKUP_CORRUPT', `${folder}: ${shownPath(name)} is missing.`);
  if (!isInside(realDir, real))
    throw new DbopsError('BACKUP_CORRUPT', `${folder}: ${shownPath(name)} leads outside the backup folder: nothing outside a backup is read.`);
  if (!(await lstat(real)).isFile()) throw new DbopsError('BACKUP_CORRUPT', `${folder}: ${shownPath(name)} is not a regular file.`);
  return real;
}

export function isInside(realDir: string, real: string): boolean {
  return real.startsWith(realDir.endsWith(path.sep) ? realDir : `${realDir}${path.sep}`);
}

/** Every entry of the folder is a file or folder, or a link that stays inside it. */
export async function assertNothingLeadsOut(realDir: string, folder: string): Promise<void> {
  for (const entry of await readdir(realDir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    const relative = path.relative(realDir, full);
    if (entry.isSymbolicLink()) {
      const target = await realpath(full).catch(() => undefined);
      if (target === undefined || !isInside(realDir, target)) {
        throw new DbopsError(
          'BACKUP_CORRUPT',
          `${folder}: ${shownPath(relative)} is a link leading outside the backup folder: nothing outside a backup is read.`,
        );
      }
    } else if (!entry.isFile() && !entry.isDirectory()) {
      throw new DbopsError('BACKUP_CORRUPT', `${folder}: ${shownPath(relative)} is not a regular file (a FIFO, socket or device).`);
    }
  }
}

/** A file read whole, refused past `limit` bytes (a backup's JSON is small; a hostile one need not be). */
export async function readLimited(file: string, limit: number, what: string): Promise<Buffer> {
  // Links were checked by assertNothingLeadsOut: any left stay inside the folder.
  const info = await stat(file);
  if (!info.isFile()) throw new DbopsError('BACKUP_CORRUPT', `${what} is not a regular file.`);
  if (info.size > limit) throw new DbopsError('BACKUP_CORRUPT', `${what} is ${info.size} bytes, more than the ${limit} a backup's file of this kind may hold.`);
  return readFile(file);
}
