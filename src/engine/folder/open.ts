import { createHash } from 'node:crypto';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import { DbopsError } from '../errors.js';
import { manifestSchema, MANIFEST_FORMAT, rowCountsSchema, tableKey, type Manifest, type TableRef } from './manifest.js';
import { assertNothingLeadsOut, MAX_METADATA_BYTES, MAX_SMALL_FILE_BYTES, readLimited } from './confine.js';
import { manifestProblems } from './manifest-limits.js';

// A backup folder, read and recognised: this tool's own layout, or one of the three layouts
// the team's earlier scripts wrote (which carry no checksums). The folder is untrusted input:
// see confine.ts for what is never read through it.

export type BackupLayout =
  | 'dbops'
  /** <YYYYMMDD_HHMMSS>/ backup.sql.gz (plain SQL), data/*.csv, row_counts.json, metadata.json "version": "2.0" */
  | 'legacy-sql-gz'
  /** prod_<YYYY-MM-DDTHH-MM-SS>/ backup.sql, schema.sql, grants.sql, realtime.sql, extensions.sql, auth_users.sql, metadata.json */
  | 'legacy-prod-sql'
  /** <YYYYMMDD_HHMMSS>_<env>[_label]/ db_full.dump (custom format), schema.sql, version.txt, extensions.tsv */
  | 'legacy-custom-dump';

export interface BackupHandle {
  dir: string;
  folder: string;
  layout: BackupLayout;
  createdAt: Date;
  target: string | null;
  label: string | null;
  /** Present for the dbops layout only. */
  manifest: Manifest | undefined;
  /** sha256 of metadata.json exactly as it was read and parsed (dbops layout), for checksums.sha256 to confirm. */
  metadataSha256?: string | undefined;
  /** Rows the backup holds per table, keyed by tableKey (undefined when the layout recorded none). */
  rowCounts: Map<string, TableCount> | undefined;
}

/** One table's rows as the backup recorded them; the table travels as a reference, never as a string to split. */
export interface TableCount extends TableRef {
  rows: number;
  dataIncluded: boolean;
}

const legacyMetadataSchema = z.looseObject({
  version: z.string().max(100).optional(),
  timestamp: z.string().max(100).optional(),
  created_at: z.string().max(100).optional(),
});

/** "20261123_071502" → Date (UTC). */
function compactTime(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})/.exec(text);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

/** A path as given, in a message: any length may be given, a few hundred characters are shown. */
function shownDir(dir: string): string {
  return dir.length > 300 ? `${dir.slice(0, 120)}… (a path of ${dir.length} characters)` : dir;
}

export async function openBackup(dir: string): Promise<BackupHandle> {
  const folder = path.basename(dir);
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new DbopsError('BACKUP_NOT_FOUND', `Backup folder ${shownDir(dir)} does not exist.`);
  if (!info.isDirectory()) throw new DbopsError('BACKUP_INVALID', `${shownDir(dir)} is not a folder.`);
  const realDir = await realpath(dir);
  const entries = await readdir(realDir);
  if (entries.length === 0) throw new DbopsError('BACKUP_INVALID', `Backup folder ${dir} is empty.`);
  const file = (name: string) => path.join(realDir, name);

  if (entries.includes('backup.sql.gz')) {
    await assertNothingLeadsOut(realDir, folder);
    const meta = await readLegacyMetadata(file('metadata.json'), folder);
    return legacy(dir, folder, 'legacy-sql-gz', meta.created ?? compactTime(folder), null, null, await readLegacyRowCounts(file('row_counts.json'), folder));
  }
  const prod = /^prod_(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})/.exec(folder);
  if (entries.includes('backup.sql') && prod) {
    await assertNothingLeadsOut(realDir, folder);
    const meta = await readLegacyMetadata(file('metadata.json'), folder);
    return legacy(dir, folder, 'legacy-prod-sql', meta.created ?? new Date(`${prod[1]}T${prod[2]}:${prod[3]}:${prod[4]}Z`), 'prod', null, undefined);
  }
  const env = /^\d{8}_\d{6}_([a-z0-9-]+)(?:_(.+))?$/.exec(folder);
  if (entries.includes('db_full.dump')) {
    await assertNothingLeadsOut(realDir, folder);
    return legacy(dir, folder, 'legacy-custom-dump', compactTime(folder), env?.[1] ?? null, env?.[2] ?? null, undefined);
  }
  // What only dbops writes beside metadata.json: without any of it, the folder is another tool's.
  const ours = entries.includes('dump') && entries.includes('checksums.sha256');
  if (!entries.includes('metadata.json')) {
    if (ours) throw new DbopsError('BACKUP_CORRUPT', `${folder} has a dump and checksums but no metadata.json: the backup is incomplete or damaged.`);
    throw new DbopsError('BACKUP_INVALID', `${dir} is not a dbops backup: it has no metadata.json with dump/, backup.sql.gz, backup.sql or db_full.dump.`);
  }
  await assertNothingLeadsOut(realDir, folder);
  return openDbopsBackup(dir, realDir, folder, ours);
}

async function openDbopsBackup(dir: string, realDir: string, folder: string, ours: boolean): Promise<BackupHandle> {
  const bytes = await readLimited(path.join(realDir, 'metadata.json'), MAX_METADATA_BYTES, `${folder}/metadata.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    if (!ours) throw new DbopsError('BACKUP_INVALID', `${dir} is not a dbops backup: its metadata.json is not JSON.`);
    throw new DbopsError('BACKUP_CORRUPT', `${folder}/metadata.json is not valid JSON.`, { cause: error });
  }
  const format = raw !== null && typeof raw === 'object' ? (raw as { format?: unknown }).format : undefined;
  if (format !== MANIFEST_FORMAT && !ours) {
    throw new DbopsError('BACKUP_INVALID', `${dir} is not a dbops backup: its metadata.json was not written by dbops (no "format": "${MANIFEST_FORMAT}").`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    // Where and what, cut short: a value of a hostile metadata.json is never echoed whole.
    const problems = parsed.error.issues.map((i) => `${i.path.slice(0, 4).join('.').slice(0, 80) || '(root)'}: ${i.message.slice(0, 120)}`);
    throw new DbopsError('BACKUP_CORRUPT', `${folder}/metadata.json is not valid: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}.`, {
      details: problems.slice(0, 20),
    });
  }
  const manifest = parsed.data;
  const limits = manifestProblems(manifest);
  if (limits.length > 0)
    throw new DbopsError('BACKUP_CORRUPT', `${folder}/metadata.json is not valid: ${limits.slice(0, 3).join('; ')}.`, { details: limits.slice(0, 20) });
  return {
    dir,
    folder,
    layout: 'dbops',
    createdAt: new Date(manifest.createdAt),
    target: manifest.target,
    label: manifest.label,
    manifest,
    metadataSha256: createHash('sha256').update(bytes).digest('hex'),
    rowCounts: undefined,
  };
}

function legacy(
  dir: string,
  folder: string,
  layout: BackupLayout,
  createdAt: Date | undefined,
  target: string | null,
  label: string | null,
  rowCounts: BackupHandle['rowCounts'],
): BackupHandle {
  if (createdAt === undefined || Number.isNaN(createdAt.getTime())) {
    throw new DbopsError('BACKUP_INVALID', `${folder} looks like an old backup, but its time cannot be read from metadata.json or the folder name.`);
  }
  return { dir, folder, layout, createdAt, target, label, manifest: undefined, rowCounts };
}

/** An old layout's JSON file: absent is fine, unreadable or malformed is ignored (it only adds a time or counts). */
async function readLegacyJson(file: string, folder: string): Promise<unknown> {
  const bytes = await readLimited(file, MAX_SMALL_FILE_BYTES, `${folder}/${path.basename(file)}`).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  });
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

async function readLegacyMetadata(file: string, folder: string): Promise<{ created: Date | undefined }> {
  const parsed = legacyMetadataSchema.safeParse(await readLegacyJson(file, folder));
  const when = parsed.success ? (parsed.data.timestamp ?? parsed.data.created_at) : undefined;
  // The v2 scripts wrote "timestamp": "20260205_155658"; others an ISO time. Anything unreadable
  // falls back to the time in the folder's name.
  const created = when === undefined ? undefined : (compactTime(when) ?? new Date(when));
  return { created: created === undefined || Number.isNaN(created.getTime()) ? undefined : created };
}

/**
 * Old row_counts.json: { "schema.table": n } (or "table": n for public). The one place a
 * "schema.table" string is split: the old scripts wrote nothing else (at the first dot, as they
 * joined them).
 */
async function readLegacyRowCounts(file: string, folder: string): Promise<BackupHandle['rowCounts']> {
  const parsed = z.record(z.string().max(300), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)).safeParse(await readLegacyJson(file, folder));
  if (!parsed.success) return undefined;
  const counts = Object.entries(parsed.data).map(([name, rows]): TableCount => {
    const dot = name.indexOf('.');
    const ref = dot < 0 ? { schema: 'public', table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
    return { ...ref, rows, dataIncluded: true };
  });
  return new Map(counts.map((c) => [tableKey(c), c]));
}

/** Loads row_counts.json of a dbops backup (after its checksums were verified). */
export async function loadRowCounts(handle: BackupHandle): Promise<BackupHandle['rowCounts']> {
  if (handle.layout !== 'dbops') return handle.rowCounts;
  const bytes = await readLimited(path.join(handle.dir, 'row_counts.json'), MAX_METADATA_BYTES, `${handle.folder}/row_counts.json`);
  const counts = rowCountsSchema.parse(JSON.parse(bytes.toString('utf8')));
  return new Map(counts.tables.map((t) => [tableKey(t), { schema: t.schema, table: t.table, rows: t.rows, dataIncluded: t.dataIncluded }]));
}

export { verifyBackupFiles, type FileCheck } from './verify-files.js';
