import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { sha256File } from '../checksums.js';
import { DbopsError } from '../errors.js';
import { manifestSchema, rowCountsSchema, type Manifest } from '../manifest.js';

// A backup folder, read and recognised: this tool's own layout, or one of the three layouts
// the team's earlier scripts wrote (which carry no checksums).

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
  /** "schema.table" → rows the backup holds (undefined when the layout recorded none). */
  rowCounts: Map<string, { rows: number; dataIncluded: boolean }> | undefined;
}

export const tableKey = (t: { schema: string; table: string }) => `${t.schema}.${t.table}`;

const legacyMetadataSchema = z.looseObject({ version: z.string().optional(), timestamp: z.string().optional(), created_at: z.string().optional() });

/** "20261123_071502" → Date (UTC). */
function compactTime(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})/.exec(text);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

export async function openBackup(dir: string): Promise<BackupHandle> {
  const folder = path.basename(dir);
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new DbopsError('BACKUP_NOT_FOUND', `Backup folder ${dir} does not exist.`);
  if (!info.isDirectory()) throw new DbopsError('BACKUP_INVALID', `${dir} is not a folder.`);
  const entries = await readdir(dir);
  if (entries.length === 0) throw new DbopsError('BACKUP_INVALID', `Backup folder ${dir} is empty.`);
  const file = (name: string) => path.join(dir, name);

  if (entries.includes('backup.sql.gz')) {
    const meta = await readLegacyMetadata(file('metadata.json'));
    return legacy(dir, folder, 'legacy-sql-gz', meta.created ?? compactTime(folder), null, null, await readLegacyRowCounts(file('row_counts.json')));
  }
  const prod = /^prod_(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})/.exec(folder);
  if (entries.includes('backup.sql') && prod) {
    const meta = await readLegacyMetadata(file('metadata.json'));
    return legacy(dir, folder, 'legacy-prod-sql', meta.created ?? new Date(`${prod[1]}T${prod[2]}:${prod[3]}:${prod[4]}Z`), 'prod', null, undefined);
  }
  const env = /^\d{8}_\d{6}_([a-z0-9-]+)(?:_(.+))?$/.exec(folder);
  if (entries.includes('db_full.dump')) {
    return legacy(dir, folder, 'legacy-custom-dump', compactTime(folder), env?.[1] ?? null, env?.[2] ?? null, undefined);
  }
  if (entries.includes('metadata.json') || entries.includes('dump')) {
    if (!entries.includes('metadata.json')) throw new DbopsError('BACKUP_CORRUPT', `${folder} has a dump but no metadata.json: the backup is incomplete or damaged.`);
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file('metadata.json'), 'utf8'));
    } catch (error) {
      throw new DbopsError('BACKUP_CORRUPT', `${folder}/metadata.json is not valid JSON.`, { cause: error });
    }
    const parsed = manifestSchema.safeParse(raw);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new DbopsError('BACKUP_CORRUPT', `${folder}/metadata.json is not valid: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}.`, { details: problems });
    }
    const manifest = parsed.data;
    return { dir, folder, layout: 'dbops', createdAt: new Date(manifest.createdAt), target: manifest.target, label: manifest.label, manifest, rowCounts: undefined };
  }
  throw new DbopsError('BACKUP_INVALID', `${dir} is not a backup: it has no metadata.json with dump/, backup.sql.gz, backup.sql or db_full.dump.`);
}

function legacy(dir: string, folder: string, layout: BackupLayout, createdAt: Date | undefined, target: string | null, label: string | null, rowCounts: BackupHandle['rowCounts']): BackupHandle {
  if (createdAt === undefined || Number.isNaN(createdAt.getTime())) {
    throw new DbopsError('BACKUP_INVALID', `${folder} looks like an old backup, but its time cannot be read from metadata.json or the folder name.`);
  }
  return { dir, folder, layout, createdAt, target, label, manifest: undefined, rowCounts };
}

async function readLegacyMetadata(file: string): Promise<{ created: Date | undefined }> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return { created: undefined };
  const parsed = legacyMetadataSchema.safeParse(JSON.parse(text));
  const when = parsed.success ? (parsed.data.timestamp ?? parsed.data.created_at) : undefined;
  return { created: when === undefined ? undefined : new Date(when) };
}

/** Old row_counts.json: { "schema.table": n } (or "table": n for public). */
async function readLegacyRowCounts(file: string): Promise<BackupHandle['rowCounts']> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const parsed = z.record(z.string(), z.number().int().nonnegative()).safeParse(JSON.parse(text));
  if (!parsed.success) return undefined;
  return new Map(Object.entries(parsed.data).map(([k, rows]) => [k.includes('.') ? k : `public.${k}`, { rows, dataIncluded: true }]));
}

/** Loads row_counts.json of a dbops backup (after its checksums were verified). */
export async function loadRowCounts(handle: BackupHandle): Promise<BackupHandle['rowCounts']> {
  if (handle.layout !== 'dbops') return handle.rowCounts;
  const counts = rowCountsSchema.parse(JSON.parse(await readFile(path.join(handle.dir, 'row_counts.json'), 'utf8')));
  return new Map(counts.tables.map((t) => [tableKey(t), { rows: t.rows, dataIncluded: t.dataIncluded }]));
}

export interface FileCheck {
  checked: number;
  /** Bytes of the files checked (dbops layout; 0 for old layouts, which carry no list of files). */
  bytes: number;
  /** Layouts without checksums say so here. */
  warnings: string[];
}

/** Every sha256 in metadata.json must match; old layouts get the checks their files allow. */
export async function verifyBackupFiles(handle: BackupHandle): Promise<FileCheck> {
  if (handle.manifest === undefined) return verifyLegacyFiles(handle);
  const problems: string[] = [];
  for (const [name, expected] of Object.entries(handle.manifest.files)) {
    const actual = await sha256File(path.join(handle.dir, name)).catch(() => undefined);
    if (actual === undefined) problems.push(`${name} is missing`);
    else if (actual.sha256 !== expected.sha256 || actual.bytes !== expected.bytes) problems.push(`${name} does not match its checksum`);
  }
  if (problems.length > 0) {
    throw new DbopsError('BACKUP_CORRUPT', `Backup ${handle.folder} failed its checks: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}.`, { details: problems });
  }
  const bytes = Object.values(handle.manifest.files).reduce((n, f) => n + f.bytes, 0);
  return { checked: Object.keys(handle.manifest.files).length, bytes, warnings: [] };
}

async function verifyLegacyFiles(handle: BackupHandle): Promise<FileCheck> {
  const required: Record<Exclude<BackupLayout, 'dbops'>, string[]> = {
    'legacy-sql-gz': ['backup.sql.gz'],
    'legacy-prod-sql': ['backup.sql'],
    'legacy-custom-dump': ['db_full.dump'],
  };
  const names = required[handle.layout as Exclude<BackupLayout, 'dbops'>];
  for (const name of names) {
    const info = await stat(path.join(handle.dir, name)).catch(() => undefined);
    if (!info || info.size === 0) throw new DbopsError('BACKUP_CORRUPT', `Old backup ${handle.folder} has no usable ${name}.`);
  }
  return { checked: 0, bytes: 0, warnings: [`${handle.folder} was made by the old scripts and has no checksums: only its structure can be checked.`] };
}

