import path from 'node:path';
import type pg from 'pg';
import type { ConnectionSpec } from '../connection.js';
import type { EngineContext } from '../context.js';
import { sha256File } from '../folder/checksums.js';
import type { Manifest, ObjectsFile } from '../folder/manifest.js';
import type { WorkFolder } from '../folder/publish.js';
import {
  listExtensions,
  listPublications,
  listViewReloptions,
  referencedRoles,
  type ExtensionRow,
  type PublicationMemberRow,
  type PublicationRow,
  type ViewOptionsRow,
} from '../pg/catalog.js';
import { fkLoadOrder } from '../pg/fk-order.js';
import { readToc } from '../tools/dump-toc.js';
import { authUsersSql } from './auth-users-sql.js';
import { writeDumpFiles } from './derived-files.js';
import { runDump } from './dump.js';
import { classifyObjects } from './object-origins.js';
import { keptSchemas, type BackupSnapshot } from './snapshot.js';
import { readTableData, relativeFile, type TableData } from './table-data.js';

// Step 2 of a backup: pg_dump writes the dump while, on the same snapshot, the table readers
// count, hash and export the critical tables' CSVs, and the snapshot's own connection reads what
// else the backup records. Once pg_dump is done — long before the readers, as a rule — the
// dump's objects are classified on the snapshot's connection and the files made from the dump
// alone are written (derived-files.ts), beside the readers rather than after them. A failure on any side (pg_dump, a reader, the snapshot connection)
// stops the others at once, and the first failure is the one reported; nothing is left running
// when this returns or throws. The transaction is committed at the end.

export interface DumpAndRead {
  connection: ConnectionSpec;
  /** The snapshot's connection, in the transaction step 1 opened. */
  client: pg.Client;
  snapshot: BackupSnapshot;
  work: WorkFolder;
  jobs: number;
  contentHashes: boolean;
  ctx: EngineContext;
  /** Aborting it stops every side; `signal` is it combined with the caller's. */
  abort: AbortController;
  signal: AbortSignal;
  durations: Record<string, number>;
  onTable: (table: string) => void;
  onCsv: (table: string) => void;
  /** Bytes of pg_dump's data files finished so far. */
  onWritten?: (bytes: number) => void;
}

export interface ReadOnSnapshot {
  counted: TableData['counted'];
  hashes: TableData['hashes'];
  /** The critical tables in load order, each with its CSV, as metadata.json records them. */
  critical: Manifest['criticalTables'];
  authUsers: { sql: string; users: number } | undefined;
  extensions: ExtensionRow[];
  publications: { publications: PublicationRow[]; members: PublicationMemberRow[] };
  viewOptions: ViewOptionsRow[];
  neededRoles: string[];
  objects: ObjectsFile;
  /** pg_dumpall --roles-only --no-role-passwords, for roles.sql. */
  roleDump: string;
}

export async function dumpAndRead(step: DumpAndRead): Promise<ReadOnSnapshot> {
  const { client, snapshot, work, signal, durations, ctx } = step;
  const { selection } = snapshot;
  const t0 = Date.now();
  let firstError: unknown;
  const fail = (error: unknown) => {
    firstError ??= error;
    step.abort.abort();
    throw error;
  };
  // pg_dump's data files are summed as soon as each is complete.
  let written = 0;
  const sumDumpFile = (file: string) => {
    const summed = sha256File(path.join(work.files.dump, file));
    summed.then(
      (sum) => {
        written += sum.bytes;
        step.onWritten?.(written);
      },
      () => undefined, // a file that fails here is read again when sealing
    );
    work.sums.set(`dump/${file}`, summed);
  };
  const dump = runDump({
    connection: step.connection,
    dir: work.files.dump,
    snapshot: snapshot.id,
    jobs: step.jobs,
    compression: ctx.config.backup.compression,
    excludedSchemas: selection.excludedSchemas,
    // The critical tables' rows are stored once, as their CSVs (written beside pg_dump from the
    // same snapshot): in the dump too they doubled the work and the bytes of a backup where they
    // are most of the data. A restore loads them from the CSVs (loadFromCsv in metadata.json).
    excludedDataTables: [...selection.excludedDataTables, ...selection.criticalTables],
    signal,
    onTable: step.onTable,
    onDataFile: sumDumpFile,
  }).then(() => {
    durations.dump = Date.now() - t0;
  }, fail);
  dump.catch(() => undefined); // awaited below; must not count as unhandled meanwhile
  // Counts, content hashes and CSVs: read beside pg_dump's workers, on the same snapshot.
  const loadOrder = fkLoadOrder(selection.criticalTables, snapshot.fks);
  const tableData = readTableData({
    connection: step.connection,
    snapshot: snapshot.id,
    readers: step.jobs,
    tables: selection.dumpedTables,
    excludedData: new Set(selection.excludedDataTables.map((t) => t.oid)),
    critical: loadOrder.flatMap((g) => g.tables),
    csvFile: (t) => work.files.csv(t.schema, t.table),
    compression: ctx.config.backup.compression,
    contentHashes: step.contentHashes,
    signal,
    onCsv: step.onCsv,
  }).then((data) => {
    durations.tableData = Date.now() - t0;
    return data;
  }, fail);
  tableData.catch(() => undefined);
  // Ending the client is the only way to stop a catalog query that waits on a lock.
  const endClient = () => void client.end().catch(() => undefined);
  signal.addEventListener('abort', endClient, { once: true });

  let dumpFiles: Promise<string> | undefined;
  try {
    const authLeftOut = selection.excludedSchemas.includes('auth') || selection.excludedDataTables.some((t) => t.schema === 'auth' && t.table === 'users');
    const authUsers = authLeftOut ? undefined : await authUsersSql(client);
    const extensions = await listExtensions(client);
    const publications = await listPublications(client);
    const viewOptions = await listViewReloptions(client);
    const neededRoles = await referencedRoles(client, keptSchemas(snapshot));
    await dump;
    // A failure here stops the readers at once too, and is reported if it is the first.
    dumpFiles = writeDumpFiles(step.connection, work, signal).then((roles) => roles, fail);
    dumpFiles.catch(() => undefined); // awaited below
    // Read while the snapshot is open, so every entry's OID still names the object it dumped.
    const objects = await classifyObjects(client, await readToc(work.files.dump, signal), ctx.config.platform_roles);
    const data = await tableData;
    const critical = loadOrder.flatMap((g, group) =>
      g.tables.map((t) => {
        const csv = data.csvs.find((c) => c.table.oid === t.oid)!;
        work.sums.set(relativeFile(work.dir, csv.file), csv.sum);
        return {
          schema: t.schema,
          table: t.table,
          file: relativeFile(work.dir, csv.file),
          rows: data.counted.find((c) => c.table === t.table && c.schema === t.schema)?.rows ?? 0,
          group,
          loadFromCsv: true,
        };
      }),
    );
    await client.query('COMMIT');
    const roleDump = await dumpFiles;
    return { counted: data.counted, hashes: data.hashes, critical, authUsers, extensions, publications, viewOptions, neededRoles, objects, roleDump };
  } catch (error) {
    firstError ??= error;
    step.abort.abort();
    await Promise.allSettled([dump, tableData, dumpFiles]);
    throw firstError;
  } finally {
    signal.removeEventListener('abort', endClient);
  }
}
