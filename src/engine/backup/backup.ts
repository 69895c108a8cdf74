import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { checksumFiles, listFiles, sha256File, writeSummedFile, type FileSum } from '../folder/checksums.js';
import type { EngineContext } from '../context.js';
import { describeConnection, formatConnection } from '../connection.js';
import { DbopsError } from '../errors.js';
import { parseInput } from '../input.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type ContentHashes, type Manifest, type ObjectsFile, type RowCounts } from '../folder/manifest.js';
import { backupPaths, backupsRoot, partialFolderName } from '../folder/layout.js';
import { ensureWritable, freeFolderName, publishFolder, restrictModes } from '../folder/publish.js';
import { writeChecksumList } from '../folder/seal.js';
import { listExtensions, listForeignKeys, listInheritance, listPublications, listSchemas, listTables, listViewReloptions, referencedRoles, serverInfo } from '../pg/catalog.js';
import { connect } from '../pg/client.js';
import { fkLoadOrder } from '../pg/fk-order.js';
import { resolveTarget, type ResolvedTarget } from '../targets.js';
import { assertToolsFit, runTool } from '../tools/pg-tools.js';
import { readToc } from '../tools/dump-toc.js';
import { authUsersSql } from './auth-users-sql.js';
import { classifyObjects } from './object-origins.js';
import { restoreListFiles } from './restore-lists.js';
import { resetDefaultPrivilegesSql } from '../restore/reset-default-privileges.js';
import { writeGrantsSql, writeSchemaSql } from './dump-files.js';
import { runDump } from './dump.js';
import { extensionsSql, extensionsTsv, tsvField } from './extensions-sql.js';
import { normaliseSql } from './normalise-sql.js';
import { realtimeSql } from './realtime-sql.js';
import { restoreFullSh, restoreSh } from './restore-scripts.js';
import { rolesSql } from './roles-sql.js';
import { selectTables } from './selection.js';
import { readTableData, relativeFile } from './table-data.js';

export { backupOptionsSchema } from '../options/backup-options.js';
import { backupOptionsSchema } from '../options/backup-options.js';

export type BackupOptions = z.input<typeof backupOptionsSchema>;

export type BackupProgress =
  | { phase: 'connect'; target: string }
  | { phase: 'snapshot'; snapshot: string; tables: number }
  | { phase: 'dump-table'; table: string }
  | { phase: 'csv'; table: string }
  | { phase: 'files' }
  | { phase: 'checksums' }
  | { phase: 'done'; backupDir: string };

export interface BackupResult {
  backupDir: string;
  folder: string;
  manifest: Manifest;
  tables: number;
  rows: number;
}

export async function backupDatabase(input: BackupOptions, ctx: EngineContext, onProgress: (p: BackupProgress) => void = () => undefined): Promise<BackupResult> {
  const options = parseInput('backup-db', backupOptionsSchema, input);
  return backupTarget(resolveTarget(ctx.config, options, ctx.env), options, ctx, onProgress);
}

/** Backs up an already resolved target (restore's safety snapshot comes through here). */
export async function backupTarget(
  target: ResolvedTarget,
  options: z.output<typeof backupOptionsSchema>,
  ctx: EngineContext,
  onProgress: (p: BackupProgress) => void = () => undefined,
): Promise<BackupResult> {
  const started = Date.now();
  const durations: Record<string, number> = {};
  const jobs = options.jobs ?? ctx.config.backup.jobs;
  const parent = options.out !== undefined ? path.resolve(ctx.root, options.out) : backupsRoot(ctx.root, ctx.config.backup.dir, ctx.env);
  await ensureWritable(parent);

  onProgress({ phase: 'connect', target: `${target.name} (${formatConnection(target.spec)})` });
  const client = await connect(target.spec);
  // Our own controller lets a failure on one side (catalog, CSV) stop pg_dump on the other.
  const abort = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, abort.signal]) : abort.signal;
  let workDir: string | undefined;
  try {
    // One snapshot for everything: the dump, the counts and the CSVs all see the same rows.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snapshot = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id;
    const createdAt = (ctx.now ?? (() => new Date()))();
    const server = await serverInfo(client);
    const tools = await assertToolsFit(server.versionNum, ['pg_dump', 'pg_restore', 'pg_dumpall']);
    const [schemas, tables, fks, inheritance] = [await listSchemas(client), await listTables(client), await listForeignKeys(client), await listInheritance(client)];
    const selection = selectTables(ctx.config, options, schemas, tables, inheritance);
    onProgress({ phase: 'snapshot', snapshot, tables: selection.dumpedTables.length });

    const fkCycles = fkLoadOrder(selection.dumpedTables, fks)
      .filter((g) => g.tables.length > 1)
      .map((g) => ({ tables: g.tables.map(({ schema, table }) => ({ schema, table })), deferrable: g.deferrable }));

    const folder = await freeFolderName(parent, createdAt, target.name, options.label);
    workDir = path.join(parent, partialFolderName(folder, process.pid));
    const files = backupPaths(workDir);
    await mkdir(files.dataDir, { recursive: true, mode: 0o700 });
    await mkdir(files.lists, { mode: 0o700 });

    const t0 = Date.now();
    // A failure on any side (pg_dump, the table readers, the snapshot connection) stops the others
    // at once; the first failure is the one reported.
    let firstError: unknown;
    const fail = (error: unknown) => { firstError ??= error; abort.abort(); throw error; };
    // Every file's sha256, taken as it is written; pg_dump's data files as soon as each is complete.
    const sums = new Map<string, FileSum | Promise<FileSum>>();
    const sumDumpFile = (file: string) => {
      const summed = sha256File(path.join(files.dump, file));
      summed.catch(() => undefined); // a file that fails here is read again at the end
      sums.set(`dump/${file}`, summed);
    };
    const dump = runDump({
      connection: target.spec, dir: files.dump, snapshot, jobs, compression: ctx.config.backup.compression,
      excludedSchemas: selection.excludedSchemas, excludedDataTables: selection.excludedDataTables, signal,
      onTable: (table) => onProgress({ phase: 'dump-table', table }), onDataFile: sumDumpFile,
    }).then(() => { durations.dump = Date.now() - t0; }, fail);
    dump.catch(() => undefined); // awaited below; must not count as unhandled meanwhile
    // Counts, content hashes and CSVs: read beside pg_dump's workers, on the same snapshot.
    const loadOrder = fkLoadOrder(selection.criticalTables, fks);
    const tableData = readTableData({
      connection: target.spec, snapshot, readers: jobs, tables: selection.dumpedTables,
      excludedData: new Set(selection.excludedDataTables.map((t) => t.oid)), critical: loadOrder.flatMap((g) => g.tables),
      csvFile: (t) => files.csv(t.schema, t.table), compression: ctx.config.backup.compression,
      contentHashes: options.contentHashes !== false, signal, onCsv: (table) => onProgress({ phase: 'csv', table }),
    }).then((data) => { durations.tableData = Date.now() - t0; return data; }, fail);
    tableData.catch(() => undefined);
    // Ending the client is the only way to stop a catalog query that waits on a lock.
    const endClient = () => void client.end().catch(() => undefined);
    signal.addEventListener('abort', endClient, { once: true });

    let counted, hashes, critical, authUsers, extensions, publications, viewOptions, neededRoles, objects;
    try {
      const authLeftOut = selection.excludedSchemas.includes('auth') || selection.excludedDataTables.some((t) => t.schema === 'auth' && t.table === 'users');
      authUsers = authLeftOut ? undefined : await authUsersSql(client);
      extensions = await listExtensions(client);
      publications = await listPublications(client);
      viewOptions = await listViewReloptions(client);
      neededRoles = await referencedRoles(client, schemas.filter((s) => !selection.excludedSchemas.includes(s)));
      const data = await tableData;
      ({ counted, hashes } = data);
      critical = loadOrder.flatMap((g, group) => g.tables.map((t) => {
        const csv = data.csvs.find((c) => c.table.oid === t.oid)!;
        sums.set(relativeFile(workDir!, csv.file), csv.sum);
        return { schema: t.schema, table: t.table, file: relativeFile(workDir!, csv.file), rows: data.counted.find((c) => c.table === t.table && c.schema === t.schema)?.rows ?? 0, group };
      }));
      await dump;
      // Read while the snapshot is open, so every entry's OID still names the object it dumped.
      objects = await classifyObjects(client, await readToc(files.dump, signal), ctx.config.platform_roles);
      await client.query('COMMIT');
    } catch (error) {
      firstError ??= error;
      abort.abort();
      await Promise.allSettled([dump, tableData]);
      throw firstError;
    } finally {
      signal.removeEventListener('abort', endClient);
    }

    onProgress({ phase: 'files' });
    const t3 = Date.now();
    // Side by side; all settle before a failure is reported, so none still writes into a folder being removed.
    const [roleDump, ...derived] = await Promise.allSettled([
      runTool('pg_dumpall', ['--roles-only', '--no-role-passwords'], { connection: target.spec, signal }),
      writeSchemaSql(files.dump, files.schemaSql, signal),
      writeGrantsSql(files.dump, files.grantsSql, path.join(workDir, '.acl.list'), signal),
    ]);
    for (const r of [roleDump, ...derived]) if (r.status === 'rejected') throw r.reason;
    const roles = rolesSql(normaliseSql((roleDump as PromiseFulfilledResult<{ stdout: string }>).value.stdout), neededRoles, ctx.config.reserved_roles);
    const source = describeConnection(target.spec);
    const sourceText = `${target.name} (${source.host}:${source.port}/${source.database})`;
    const texts: Array<[string, string]> = [
      [files.rolesSql, roles.sql],
      [files.extensionsSql, extensionsSql(extensions)],
      [files.extensionsTsv, extensionsTsv(extensions)],
      [files.realtimeSql, realtimeSql(publications.publications, publications.members)],
      [files.versionTxt, `server\t${server.version}\nserver_version_num\t${server.versionNum}\n${Object.entries(tools).map(([k, v]) => `${k}\t${v}`).join('\n')}\n`],
      [files.viewsReloptionsTsv, `${['schema\tview\tkind\toptions', ...viewOptions.map((v) => [v.schema, v.view, v.kind, v.options].map(tsvField).join('\t'))].join('\n')}\n`],
      [files.rowCounts, `${JSON.stringify({ tables: counted } satisfies RowCounts, null, 2)}\n`],
      [files.objects, `${JSON.stringify(objects satisfies ObjectsFile)}\n`],
      ...restoreListFiles(files, objects),
      [files.resetDefaultPrivilegesSql, resetDefaultPrivilegesSql(schemas.filter((s) => !selection.excludedSchemas.includes(s)), ctx.config.platform_roles)],
      [files.restoreSh, restoreSh({ folder, createdAt: createdAt.toISOString(), source: sourceText, hasAuthUsers: authUsers !== undefined, platformRoles: ctx.config.platform_roles })],
      [files.restoreFullSh, restoreFullSh(ctx.root)],
    ];
    if (authUsers !== undefined) texts.push([files.authUsersSql, authUsers.sql]);
    if (hashes !== undefined) texts.push([files.contentHashes, `${JSON.stringify(hashes satisfies ContentHashes, null, 2)}\n`]);
    for (const [file, text] of texts) sums.set(relativeFile(workDir, file), await writeSummedFile(file, text));
    await chmod(files.restoreSh, 0o700);
    await chmod(files.restoreFullSh, 0o700);
    durations.files = Date.now() - t3;

    onProgress({ phase: 'checksums' });
    await restrictModes(workDir);
    const relative = (await listFiles(workDir)).filter((f) => f !== 'metadata.json' && f !== 'checksums.sha256');
    const fileSums = await checksumFiles(workDir, relative, sums);
    const dumpBytes = Object.entries(fileSums).filter(([f]) => f.startsWith('dump/')).reduce((n, [, s]) => n + s.bytes, 0);
    durations.total = Date.now() - started;

    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      formatVersion: MANIFEST_VERSION,
      createdAt: createdAt.toISOString(),
      target: target.name,
      label: options.label ?? null,
      mode: selection.mode,
      source,
      server: { version: server.version, versionNum: server.versionNum },
      tools,
      options: { prod: options.prod, exclude: options.exclude, jobs, compression: ctx.config.backup.compression, contentHashes: hashes !== undefined },
      categories: { included: selection.included, excluded: selection.excluded },
      schemas: schemas.filter((s) => !selection.excludedSchemas.includes(s)),
      excludedSchemas: selection.excludedSchemas,
      managedSchemas: selection.managedSchemas,
      excludedDataTables: selection.excludedDataTables.map(({ schema, table, category }) => ({ schema, table, category })),
      criticalTables: critical,
      rolesNeeded: neededRoles,
      fkCycles,
      snapshot,
      durationsMs: durations,
      sizes: { databaseBytes: server.databaseBytes, backupBytes: Object.values(fileSums).reduce((n, s) => n + s.bytes, 0), dumpBytes },
      files: fileSums,
    };
    // metadata.json is the "complete" marker: written last, so a folder without it (or whose
    // checksums fail) is never taken for a backup; then one atomic rename publishes the folder.
    await writeFile(files.metadata, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flush: true });
    // Then the list of every file's sum, metadata.json's included (seal.ts says why in this order).
    await writeChecksumList(workDir, fileSums);
    signal.throwIfAborted();
    const { backupDir, folder: published } = await publishFolder(workDir, parent, folder, { createdAt, target: target.name, label: options.label });
    workDir = undefined;
    onProgress({ phase: 'done', backupDir });
    return { backupDir, folder: published, manifest, tables: counted.length, rows: counted.reduce((n, c) => n + c.rows, 0) };
  } catch (error) {
    throw signal.aborted && ctx.signal?.aborted ? new DbopsError('INTERRUPTED', 'The backup was interrupted; the unfinished folder was removed.', { cause: error }) : error;
  } finally {
    await client.end().catch(() => undefined);
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  }
}
