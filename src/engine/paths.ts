import path from 'node:path';

// Every path inside a backup folder, computed here and nowhere else.
// Example folder: storage/backups/20261123_071502_prod_pre-upgrade/

/** Resolves the backups directory: DBOPS_BACKUP_DIR, else the configured dir, relative to the project root. */
export function backupsRoot(root: string, configuredDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(root, env.DBOPS_BACKUP_DIR ?? configuredDir);
}

/** 2026-11-23T07:15:02Z → "20261123_071502" (UTC, so folder names sort in time order everywhere). */
export function folderTimestamp(date: Date): string {
  const iso = date.toISOString(); // 2026-11-23T07:15:02.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/** "20261123_071502_prod" or "20261123_071502_prod_pre-upgrade". */
export function backupFolderName(date: Date, target: string, label?: string): string {
  return [folderTimestamp(date), target, ...(label === undefined ? [] : [label])].join('_');
}

/**
 * While a backup is written it lives under this hidden name in the same directory, so the
 * final rename is atomic and nothing that lists or restores can take it for a backup.
 * Example: storage/backups/.20261123_071502_prod.partial-4242
 */
export function partialFolderName(finalName: string, pid: number): string {
  return `.${finalName}.partial-${pid}`;
}

export const PARTIAL_FOLDER = /^\.(.+)\.partial-\d+$/;

/** Quoted identifiers may hold any character; file names must not. Keeps [A-Za-z0-9_-], escapes the rest. */
function fileSafe(part: string): string {
  return part.replace(/[^A-Za-z0-9_-]/g, (ch) => [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

export function backupPaths(dir: string) {
  return {
    dir,
    /** Directory-format pg_dump (toc.dat + one compressed file per table): restorable in parallel. */
    dump: path.join(dir, 'dump'),
    schemaSql: path.join(dir, 'schema.sql'),
    grantsSql: path.join(dir, 'grants.sql'),
    realtimeSql: path.join(dir, 'realtime.sql'),
    extensionsSql: path.join(dir, 'extensions.sql'),
    extensionsTsv: path.join(dir, 'extensions.tsv'),
    rolesSql: path.join(dir, 'roles.sql'),
    authUsersSql: path.join(dir, 'auth_users.sql'),
    versionTxt: path.join(dir, 'version.txt'),
    viewsReloptionsTsv: path.join(dir, 'views_reloptions.tsv'),
    dataDir: path.join(dir, 'data'),
    /** data/public.organizations.csv.gz; data/public.My%20Table.csv.gz (gzip-compressed CSV with a header row) */
    csv: (schema: string, table: string) => path.join(dir, 'data', `${fileSafe(schema)}.${fileSafe(table)}.csv.gz`),
    rowCounts: path.join(dir, 'row_counts.json'),
    contentHashes: path.join(dir, 'content_hashes.json'),
    /** Who each dump entry belongs to (app, platform, extension): what a restore may drop and re-create. */
    objects: path.join(dir, 'objects.json'),
    /** pg_restore --use-list files for restore.sh: lists/plain.list, lists/project-serial.list … (see restore-lists.ts) */
    lists: path.join(dir, 'lists'),
    /** restore.sh runs it before creating anything: the DO block of restore/reset-default-privileges.ts. */
    resetDefaultPrivilegesSql: path.join(dir, 'reset_default_privileges.sql'),
    list: (name: string) => path.join(dir, 'lists', `${name}.list`),
    /** The same checksums for `sha256sum -c` (restore.sh checks them without Node). */
    checksums: path.join(dir, 'checksums.sha256'),
    /** Written last: its presence with valid checksums is what makes the folder a backup. */
    metadata: path.join(dir, 'metadata.json'),
    restoreSh: path.join(dir, 'restore.sh'),
    restoreFullSh: path.join(dir, 'restore-full.sh'),
  } as const;
}

export type BackupPaths = ReturnType<typeof backupPaths>;
