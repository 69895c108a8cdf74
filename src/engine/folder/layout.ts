import path from 'node:path';

// The backup-folder format lives in this folder, one job per file:
//   layout.ts          every name and path, here and nowhere else (below)
//   manifest.ts        the JSON files' schemas: metadata.json, row_counts.json, content_hashes.json, objects.json
//   checksums.ts       sha256 of the files, summed as written or read back
//   seal.ts            metadata.json, then checksums.sha256 over everything (the order matters, see there)
//   publish.ts         where a folder is written, its free name, modes, the atomic rename that publishes it
//   open.ts            a folder read back and recognised (dbops or an old script's layout)
//   confine.ts         what is never read through a folder (it is untrusted input)
//   manifest-limits.ts what the schema alone lets through in a hostile metadata.json
//   verify-files.ts    every file against its recorded sum
//   scan.ts            the folders of a backups directory, and choosing one ("latest")
//
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
    /** storage/backups/20261123_071502_prod */
    dir,
    /** dump/ (toc.dat, 3456.dat.gz …): directory-format pg_dump, one compressed file per table, restorable in parallel. */
    dump: path.join(dir, 'dump'),
    /** schema.sql: every definition in the dump, as plain, greppable SQL (\restrict lines normalised away). */
    schemaSql: path.join(dir, 'schema.sql'),
    /** grants.sql: the dump's GRANT/REVOKE and default privileges as SQL, re-appliable on their own (pg_restore restores them with their objects). */
    grantsSql: path.join(dir, 'grants.sql'),
    /** realtime.sql: the publications and their tables. */
    realtimeSql: path.join(dir, 'realtime.sql'),
    /** extensions.sql: CREATE EXTENSION IF NOT EXISTS for each; extensions.tsv: name, version, schema. */
    extensionsSql: path.join(dir, 'extensions.sql'),
    extensionsTsv: path.join(dir, 'extensions.tsv'),
    /** roles.sql: the roles the dump names, NOLOGIN, no passwords. */
    rolesSql: path.join(dir, 'roles.sql'),
    /** auth_users.sql: auth.users without password hashes or tokens (absent when auth was left out). */
    authUsersSql: path.join(dir, 'auth_users.sql'),
    /** version.txt: "server\t15.8", server_version_num, the tools' versions. */
    versionTxt: path.join(dir, 'version.txt'),
    /** views_reloptions.tsv: "public\tagent_overview\tview\tsecurity_invoker=true". */
    viewsReloptionsTsv: path.join(dir, 'views_reloptions.tsv'),
    /** data/: the critical tables' CSVs (below). */
    dataDir: path.join(dir, 'data'),
    /** data/public.organizations.csv.gz; data/public.My%20Table.csv.gz (gzip-compressed CSV with a header row) */
    csv: (schema: string, table: string) => path.join(dir, 'data', `${fileSafe(schema)}.${fileSafe(table)}.csv.gz`),
    /** row_counts.json: { tables: [{ schema, table, rows, dataIncluded }] } (manifest.ts). */
    rowCounts: path.join(dir, 'row_counts.json'),
    /** content_hashes.json: per-table fingerprints (manifest.ts; absent without --content-hashes). */
    contentHashes: path.join(dir, 'content_hashes.json'),
    /** objects.json: who each dump entry belongs to (app, platform, extension): what a restore may drop and re-create. */
    objects: path.join(dir, 'objects.json'),
    /** pg_restore --use-list files for restore.sh: lists/plain.list, lists/project-serial.list … (see backup/restore-lists.ts) */
    lists: path.join(dir, 'lists'),
    /** reset_default_privileges.sql: restore.sh runs it before creating anything (the DO block of restore/reset-default-privileges.ts). */
    resetDefaultPrivilegesSql: path.join(dir, 'reset_default_privileges.sql'),
    /** lists/plain.list for list('plain'). */
    list: (name: string) => path.join(dir, 'lists', `${name}.list`),
    /** checksums.sha256: "<sha256>  schema.sql" per file, metadata.json included, for `sha256sum -c` (restore.sh checks them without Node). */
    checksums: path.join(dir, 'checksums.sha256'),
    /** metadata.json (manifest.ts): written last but for checksums.sha256; its presence with valid checksums is what makes the folder a backup. */
    metadata: path.join(dir, 'metadata.json'),
    /** restore.sh: restores this folder with psql and pg_restore alone. */
    restoreSh: path.join(dir, 'restore.sh'),
    /** restore-full.sh: runs dbops restore-db on this folder. */
    restoreFullSh: path.join(dir, 'restore-full.sh'),
  } as const;
}

export type BackupPaths = ReturnType<typeof backupPaths>;
