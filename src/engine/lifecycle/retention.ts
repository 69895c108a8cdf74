import { PARTIAL_FOLDER } from '../folder/layout.js';
import { FUTURE_TOLERANCE_MS } from '../folder/scan.js';
import type { BackupStatus } from './list-backups.js';

// Which backup folders retention keeps, and why: a pure decision over what the backups
// directory holds, so every rule is tested without a disk (prune-backups does the deleting).
//
// Backups are grouped by the database they hold — source host, port and database name from
// metadata.json — never by the target word: every --url backup is target "url", and grouping
// by that word let five backups of one database evict the only backup of another.

export interface RetentionEntry {
  folder: string;
  status: BackupStatus;
  /** When the snapshot was taken (metadata); null when unknown (incomplete or corrupt folders). */
  createdAt: string | null;
  /** The folder's last change on disk: how long an interrupted backup has been lying there. */
  modifiedAt: string | null;
  target: string | null;
  label: string | null;
  /** The database the backup holds; null for old layouts, which did not record it. */
  source: { host: string; port: number; database: string } | null;
}

export interface RetentionRules {
  /** Backups kept per database, newest first (the special labels below not counted). */
  keep_last: number;
  /** Extra backups kept per database for these labels, on top of keep_last. */
  keep_labels: Record<string, number>;
  /** Folders left by interrupted backups are removed once older than this. */
  incomplete_max_age_hours: number;
}

export interface RetentionDecision {
  folder: string;
  action: 'keep' | 'remove';
  reason: string;
}

/** "db.example.com:5432/app" for dbops backups; old layouts by the target their folder names. */
export function databaseKey(entry: Pick<RetentionEntry, 'source' | 'target'>): string {
  return entry.source ? `${entry.source.host}:${entry.source.port}/${entry.source.database}` : `old layout, target ${entry.target ?? 'unknown'}`;
}

export function decideRetention(entries: readonly RetentionEntry[], rules: RetentionRules, now: Date): RetentionDecision[] {
  const decisions: RetentionDecision[] = [];
  const decide = (e: RetentionEntry, action: RetentionDecision['action'], reason: string) => decisions.push({ folder: e.folder, action, reason });

  for (const e of entries.filter((x) => x.status === 'incomplete')) {
    const since = e.modifiedAt === null ? Number.NaN : now.getTime() - new Date(e.modifiedAt).getTime();
    const hours = since / 3_600_000;
    // An unknown age is never old enough: the backup may still be running.
    if (hours > rules.incomplete_max_age_hours) decide(e, 'remove', `left by an interrupted backup ${Math.floor(hours)} h ago`);
    else decide(e, 'keep', 'left by a backup that may still be running');
  }
  for (const e of entries.filter((x) => x.status === 'corrupt')) decide(e, 'keep', 'corrupt: never removed automatically, inspect it');

  const usable = entries.filter((x) => (x.status === 'valid' || x.status === 'legacy') && x.createdAt !== null);
  const future = usable.filter((x) => new Date(x.createdAt!).getTime() > now.getTime() + FUTURE_TOLERANCE_MS);
  // A folder dated ahead of the clock would count as the newest and push real backups out.
  for (const e of future) decide(e, 'keep', `dated in the future (${e.createdAt}): not counted, inspect it`);

  const counted = usable.filter((x) => !future.includes(x)).sort((a, b) => b.createdAt!.localeCompare(a.createdAt!) || a.folder.localeCompare(b.folder));
  const groups = new Map<string, RetentionEntry[]>();
  for (const e of counted) groups.set(databaseKey(e), [...(groups.get(databaseKey(e)) ?? []), e]);
  for (const group of groups.values()) decideGroup(group, rules, decide);

  const order = new Map(entries.map((e, i) => [e.folder, i]));
  return decisions.sort((a, b) => order.get(a.folder)! - order.get(b.folder)!);
}

/** One database's usable backups, newest first. */
function decideGroup(
  group: RetentionEntry[],
  rules: RetentionRules,
  decide: (e: RetentionEntry, action: RetentionDecision['action'], reason: string) => void,
): void {
  // The newest valid one is never removed; a database with old layouts only keeps its newest.
  const anchor = group.find((b) => b.status === 'valid') ?? group[0];
  const special = Object.keys(rules.keep_labels);
  let general = 0;
  const perLabel: Record<string, number> = {};
  for (const b of group) {
    const labelled = b.label !== null && special.includes(b.label);
    const n = labelled ? (perLabel[b.label!] = (perLabel[b.label!] ?? 0) + 1) : ++general;
    if (b === anchor) {
      decide(b, 'keep', `${b.status === 'valid' ? 'newest valid backup' : 'newest backup'} of its database (${databaseKey(b)})`);
      continue;
    }
    const limit = labelled ? rules.keep_labels[b.label!]! : rules.keep_last;
    const what = labelled ? `"${b.label}" backups` : 'backups';
    decide(
      b,
      n <= limit ? 'keep' : 'remove',
      n <= limit ? `one of the newest ${limit} ${what} of its database` : `older than the newest ${limit} ${what} of its database`,
    );
  }
}

/** An unfinished folder's target is only in its name: ".<YYYYMMDD_HHMMSS>_<target>[_label].partial-<pid>" (folder/layout.ts). */
export function partialFolderOf(folder: string, target: string): boolean {
  const m = /^\d{8}_\d{6}_(.+)$/.exec(PARTIAL_FOLDER.exec(folder)?.[1] ?? '');
  return m !== null && (m[1] === target || m[1]!.startsWith(`${target}_`));
}
