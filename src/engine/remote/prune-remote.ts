import type { z } from 'zod';
import type { EngineContext } from '../context.js';
import { DbopsError } from '../errors.js';
import { parseInput } from '../input.js';
import { pruneRemoteOptionsSchema } from '../options/remote-options.js';
import { decideRetention, type RetentionEntry, type RetentionRules } from '../lifecycle/retention.js';
import { abortUploads, deleteKeys, listObjects, objectLockEnabled } from './bucket-ops.js';
import { scanRemote, type RemoteBackup } from './list-remote-backups.js';
import { folderKey, manifestKey } from './remote-paths.js';
import { closeRemoteSession, openRemoteSession } from './remote-session.js';
import type { ClientOptions } from './s3-client.js';

// prune-backups --remote: the same retention decision as a local prune (lifecycle/retention.ts,
// per database: keep_last, keep_labels, the newest valid copy always, incomplete ones once old),
// applied to the remote's copies. A folder is removed manifest first, so from the first delete
// on it is listed as incomplete, never as valid with objects missing; a prune stopped halfway
// leaves an incomplete folder that the next prune removes. Copies that are corrupt or pushed
// with another key are never removed automatically, like corrupt local folders.

export { pruneRemoteOptionsSchema } from '../options/remote-options.js';

export interface RemotePruneDecision {
  folder: string;
  status: RemoteBackup['status'];
  target: string | null;
  label: string | null;
  action: 'keep' | 'remove';
  reason: string;
}

export interface RemotePruneReport {
  remote: string;
  /** s3://bucket/prefix */
  url: string;
  dryRun: boolean;
  rules: RetentionRules;
  decisions: RemotePruneDecision[];
  removed: string[];
  freedBytes: number;
}

/** `rules`: the remote's own retention, else the config's (what the face passes when none is given). */
export async function pruneRemote(
  input: z.input<typeof pruneRemoteOptionsSchema>,
  ctx: EngineContext,
  rules?: RetentionRules,
  client: ClientOptions = {},
): Promise<RemotePruneReport> {
  const options = parseInput('prune-backups', pruneRemoteOptionsSchema, input);
  const now = (ctx.now ?? (() => new Date()))();
  const session = openRemoteSession(options.remote, ctx, client);
  try {
    const chosenRules = rules ?? session.remote.retention ?? ctx.config.retention;
    const inScope = (b: RemoteBackup) =>
      options.target === undefined || (b.target === null ? folderTarget(b.folder, options.target) : b.target === options.target);
    const copies = (await scanRemote(session)).filter(inScope);
    const decisions = decideRetention(copies.map(retentionEntry), chosenRules, now).map((d): RemotePruneDecision => {
      const b = copies.find((x) => x.folder === d.folder)!;
      return { folder: d.folder, status: b.status, target: b.target, label: b.label, action: d.action, reason: d.reason };
    });
    const doomed = decisions.filter((d) => d.action === 'remove');
    const freedBytes = doomed.reduce((n, d) => n + copies.find((b) => b.folder === d.folder)!.storedBytes, 0);
    const report = {
      remote: session.remote.display,
      url: session.remote.url,
      dryRun: options.dryRun,
      rules: chosenRules,
      decisions,
      removed: [] as string[],
      freedBytes,
    };
    if (options.dryRun || doomed.length === 0) return report;
    // Deletes in an Object Lock bucket only add delete markers: the data would stay, billed, while
    // the prune reported it gone.
    if (await objectLockEnabled(session)) {
      throw new DbopsError(
        'REMOTE_OBJECT_LOCK',
        `${session.remote.display} has S3 Object Lock on: ${doomed.length} copy(ies) would be pruned, and nothing was deleted.`,
      );
    }
    for (const d of doomed) {
      await deleteKeys(session, [manifestKey(session.remote, d.folder)]);
      const keys: string[] = [];
      for await (const o of listObjects(session, folderKey(session.remote, d.folder))) keys.push(o.key);
      await deleteKeys(session, keys);
      await abortUploads(session, folderKey(session.remote, d.folder));
      report.removed.push(d.folder);
    }
    return report;
  } finally {
    closeRemoteSession(session);
  }
}

/** A remote copy as retention sees a backup: other-key copies count as corrupt (kept, to inspect). */
function retentionEntry(b: RemoteBackup): RetentionEntry {
  return {
    folder: b.folder,
    status: b.status === 'other-key' ? 'corrupt' : b.status === 'valid' && b.layout !== 'dbops' ? 'legacy' : b.status,
    createdAt: b.createdAt,
    modifiedAt: b.modifiedAt,
    target: b.target,
    label: b.label,
    source: b.source,
  };
}

/** A copy whose manifest cannot be read has its target only in its name: "<YYYYMMDD_HHMMSS>_<target>[_label]". */
function folderTarget(folder: string, target: string): boolean {
  const m = /^\d{8}_\d{6}_(.+)$/.exec(folder);
  return m !== null && (m[1] === target || m[1]!.startsWith(`${target}_`));
}
