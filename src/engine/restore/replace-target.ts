import path from 'node:path';
import type { BackupResult } from '../backup/backup.js';
import type { BackupHandle } from '../folder/open.js';
import type { EngineContext } from '../context.js';
import { critically } from '../critical-work.js';
import { DbopsError } from '../errors.js';
import { withClient } from '../pg/client.js';
import type { LockWatch } from '../pg/lock-watch.js';
import type { ResolvedTarget } from '../targets.js';
import { applyBackup, type ApplyRequest } from './apply-backup.js';
import type { AfterLoad } from './table-rows.js';
import type { DatabaseShape } from './database-shape.js';
import { entriesToDrop } from './drop-script.js';
import { restoreHistory, type HistoryAside } from './keep-history.js';
import type { EntryPlan } from './plan-entries.js';
import { putTargetBackOf } from './put-back.js';
import { loadTableData, type TableDataPlan } from './restore-table-data.js';
import type { RestoreProgress } from './restore.js';
import { MARKER_FORMAT, markerPath, removeRollbackMarker, writeRollbackMarker, type RollbackMarker } from './rollback-marker.js';

// The destructive part of a restore and its undoing: the backup applied over the target (or the
// tables of a data-only restore loaded), and on any failure the target put back from the safety
// snapshot — critical work a Ctrl-C cannot cut short, with a marker on disk for a hard kill.

export interface Replacement {
  handle: BackupHandle;
  tableData: TableDataPlan | undefined;
  entries: EntryPlan | undefined;
  run: ResolvedTarget;
  /** The application_name every session of this run carries (its leftovers are ended before a rollback). */
  application: string;
  jobs: number;
  ctx: EngineContext;
  progress: (p: RestoreProgress) => void;
  watch: LockWatch;
  backupsDir: string;
  snapshot: BackupResult | undefined;
  shape: DatabaseShape | undefined;
  history: HistoryAside | undefined;
  marker: RollbackMarker | undefined;
  /** Checks a table the restore created from its CSV as soon as its rows are in. */
  onTableLoaded?: AfterLoad | undefined;
  /** Checks tables pg_restore has filled, while the restore goes on. */
  onTablesRestored?: ApplyRequest['onTablesRestored'];
}

/**
 * The destructive part. With a safety snapshot it is critical work: a Ctrl-C stops it and puts
 * the target back, and further ones do not stop that (critical-work.ts); a marker written first
 * lets the next run put the target back if this process is killed outright.
 */
export async function replaceTarget(r: Replacement): Promise<{ createdRoles: string[]; changedRoles: string[]; notes: string[]; historyRowsKept: number }> {
  const work = async () => {
    if (r.marker !== undefined) await writeRollbackMarker(r.backupsDir, r.marker);
    let applied = { createdRoles: [] as string[], changedRoles: [] as string[], notes: [] as string[] };
    try {
      if (r.tableData !== undefined) {
        r.progress({ phase: 'step', step: 'data-only' });
        await loadTableData(r.handle, r.run.spec, r.tableData, r.ctx.signal);
      } else {
        const result = await applyBackup({
          handle: r.handle,
          target: r.run.spec,
          jobs: r.jobs,
          plan: r.entries,
          signal: r.ctx.signal,
          onStep: (step) => r.progress({ phase: 'step', step }),
          onTableLoaded: r.onTableLoaded,
          onTablesRestored: r.onTablesRestored,
        });
        applied = { ...result, changedRoles: result.changedRoles ?? [] };
      }
    } catch (error) {
      const cause = r.watch.explain(error);
      r.watch.reset();
      const undone = await undoRestore(cause, r);
      // A failed rollback leaves the history aside: the marker names it, and the next run brings it back.
      if (undone.code !== 'ROLLBACK_FAILED' || r.marker === undefined) await withClient(r.run.spec, (c) => restoreHistory(c, r.history)).catch(() => undefined);
      throw undone;
    }
    r.progress({ phase: 'step', step: 'history' });
    const historyRowsKept = await withClient(r.run.spec, (c) => restoreHistory(c, r.history));
    if (r.marker !== undefined) await removeRollbackMarker(r.backupsDir, r.marker.target);
    return { ...applied, historyRowsKept };
  };
  return r.snapshot === undefined ? work() : critically('stopping the restore and putting the target back', work);
}

export function rollbackMarker(
  run: ResolvedTarget,
  application: string,
  snapshot: BackupResult,
  handle: BackupHandle,
  entries: EntryPlan | undefined,
  shape: DatabaseShape,
  history: HistoryAside | undefined,
): RollbackMarker {
  const { host, port, database } = run.spec;
  return {
    format: MARKER_FORMAT,
    version: 1,
    target: { host, port, database },
    phase: 'restore',
    snapshotDir: snapshot.backupDir,
    backupDir: handle.dir,
    dropEntries: entries === undefined ? null : entriesToDrop(entries.entries),
    shape,
    historyAside: history?.schema ?? null,
    application,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
}

/** A failed restore puts the target back from the safety snapshot; the error says which happened. */
async function undoRestore(error: DbopsError, r: Replacement): Promise<DbopsError> {
  const { snapshot, shape, marker } = r;
  const keep = { hint: error.hint, details: [...error.details], cause: error };
  if (snapshot === undefined || shape === undefined) {
    return new DbopsError(error.code, `${error.message} No safety snapshot was taken (--no-safety-backup): the target may be partly restored.`, keep);
  }
  r.progress({ phase: 'rollback', snapshotDir: snapshot.backupDir });
  try {
    // No abort signal here, and further Ctrl-C do not stop it: an interrupted restore must still
    // finish putting the target back. The marker says so too, should this process be killed.
    await critically('putting the target back', async () => {
      if (marker !== undefined) await writeRollbackMarker(r.backupsDir, { ...marker, phase: 'rollback' });
      await putTargetBackOf(
        {
          snapshotDir: snapshot.backupDir,
          backupDir: r.handle.dir,
          dropEntries: marker?.dropEntries ?? (r.entries === undefined ? null : entriesToDrop(r.entries.entries)),
          shape,
        },
        r.run.spec,
        r.jobs,
        r.ctx.config.platform_roles,
        r.application,
      );
    });
  } catch (rollbackError) {
    const why = r.watch.explain(rollbackError, 'Putting the target back');
    const next =
      marker === undefined
        ? ''
        : ` The next restore-db into this database puts it back first (${path.basename(markerPath(r.backupsDir, marker.target))} in the backups directory says how).`;
    return new DbopsError(
      'ROLLBACK_FAILED',
      `The restore failed (${error.message}) and putting the target back from ${snapshot.backupDir} failed too: ${why.message}${next}`,
      { ...keep, hint: ROLLBACK_HINT },
    );
  }
  if (marker !== undefined) await removeRollbackMarker(r.backupsDir, marker.target);
  const put = `the target was put back from the pre-restore snapshot ${snapshot.folder}.`;
  // Blocked by another session: the message names it, and the code stays the one to act on.
  if (error.code === 'RESTORE_BLOCKED') return new DbopsError('RESTORE_BLOCKED', `${error.message} Then ${put}`, keep);
  return new DbopsError('RESTORE_FAILED', `The restore failed (${error.message}); ${put}`, keep);
}

const ROLLBACK_HINT =
  'Fix the cause above and rerun restore-db into the same target: it puts the target back from the snapshot first. Or restore that snapshot by hand with --no-safety-backup.';
