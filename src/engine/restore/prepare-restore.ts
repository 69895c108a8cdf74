import type { BackupHandle } from '../folder/open.js';
import { loadRowCounts } from '../folder/open.js';
import type { ConnectionSpec } from '../connection.js';
import { backupPaths } from '../folder/layout.js';
import { withClient } from '../pg/client.js';
import { readToc } from '../tools/dump-toc.js';
import { checkNeeds } from './check-needs.js';
import { planEntries, type EntryPlan } from './plan-entries.js';

/**
 * Reads the target (nothing is written) and decides what happens to every entry of a dbops
 * backup's dump; refuses with TARGET_UNFIT when the target cannot take it. Old layouts have no
 * table of contents to plan from and return undefined.
 */
export async function prepareRestore(
  handle: BackupHandle,
  target: ConnectionSpec,
  platformRoles: readonly string[],
  signal?: AbortSignal,
  absentSchemas: readonly string[] = [],
): Promise<EntryPlan | undefined> {
  if (handle.layout !== 'dbops') return undefined;
  const toc = await readToc(backupPaths(handle.dir).dump, signal);
  const counts = await loadRowCounts(handle);
  return withClient(target, async (client) => {
    const plan = await planEntries(client, handle, toc, platformRoles, absentSchemas);
    await checkNeeds(client, handle, plan, counts);
    return plan;
  });
}
