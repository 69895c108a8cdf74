import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openBackup } from '../folder/open.js';
import type { ConnectionSpec } from '../connection.js';
import { DbopsError, toDbopsError } from '../errors.js';
import { withClient } from '../pg/client.js';
import { endSessionsOf } from '../pg/lock-watch.js';
import { backupPaths } from '../folder/layout.js';
import type { TocEntry } from '../tools/dump-toc.js';
import { runTool } from '../tools/pg-tools.js';
import { applyBackup } from './apply-backup.js';
import { dropAddedSince, type DatabaseShape } from './database-shape.js';
import { dropScript } from './drop-script.js';
import { prepareRestore } from './prepare-restore.js';

// Putting a target back from its pre-restore snapshot, after a restore failed (or was killed and
// the next run finds its marker): first everything the restore may have created goes — the
// backup's own objects by the dump's DROP statements, then whatever else is new since the shape
// taken before — then the snapshot is applied as any backup is, through applyBackup.

export interface PutBack {
  snapshotDir: string;
  /** The backup that was being restored and the entries of its dump it may have created (dbops layout). */
  backupDir: string;
  dropEntries: readonly TocEntry[] | null;
  shape: DatabaseShape;
}

/**
 * Puts the target back, ending first what is left of the failed run's sessions (`application`,
 * the name every session of that run carries). A first attempt that fails — a deadlock with a
 * session that was still going, a lock it waited on too long — is followed by one more, after
 * ending the sessions again: every step drops what it is about to create (IF EXISTS), so a second
 * attempt starts from whatever the first left. The error says what both attempts met.
 */
export async function putTargetBackOf(
  state: PutBack,
  target: ConnectionSpec,
  jobs: number,
  platformRoles: readonly string[],
  application: string,
): Promise<void> {
  const endLeftovers = () => withClient(target, (client) => endSessionsOf(client, application)).catch(() => undefined);
  await endLeftovers();
  try {
    await putTargetBack(state, target, jobs, platformRoles);
  } catch (error) {
    const first = toDbopsError(error);
    await endLeftovers();
    try {
      await putTargetBack(state, target, jobs, platformRoles);
    } catch (again) {
      const second = toDbopsError(again);
      throw new DbopsError(second.code, `${second.message} (a first attempt had failed: ${first.message})`, {
        cause: again,
        hint: second.hint,
        details: [...first.details, ...second.details],
      });
    }
  }
}

export async function putTargetBack(state: PutBack, target: ConnectionSpec, jobs: number, platformRoles: readonly string[]): Promise<void> {
  if (state.dropEntries !== null && state.dropEntries.length > 0) await dropCreatedEntries(state.backupDir, state.dropEntries, target);
  await withClient(target, (client) => dropAddedSince(client, state.shape));
  const handle = await openBackup(state.snapshotDir);
  const entries = await prepareRestore(handle, target, platformRoles);
  await applyBackup({ handle, target, jobs, plan: entries });
}

/**
 * The dump's own DROP … IF EXISTS statements for its entries. Statements that fail (an object the
 * target had before, held by something else) are left: the snapshot applied next replaces it.
 */
async function dropCreatedEntries(backupDir: string, entries: readonly TocEntry[], target: ConnectionSpec): Promise<void> {
  const dump = backupPaths(backupDir).dump;
  // The backup may be gone since (a marker found days later): the shape and the snapshot still put the target back.
  if (!existsSync(dump)) return;
  const work = await mkdtemp(path.join(tmpdir(), 'dbops-undo-'));
  try {
    const script = await dropScript(dump, entries, work);
    if (script !== '') await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=0'], { connection: target, input: script });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
