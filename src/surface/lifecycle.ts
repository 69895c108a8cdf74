import { listBackups, listOptionsSchema, type ListedBackup } from '../engine/lifecycle/list-backups.js';
import { pruneBackups, pruneOptionsSchema, type PruneReport } from '../engine/lifecycle/prune-backups.js';
import { verifyBackup, verifyOptionsSchema, type VerifyReport } from '../engine/lifecycle/verify-backup.js';
import { stringOption } from './args.js';
import type { CommandBinding } from './binding.js';
import { formatAge, formatBytes } from './format.js';

// list-backups, verify-backup, prune-backups: the lifecycle of the backups directory.

const ICON = { valid: '✅', legacy: '🗄 ', incomplete: '⏳', corrupt: '❌' } as const;

export const listBackupsCommand: CommandBinding<{ target?: string | undefined }, { root: string; backups: ListedBackup[] }> = {
  name: 'list-backups',
  inputSchema: listOptionsSchema,
  options: () => ({ target: { type: 'string' } }),
  maxPositionals: 0,
  fromArgv: ({ values: v }) => ({ target: stringOption(v.target) }),
  targetChoice: () => undefined,
  run: (input, ctx) => listBackups(input, ctx),
  succeeded: () => true,
  toJson: (r) => ({ ok: true, root: r.root, backups: r.backups }),
  toText(r) {
    if (r.backups.length === 0) return `No backups in ${r.root}.`;
    return [
      `Backups in ${r.root} (newest first):`,
      'STATUS        CREATED (UTC)        TARGET    LABEL          MODE     SIZE       AGE          FOLDER',
      ...r.backups.map((b) =>
        [
          `${ICON[b.status]} ${b.status}`.padEnd(13),
          (b.createdAt?.replace('T', ' ').slice(0, 19) ?? '—').padEnd(20),
          (b.target ?? '—').padEnd(9),
          (b.label ?? '—').padEnd(14),
          (b.mode ?? '—').padEnd(8),
          formatBytes(b.bytes).padEnd(10),
          (b.ageMs === null ? '—' : formatAge(b.ageMs)).padEnd(12),
          b.folder,
        ].join(' '),
      ),
      ...r.backups.filter((b) => b.problem && b.status !== 'incomplete').map((b) => `  ${b.folder}: ${b.problem}`),
    ].join('\n');
  },
  eventDetails: (r) => ({ counts: { backups: r.backups.length, valid: r.backups.filter((b) => b.status === 'valid').length } }),
};

export const verifyBackupCommand: CommandBinding<ReturnType<typeof verifyOptionsSchema.parse>, VerifyReport> = {
  name: 'verify-backup',
  inputSchema: verifyOptionsSchema,
  options: () => ({ drill: { type: 'boolean' }, target: { type: 'string' }, url: { type: 'string' } }),
  maxPositionals: 1,
  fromArgv: ({ values: v, positionals }) => ({ backup: positionals[0], drill: v.drill === true, target: stringOption(v.target), url: stringOption(v.url) }),
  targetChoice: (input) => (input.drill ? { target: input.target, url: input.url } : undefined),
  run: (input, ctx, io) => verifyBackup(input, ctx, io.progress),
  succeeded: (r) => r.ok,
  toJson: (r) => ({ ...r }),
  toText(r) {
    const drill = r.drill;
    return [
      r.verified ? `✅ ${r.folder}: verified` : r.ok ? `⚠️  ${r.folder}: checks passed, not verified: an old layout carries no checksums` : `❌ ${r.folder}: FAILED verification`,
      ...r.checks.map((c) => `   ${c.ok ? '✅' : '❌'} ${c.name}: ${c.detail}`),
      ...(drill
        ? [
            `   ${drill.verification?.verified ? '✅' : '❌'} drill: restored into ${drill.database} on ${drill.server}${drill.dropped ? ' (dropped afterwards)' : ''}`,
            ...(drill.error ? [`      ${drill.error}`] : []),
            ...(drill.verification
              ? [`      ${drill.verification.tables.length - drill.verification.mismatches.length}/${drill.verification.tables.length} tables match row_counts.json`,
                 ...drill.verification.mismatches.map((t) => `      ❌ ${t.schema}.${t.table}: ${t.actual ?? 'missing'} rows, expected ${t.expected}`)]
              : []),
          ]
        : []),
    ].join('\n');
  },
  eventDetails: (r) => ({ backup_dir: r.backupDir, ok: r.ok, verified: r.verified, drill: r.drill?.verification?.verified ?? null }),
};

export const pruneBackupsCommand: CommandBinding<ReturnType<typeof pruneOptionsSchema.parse>, PruneReport> = {
  name: 'prune-backups',
  inputSchema: pruneOptionsSchema,
  options: () => ({ target: { type: 'string' }, 'dry-run': { type: 'boolean' } }),
  maxPositionals: 0,
  fromArgv: ({ values: v }) => ({ target: stringOption(v.target), dryRun: v['dry-run'] === true }),
  targetChoice: () => undefined,
  run: (input, ctx) => pruneBackups(input, ctx),
  succeeded: () => true,
  toJson: (r) => ({ ok: true, ...r }),
  toText(r) {
    const remove = r.decisions.filter((d) => d.action === 'remove');
    return [
      `${r.dryRun ? 'Dry run: would remove' : 'Removed'} ${remove.length} of ${r.decisions.length} folders in ${r.root} (${formatBytes(r.freedBytes)}).`,
      ...r.decisions.map((d) => `   ${d.action === 'keep' ? 'keep  ' : r.dryRun ? 'remove?' : 'removed'} ${d.folder} — ${d.reason}`),
    ].join('\n');
  },
  eventDetails: (r) => ({ counts: { removed: r.removed.length, kept: r.decisions.filter((d) => d.action === 'keep').length }, dry_run: r.dryRun }),
};
