import path from 'node:path';
import { stat } from 'node:fs/promises';
import type { z } from 'zod';
import { verifyBackupFiles, type BackupHandle } from '../folder/open.js';
import { scanBackups, type ScannedFolder } from '../folder/scan.js';
import { listFiles } from '../folder/checksums.js';
import type { EngineContext } from '../context.js';
import { isDbopsError } from '../errors.js';
import { parseInput } from '../input.js';
import { backupsRoot } from '../folder/layout.js';

// Every folder of the backups directory with what it is: valid, incomplete (left by an
// interrupted run), corrupt (metadata or a checksum fails), or legacy (old layouts, no checksums).

export { listOptionsSchema } from '../options/list-options.js';
import { listOptionsSchema } from '../options/list-options.js';

export type BackupStatus = 'valid' | 'incomplete' | 'corrupt' | 'legacy';

export interface ListedBackup {
  folder: string;
  dir: string;
  status: BackupStatus;
  createdAt: string | null;
  target: string | null;
  label: string | null;
  mode: string | null;
  /** The database the backup holds (metadata.json); null for old layouts and unreadable folders. */
  source: { host: string; port: number; database: string } | null;
  bytes: number;
  ageMs: number | null;
  /** The folder's last change on disk (what dates an interrupted backup). */
  modifiedAt: string;
  problem: string | null;
}

export async function listBackups(input: z.input<typeof listOptionsSchema>, ctx: EngineContext): Promise<{ root: string; backups: ListedBackup[] }> {
  const options = parseInput('list-backups', listOptionsSchema, input);
  const root = backupsRoot(ctx.root, ctx.config.backup.dir, ctx.env);
  const now = (ctx.now ?? (() => new Date()))().getTime();
  const listed: ListedBackup[] = [];
  for (const scanned of (await scanBackups(root)).filter((s) => !s.notBackup)) {
    const entry = await describe(scanned, now);
    if (options.target === undefined || entry.target === options.target) listed.push(entry);
  }
  // Newest first; folders whose time is unknown last.
  listed.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.folder.localeCompare(b.folder));
  return { root, backups: listed };
}

async function describe(scanned: ScannedFolder, now: number): Promise<ListedBackup> {
  const mtime = (await stat(scanned.dir)).mtime;
  const base = { folder: scanned.folder, dir: scanned.dir, modifiedAt: mtime.toISOString() };
  const unknown = { createdAt: null, target: null, label: null, mode: null, source: null };
  if (scanned.incomplete) {
    return { ...base, ...unknown, bytes: await folderBytes(scanned.dir), status: 'incomplete', ageMs: now - mtime.getTime(), problem: scanned.problem ?? null };
  }
  const handle = scanned.handle;
  if (handle === undefined) {
    return { ...base, ...unknown, bytes: await folderBytes(scanned.dir), status: 'corrupt', ageMs: null, problem: scanned.problem ?? null };
  }
  const status = await checkStatus(handle);
  return {
    ...base,
    // A valid dbops backup's checksums already summed its bytes; anything else is measured.
    bytes: status.bytes > 0 ? status.bytes : await folderBytes(scanned.dir),
    status: status.status,
    createdAt: handle.createdAt.toISOString(),
    target: handle.target,
    label: handle.label,
    mode: handle.manifest?.mode ?? null,
    source: handle.manifest ? { host: handle.manifest.source.host, port: handle.manifest.source.port, database: handle.manifest.source.database } : null,
    ageMs: now - handle.createdAt.getTime(),
    problem: status.problem,
  };
}

async function checkStatus(handle: BackupHandle): Promise<{ status: BackupStatus; problem: string | null; bytes: number }> {
  try {
    const check = await verifyBackupFiles(handle);
    return { status: handle.layout === 'dbops' ? 'valid' : 'legacy', problem: null, bytes: check.bytes };
  } catch (error) {
    if (!isDbopsError(error)) throw error;
    return { status: 'corrupt', problem: error.message, bytes: 0 };
  }
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const file of await listFiles(dir).catch(() => [] as string[])) total += (await stat(path.join(dir, file)).catch(() => ({ size: 0 }))).size;
  return total;
}
