import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import type { EngineContext } from '../context.js';
import { describeConnection, formatConnection } from '../connection.js';
import { DbopsError } from '../errors.js';
import { backupsRoot } from '../folder/layout.js';
import type { Manifest } from '../folder/manifest.js';
import { ensureWritable, publishFolder, startWorkFolder, type WorkFolder } from '../folder/publish.js';
import { sealFolder } from '../folder/seal.js';
import { parseInput } from '../input.js';
import { deflateChoice } from '../libdeflate.js';
import { connect } from '../pg/client.js';
import { resolveTarget, type ResolvedTarget } from '../targets.js';
import { backupManifest } from './backup-manifest.js';
import { writeDerivedFiles } from './derived-files.js';
import { dumpAndRead } from './dump-and-read.js';
import { takeSnapshot } from './snapshot.js';

// Taking a backup, as four steps over one hidden work folder: (1) a snapshot and the catalog read
// on it (snapshot.ts); (2) the dump, with the table data read beside it on the same snapshot
// (dump-and-read.ts, which owns the abort/first-error handling); (3) the files derived from both
// (derived-files.ts); (4) the seal: checksums, metadata.json, checksums.sha256 (folder/seal.ts),
// then one atomic rename publishes the folder (folder/publish.ts). Anything that fails or is
// interrupted removes the work folder.

export { backupOptionsSchema } from '../options/backup-options.js';
import { backupOptionsSchema } from '../options/backup-options.js';

export type BackupOptions = z.input<typeof backupOptionsSchema>;

export type BackupProgress =
  | { phase: 'connect'; target: string }
  | { phase: 'snapshot'; snapshot: string; tables: number }
  | { phase: 'dump-table'; table: string }
  /** Bytes of table data written so far (pg_dump's finished data files): for a rate and a size as it goes. */
  | { phase: 'written'; bytes: number }
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

export async function backupDatabase(
  input: BackupOptions,
  ctx: EngineContext,
  onProgress: (p: BackupProgress) => void = () => undefined,
): Promise<BackupResult> {
  const options = parseInput('backup-db', backupOptionsSchema, input);
  deflateChoice(ctx.env);
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
  let work: WorkFolder | undefined;
  try {
    const snapshot = await takeSnapshot(client, options, ctx);
    onProgress({ phase: 'snapshot', snapshot: snapshot.id, tables: snapshot.selection.dumpedTables.length });
    work = await startWorkFolder(parent, snapshot.createdAt, target.name, options.label);

    const read = await dumpAndRead({
      connection: target.spec,
      client,
      snapshot,
      work,
      jobs,
      contentHashes: options.contentHashes !== false,
      ctx,
      abort,
      signal,
      durations,
      onTable: (table) => onProgress({ phase: 'dump-table', table }),
      onWritten: (bytes) => onProgress({ phase: 'written', bytes }),
      onCsv: (table) => onProgress({ phase: 'csv', table }),
    });

    onProgress({ phase: 'files' });
    const t3 = Date.now();
    const source = describeConnection(target.spec);
    const sourceText = `${target.name} (${source.host}:${source.port}/${source.database})`;
    await writeDerivedFiles({ sourceText, snapshot, read, work, ctx });
    durations.files = Date.now() - t3;

    onProgress({ phase: 'checksums' });
    const compression = ctx.config.backup.compression;
    const manifest = await sealFolder(work, (files) => {
      durations.total = Date.now() - started;
      return backupManifest({ targetName: target.name, options, jobs, compression, source, snapshot, read, durations }, files);
    });
    signal.throwIfAborted();
    const { backupDir, folder } = await publishFolder(work.dir, parent, work.folder, {
      createdAt: snapshot.createdAt,
      target: target.name,
      label: options.label,
    });
    work = undefined;
    onProgress({ phase: 'done', backupDir });
    return { backupDir, folder, manifest, tables: read.counted.length, rows: read.counted.reduce((n, c) => n + c.rows, 0) };
  } catch (error) {
    throw signal.aborted && ctx.signal?.aborted
      ? new DbopsError('INTERRUPTED', 'The backup was interrupted; the unfinished folder was removed.', { cause: error })
      : error;
  } finally {
    await client.end().catch(() => undefined);
    if (work !== undefined) await rm(work.dir, { recursive: true, force: true });
  }
}
