import { lstat, rm } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import type { EngineContext } from '../context.js';
import { DbopsError } from '../errors.js';
import { parseInput } from '../input.js';
import { listBackups, type ListedBackup } from './list-backups.js';
import { decideRetention, partialFolderOf } from './retention.js';

// Retention, replacing `ls | tail | xargs rm -rf`: the decision is retention.ts's (per database
// keep the newest keep_last, plus the newest keep_labels[label] of each special label, and
// always the newest valid one); this file only lists and deletes. Only folders this tool
// recognises as backups, directly inside the backups directory, are ever removed; links,
// corrupt folders and anything else are left alone.

export { pruneOptionsSchema } from '../options/prune-options.js';
import { pruneOptionsSchema } from '../options/prune-options.js';

export interface PruneDecision {
  folder: string;
  target: string | null;
  label: string | null;
  status: ListedBackup['status'];
  action: 'keep' | 'remove';
  reason: string;
}

export interface PruneReport {
  root: string;
  dryRun: boolean;
  decisions: PruneDecision[];
  removed: string[];
  freedBytes: number;
}

export async function pruneBackups(input: z.input<typeof pruneOptionsSchema>, ctx: EngineContext): Promise<PruneReport> {
  const options = parseInput('prune-backups', pruneOptionsSchema, input);
  const now = (ctx.now ?? (() => new Date()))();
  const { root, backups } = await listBackups({}, ctx);
  const inScope = (b: ListedBackup) =>
    options.target === undefined || (b.status === 'incomplete' ? partialFolderOf(b.folder, options.target) : b.target === options.target);
  const chosen = backups.filter(inScope);
  const decisions: PruneDecision[] = decideRetention(chosen, ctx.config.retention, now).map((d) => {
    const b = chosen.find((x) => x.folder === d.folder)!;
    return { folder: d.folder, target: b.target, label: b.label, status: b.status, action: d.action, reason: d.reason };
  });

  const removed: string[] = [];
  let freedBytes = 0;
  for (const d of decisions.filter((x) => x.action === 'remove')) {
    const entry = chosen.find((b) => b.folder === d.folder)!;
    freedBytes += entry.bytes;
    if (options.dryRun) continue;
    await removeBackupFolder(root, entry.dir);
    removed.push(d.folder);
  }
  return { root, dryRun: options.dryRun, decisions, removed, freedBytes };
}

/** The last guard before rm -rf: a real directory, directly inside the backups directory. */
async function removeBackupFolder(root: string, dir: string): Promise<void> {
  const info = await lstat(dir);
  if (path.dirname(path.resolve(dir)) !== path.resolve(root) || info.isSymbolicLink() || !info.isDirectory()) {
    throw new DbopsError('INTERNAL', `Refusing to remove ${dir}: not a folder directly inside ${root}.`);
  }
  await rm(dir, { recursive: true, force: true });
}
