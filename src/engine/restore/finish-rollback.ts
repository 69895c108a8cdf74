import path from 'node:path';
import { openBackup, verifyBackupFiles } from '../folder/open.js';
import type { ConnectionSpec } from '../connection.js';
import { critically } from '../critical-work.js';
import { DbopsError, toDbopsError } from '../errors.js';
import { withClient } from '../pg/client.js';
import { ident } from '../pg/sql.js';
import { restoreHistory } from './keep-history.js';
import { putTargetBackOf } from './put-back.js';
import { readRollbackMarker, removeRollbackMarker, type RollbackMarker } from './rollback-marker.js';

// The first thing a restore does once it holds the restore lock: if an earlier restore into the
// same target was killed part-way (its marker is still there), put the target back from that
// run's pre-restore snapshot, exactly as the killed run would have on failure. The note returned
// goes into the result, so the person sees that it happened and from which snapshot.

export interface Recovery {
  note: string;
  snapshotDir: string;
}

export async function finishInterruptedRestore(
  backupsDir: string,
  target: ConnectionSpec,
  jobs: number,
  platformRoles: readonly string[],
  onStart: (snapshotDir: string) => void,
): Promise<Recovery | undefined> {
  const found = await readRollbackMarker(backupsDir, target);
  if (found === undefined) return undefined;
  const { marker, file } = found;
  const failed = (why: string, cause?: unknown) =>
    new DbopsError(
      'ROLLBACK_FAILED',
      `An earlier restore into database "${target.database}" (started ${marker.startedAt} by process ${marker.pid}) was stopped part-way, and putting the target back from ${marker.snapshotDir} failed: ${why}`,
      {
        cause,
        hint: `Nothing else was done. Fix the cause and rerun (the next restore tries again), or restore ${marker.snapshotDir} by hand with --no-safety-backup after removing ${path.basename(file)} from the backups directory.`,
      },
    );
  await checkSnapshot(marker, backupsDir, target).catch((error: unknown) => {
    throw failed(toDbopsError(error).message, error);
  });
  onStart(marker.snapshotDir);
  try {
    await critically('putting the target back', async () => {
      // What is left of the killed run (its pg_restore outlives it) holds the locks needed here.
      await putTargetBackOf(marker, target, jobs, platformRoles, marker.application);
      if (marker.historyAside !== null) await withClient(target, (client) => bringHistoryBack(client, marker.historyAside!));
    });
  } catch (error) {
    throw failed(toDbopsError(error).message, error);
  }
  await removeRollbackMarker(backupsDir, target);
  const how = marker.phase === 'rollback' ? 'stopped while it was putting the target back' : 'stopped part-way';
  return {
    snapshotDir: marker.snapshotDir,
    note: `An earlier restore into this database (started ${marker.startedAt}) was ${how}; the target was first put back from its pre-restore snapshot ${path.basename(marker.snapshotDir)}.`,
  };
}

/** Only a pre-restore snapshot of this very target, inside the backups directory, with every checksum right. */
async function checkSnapshot(marker: RollbackMarker, backupsDir: string, target: ConnectionSpec): Promise<void> {
  const relative = path.relative(path.resolve(backupsDir), path.resolve(marker.snapshotDir));
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative))
    throw new Error('the snapshot named by the marker is outside the backups directory.');
  const handle = await openBackup(marker.snapshotDir);
  const source = handle.manifest?.source;
  if (
    handle.label !== 'pre-restore' ||
    source === undefined ||
    source.host !== target.host ||
    source.port !== target.port ||
    source.database !== target.database
  ) {
    throw new Error(`${path.basename(marker.snapshotDir)} is not a pre-restore snapshot of this database.`);
  }
  await verifyBackupFiles(handle);
}

async function bringHistoryBack(client: Parameters<typeof restoreHistory>[0], schema: string): Promise<void> {
  const { rows } = await client.query<{ present: boolean }>('SELECT to_regnamespace($1) IS NOT NULL AS present', [ident(schema)]);
  if (rows[0]?.present) await restoreHistory(client, { schema });
}
