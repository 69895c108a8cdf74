import { lstat, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { EngineContext } from '../context.js';
import { DbopsError } from '../errors.js';
import { parseInput } from '../input.js';
import { listBackups, type ListedBackup } from './list-backups.js';

// Retention, replacing `ls | tail | xargs rm -rf`: per target keep the newest keep_last
// backups, plus the newest keep_labels[label] of each special label, and always the newest
// valid one. Only folders this tool recognises as backups, directly inside the backups
// directory, are ever removed; links, corrupt folders and anything else are left alone.

export const pruneOptionsSchema = z.strictObject({
  target: z.string().optional().describe('Only prune backups taken from this target'),
  dryRun: z.boolean().default(false).describe('Report what would be removed, remove nothing'),
});

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
  const retention = ctx.config.retention;
  const { root, backups } = await listBackups({}, ctx);
  const decisions: PruneDecision[] = [];
  const decide = (b: ListedBackup, action: PruneDecision['action'], reason: string) =>
    decisions.push({ folder: b.folder, target: b.target, label: b.label, status: b.status, action, reason });

  // An unfinished folder's target is only in its name: ".<YYYYMMDD_HHMMSS>_<target>[_label].partial-<pid>".
  const ofTarget = (folder: string) => options.target === undefined || new RegExp(`^\\.\\d{8}_\\d{6}_${options.target.replace(/[^a-z0-9_-]/gi, '')}(_|\\.partial)`).test(folder);
  for (const b of backups.filter((x) => x.status === 'incomplete' && ofTarget(x.folder))) {
    const hours = (b.ageMs ?? 0) / 3_600_000;
    if (hours > retention.incomplete_max_age_hours) decide(b, 'remove', `left by an interrupted backup ${Math.floor(hours)} h ago`);
    else decide(b, 'keep', 'left by a backup that may still be running');
  }
  for (const b of backups.filter((x) => x.status === 'corrupt' && (options.target === undefined || x.target === options.target))) {
    decide(b, 'keep', 'corrupt: never removed automatically, inspect it');
  }

  const usable = backups.filter((x) => (x.status === 'valid' || x.status === 'legacy') && (options.target === undefined || x.target === options.target));
  const targets = [...new Set(usable.map((b) => b.target ?? ''))];
  for (const target of targets) {
    // Newest first (listBackups sorts so).
    const group = usable.filter((b) => (b.target ?? '') === target);
    const newestValid = group.find((b) => b.status === 'valid');
    const special = Object.keys(retention.keep_labels);
    let general = 0;
    const perLabel: Record<string, number> = {};
    for (const b of group) {
      if (b === newestValid) {
        decide(b, 'keep', 'newest valid backup of its target');
        if (b.label === null || !special.includes(b.label)) general++;
        else perLabel[b.label] = (perLabel[b.label] ?? 0) + 1;
        continue;
      }
      if (b.label !== null && special.includes(b.label)) {
        const n = (perLabel[b.label] = (perLabel[b.label] ?? 0) + 1);
        const limit = retention.keep_labels[b.label]!;
        decide(b, n <= limit ? 'keep' : 'remove', n <= limit ? `one of the newest ${limit} "${b.label}" backups` : `older than the newest ${limit} "${b.label}" backups`);
        continue;
      }
      general++;
      decide(b, general <= retention.keep_last ? 'keep' : 'remove', general <= retention.keep_last ? `one of the newest ${retention.keep_last}` : `older than the newest ${retention.keep_last}`);
    }
  }

  const removed: string[] = [];
  let freedBytes = 0;
  for (const d of decisions.filter((x) => x.action === 'remove')) {
    const entry = backups.find((b) => b.folder === d.folder)!;
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
