import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { listFiles, sha256File } from './checksums.js';
import { DbopsError } from '../errors.js';
import { confinedFile, MAX_METADATA_BYTES, readLimited, shownPath } from './confine.js';
import type { BackupHandle, BackupLayout } from './open.js';

// Every file of a backup against its recorded sha256. Since checksums.sha256 lists every file,
// metadata.json included (written after it: see seal.ts), a changed metadata.json is caught like
// any other file. This guards against damage and careless edits, not against someone who can
// write the folder: they can recompute every sum (an unsigned backup proves nothing more).

export interface FileCheck {
  checked: number;
  /** Bytes of the files checked (dbops layout; 0 for old layouts, which carry no list of files). */
  bytes: number;
  /** Layouts without checksums say so here. */
  warnings: string[];
}

const LIST = 'checksums.sha256';

/** Every sha256 in metadata.json must match; old layouts get the checks their files allow. */
export async function verifyBackupFiles(handle: BackupHandle): Promise<FileCheck> {
  if (handle.manifest === undefined) return verifyLegacyFiles(handle);
  const realDir = await realpath(handle.dir);
  const files = handle.manifest.files;
  // Backups written before checksums.sha256 covered metadata.json record the list among their files.
  const sealed = !(LIST in files);
  const problems: string[] = [];
  for (const [name, expected] of Object.entries(files)) {
    const actual = await confinedFile(realDir, handle.folder, name).then(sha256File, (error: unknown) => {
      problems.push(error instanceof DbopsError ? error.message.replace(`${handle.folder}: `, '') : `${shownPath(name)} cannot be read`);
      return undefined;
    });
    if (actual !== undefined && (actual.sha256 !== expected.sha256 || actual.bytes !== expected.bytes)) problems.push(`${name} does not match its checksum`);
  }
  if (sealed) problems.push(...(await checkList(realDir, handle)));
  if (problems.length > 0) {
    throw new DbopsError(
      'BACKUP_CORRUPT',
      `Backup ${handle.folder} failed its checks: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}.`,
      { details: problems.slice(0, 100) },
    );
  }
  const bytes = Object.values(files).reduce((n, f) => n + f.bytes, 0);
  const warnings = sealed ? [] : [`${handle.folder} was written before metadata.json had a checksum: its other files are checked, metadata.json is not.`];
  return { checked: Object.keys(files).length + (sealed ? 1 : 0), bytes, warnings };
}

/** checksums.sha256 agrees with metadata.json, covers metadata.json as read, and lists every file of the folder. */
async function checkList(realDir: string, handle: BackupHandle): Promise<string[]> {
  const text = await readLimited(path.join(realDir, LIST), MAX_METADATA_BYTES, `${handle.folder}/${LIST}`).then(
    (b) => b.toString('utf8'),
    () => undefined,
  );
  if (text === undefined) return [`${LIST} is missing`];
  const listed = new Map<string, string>();
  for (const line of text.split('\n').filter((l) => l !== '')) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) return [`${LIST} has a line that is not "<sha256>  <file>"`];
    listed.set(m[2]!, m[1]!);
  }
  const problems: string[] = [];
  const recorded = handle.manifest!.files;
  if (listed.get('metadata.json') === undefined) problems.push(`${LIST} does not list metadata.json`);
  else if (listed.get('metadata.json') !== handle.metadataSha256) problems.push('metadata.json does not match its checksum');
  for (const [name, sha] of listed) {
    if (name !== 'metadata.json' && recorded[name]?.sha256 !== sha) problems.push(`${LIST} and metadata.json disagree on ${shownPath(name)}`);
  }
  for (const name of Object.keys(recorded)) if (!listed.has(name)) problems.push(`${LIST} does not list ${name}`);
  for (const name of await listFiles(realDir)) {
    if (name !== LIST && !listed.has(name)) problems.push(`${shownPath(name)} is covered by no checksum`);
  }
  return problems;
}

async function verifyLegacyFiles(handle: BackupHandle): Promise<FileCheck> {
  const required: Record<Exclude<BackupLayout, 'dbops'>, string[]> = {
    'legacy-sql-gz': ['backup.sql.gz'],
    'legacy-prod-sql': ['backup.sql'],
    'legacy-custom-dump': ['db_full.dump'],
  };
  const realDir = await realpath(handle.dir);
  for (const name of required[handle.layout as Exclude<BackupLayout, 'dbops'>]) {
    const real = await confinedFile(realDir, handle.folder, name).catch(() => undefined);
    const info = real === undefined ? undefined : await stat(real);
    if (!info || info.size === 0) throw new DbopsError('BACKUP_CORRUPT', `Old backup ${handle.folder} has no usable ${name}.`);
  }
  return { checked: 0, bytes: 0, warnings: [`${handle.folder} was made by the old scripts and has no checksums: only its structure can be checked.`] };
}
