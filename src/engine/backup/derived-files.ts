import { chmod } from 'node:fs/promises';
import path from 'node:path';
import type { ConnectionSpec } from '../connection.js';
import type { EngineContext } from '../context.js';
import { writeSummedFile } from '../folder/checksums.js';
import type { ContentHashes, ObjectsFile, RowCounts } from '../folder/manifest.js';
import type { WorkFolder } from '../folder/publish.js';
import { resetDefaultPrivilegesSql } from '../restore/reset-default-privileges.js';
import { runTool } from '../tools/pg-tools.js';
import type { ReadOnSnapshot } from './dump-and-read.js';
import { writeGrantsSql, writeSchemaSql } from './dump-files.js';
import { extensionsSql, extensionsTsv, tsvField } from './extensions-sql.js';
import { normaliseSql } from './normalise-sql.js';
import { realtimeSql } from './realtime-sql.js';
import { restoreListFiles, scriptCsvTables } from './restore-lists.js';
import { restoreFullSh, restoreSh } from './restore-scripts.js';
import { rolesSql } from './roles-sql.js';
import { keptSchemas, type BackupSnapshot } from './snapshot.js';
import { relativeFile } from './table-data.js';

// Step 3 of a backup: every file made from what steps 1 and 2 found (and from the dump itself).
// Each file's sum is taken as it is written (into work.sums). The files made from the dump alone
// (and the cluster's roles) are started as soon as pg_dump is done, while the table readers are
// still at work (dumpAndRead calls writeDumpFiles); the rest once the snapshot is closed.

export interface DerivedFiles {
  /** "prod (db.example.com:5432/app)", as restore.sh names the source. */
  sourceText: string;
  snapshot: BackupSnapshot;
  read: ReadOnSnapshot;
  work: WorkFolder;
  ctx: EngineContext;
}

/** schema.sql and grants.sql from the finished dump, and the cluster's roles (pg_dumpall's text, for roles.sql). */
export async function writeDumpFiles(connection: ConnectionSpec, work: WorkFolder, signal: AbortSignal): Promise<string> {
  const { files } = work;
  // Side by side; all settle before a failure is reported, so none still writes into a folder being removed.
  const [roleDump, ...derived] = await Promise.allSettled([
    runTool('pg_dumpall', ['--roles-only', '--no-role-passwords'], { connection, signal }),
    writeSchemaSql(files.dump, files.schemaSql, signal),
    writeGrantsSql(files.dump, files.grantsSql, path.join(work.dir, '.acl.list'), signal),
  ]);
  for (const r of [roleDump, ...derived]) if (r.status === 'rejected') throw r.reason;
  return (roleDump as PromiseFulfilledResult<{ stdout: string }>).value.stdout;
}

export async function writeDerivedFiles({ sourceText, snapshot, read, work, ctx }: DerivedFiles): Promise<void> {
  const { files } = work;
  const roles = rolesSql(normaliseSql(read.roleDump), read.neededRoles, ctx.config.reserved_roles);
  const { server, tools, createdAt } = snapshot;
  const texts: Array<[string, string]> = [
    [files.rolesSql, roles.sql],
    [files.extensionsSql, extensionsSql(read.extensions)],
    [files.extensionsTsv, extensionsTsv(read.extensions)],
    [files.realtimeSql, realtimeSql(read.publications.publications, read.publications.members)],
    [
      files.versionTxt,
      `server\t${server.version}\nserver_version_num\t${server.versionNum}\n${Object.entries(tools)
        .map(([k, v]) => `${k}\t${v}`)
        .join('\n')}\n`,
    ],
    [
      files.viewsReloptionsTsv,
      `${['schema\tview\tkind\toptions', ...read.viewOptions.map((v) => [v.schema, v.view, v.kind, v.options].map(tsvField).join('\t'))].join('\n')}\n`,
    ],
    [files.rowCounts, `${JSON.stringify({ tables: read.counted } satisfies RowCounts, null, 2)}\n`],
    [files.objects, `${JSON.stringify(read.objects satisfies ObjectsFile)}\n`],
    ...restoreListFiles(files, read.objects),
    [files.resetDefaultPrivilegesSql, resetDefaultPrivilegesSql(keptSchemas(snapshot), ctx.config.platform_roles)],
    [
      files.restoreSh,
      restoreSh({
        folder: work.folder,
        createdAt: createdAt.toISOString(),
        source: sourceText,
        hasAuthUsers: read.authUsers !== undefined,
        platformRoles: ctx.config.platform_roles,
        csvTables: scriptCsvTables(read.critical, read.objects),
      }),
    ],
    [files.restoreFullSh, restoreFullSh(ctx.root)],
  ];
  if (read.authUsers !== undefined) texts.push([files.authUsersSql, read.authUsers.sql]);
  if (read.hashes !== undefined) texts.push([files.contentHashes, `${JSON.stringify(read.hashes satisfies ContentHashes, null, 2)}\n`]);
  for (const [file, text] of texts) work.sums.set(relativeFile(work.dir, file), await writeSummedFile(file, text));
  await chmod(files.restoreSh, 0o700);
  await chmod(files.restoreFullSh, 0o700);
}
