import path from 'node:path';
import { DbopsError } from '../engine/errors.js';
import { restoreDatabase, restoreOptionsSchema, type RestorePlan, type RestoreResult } from '../engine/restore/restore.js';
import { intOption, stringOption, type OptionSpec, type ParsedArgs } from './args.js';
import type { CommandBinding } from './binding.js';
import { formatAge, formatBytes, formatDuration } from './format.js';

// /restore-db and `dbops restore-db`: flags, the plan a person confirms, and the summary.

const restoreOptionSpec: OptionSpec = {
  from: { type: 'string' },
  target: { type: 'string' },
  url: { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  confirm: { type: 'string' },
  jobs: { type: 'string' },
  'no-safety-backup': { type: 'boolean' },
  'data-only': { type: 'boolean' },
  tables: { type: 'string' },
  verify: { type: 'string' },
};

function restoreInput(args: ParsedArgs) {
  const v = args.values;
  const verify = stringOption(v.verify);
  if (verify !== undefined && verify !== 'counts' && verify !== 'content') {
    // The value is the caller's, but it may be anything: shown only when short.
    throw new DbopsError('USAGE', `restore-db: --verify takes counts or content, not ${verify.length > 40 ? `a value of ${verify.length} characters` : `"${verify}"`}.`);
  }
  const tables = stringOption(v.tables);
  return {
    backup: args.positionals[0],
    from: stringOption(v.from),
    target: stringOption(v.target),
    url: stringOption(v.url),
    yes: v.yes === true,
    confirm: stringOption(v.confirm),
    jobs: intOption('restore-db', 'jobs', v.jobs),
    safetyBackup: v['no-safety-backup'] !== true,
    dataOnly: v['data-only'] === true,
    tables: tables?.split(',').map((t) => t.trim()).filter(Boolean),
    verify,
  };
}

function planText(plan: RestorePlan): string {
  const b = plan.backup;
  return [
    '⚠️  This restore OVERWRITES data.',
    `   Target:   ${plan.target.name} → database "${plan.target.database}" on ${plan.target.host}:${plan.target.port}${plan.target.protected ? ' (PROTECTED)' : ''}`,
    `   Backup:   ${b.folder} (${b.layout === 'dbops' ? 'dbops' : `old layout ${b.layout}`})`,
    `   Taken:    ${b.createdAt} (${formatAge(b.ageMs)}) from ${b.source}`,
    ...(b.mode ? [`   Mode:     ${b.mode}; included: ${b.included.join(', ')}${b.excluded.length ? `; excluded: ${b.excluded.join(', ')}` : ''}`] : []),
    ...(b.bytes !== null ? [`   Size:     ${formatBytes(b.bytes)}`] : []),
    ...(plan.dataOnly ? [`   Data only: ${plan.dataOnly.join(', ')} (truncated, then loaded)`] : []),
    ...plan.warnings.map((w) => `   ⚠️  ${w}`),
    ...plan.skipped.map((s) => `   skipped ${s.folder}: ${s.reason}`),
  ].join('\n');
}

/** Verified means compared with something: a backup that recorded no row counts leaves nothing to compare. */
export function restoreVerified(result: RestoreResult): boolean {
  return result.verification.verified && result.verification.countsRecorded;
}

function restoreJson(result: RestoreResult) {
  const v = result.verification;
  return {
    ok: v.verified,
    verified: restoreVerified(result),
    ...(v.countsRecorded ? {} : { notVerified: 'the backup recorded no row counts' }),
    backupDir: result.plan.backup.dir,
    target: result.plan.target,
    backup: { createdAt: result.plan.backup.createdAt, layout: result.plan.backup.layout, mode: result.plan.backup.mode, source: result.plan.backup.source },
    safetyBackupDir: result.safetyBackupDir,
    createdRoles: result.createdRoles,
    changedRoles: result.changedRoles,
    historyRowsKept: result.historyRowsKept,
    tables: v.tables,
    mismatches: v.mismatches.map((t) => `${t.schema}.${t.table}`),
    emptyTables: v.emptyTables,
    contentChecked: v.contentChecked,
    contentMismatches: v.contentMismatches,
    notes: result.notes,
    restoredAt: result.restoredAt,
    durationMs: result.durationMs,
  };
}

function restoreSummary(result: RestoreResult, cwd: string): string {
  const v = result.verification;
  const b = result.plan.backup;
  const shown = (dir: string) => (path.relative(cwd, dir).startsWith('..') ? dir : path.relative(cwd, dir));
  const key = v.tables.filter((t) => t.dataIncluded && t.expected > 0).slice(0, 8);
  return [
    !v.verified ? '❌ Restore finished but verification FAILED' : v.countsRecorded ? '✅ Restore complete and verified' : '⚠️  Restore complete, not verified: the backup recorded no row counts',
    '',
    `📁 Restored from: ${shown(b.dir)}`,
    `🎯 Into:          ${result.plan.target.name} (${result.plan.target.host}:${result.plan.target.port}/${result.plan.target.database})`,
    `📋 Backup:        ${b.createdAt} from ${b.source}; mode ${b.mode ?? 'old layout'}${b.excluded.length ? `; excluded: ${b.excluded.join(', ')}` : ''}`,
    ...(result.safetyBackupDir ? [`🛟 Safety snapshot: ${shown(result.safetyBackupDir)}`] : []),
    ...(result.createdRoles.length ? [`👤 Created roles (NOLOGIN, no other attribute): ${result.createdRoles.join(', ')}`] : []),
    ...(result.changedRoles.length ? [`👤 Changed roles: ${result.changedRoles.join('; ')}`] : []),
    ...(result.historyRowsKept ? [`🗂  Kept ${result.historyRowsKept} invocation history rows of the target`] : []),
    `🔍 Verification:  ${v.countsRecorded ? `${v.tables.length - v.mismatches.length}/${v.tables.length} tables match row_counts.json` : 'not verified: the backup recorded no row counts'}${v.contentChecked ? `; content hashes ${v.contentMismatches.length === 0 ? 'match' : `differ for ${v.contentMismatches.join(', ')}`}` : ''}`,
    ...key.map((t) => `   ${t.ok ? '✅' : '❌'} ${t.schema}.${t.table}: ${t.actual ?? 'missing'} rows${t.ok ? '' : ` (expected ${t.expected})`}`),
    ...v.mismatches.filter((t) => !key.includes(t)).map((t) => `   ❌ ${t.schema}.${t.table}: ${t.actual ?? 'missing'} rows (expected ${t.expected})`),
    ...(v.emptyTables.length ? [`   ∅ ${v.emptyTables.length} tables have 0 rows: ${v.emptyTables.join(', ')}`] : []),
    ...result.notes.map((n) => `ℹ️  ${n}`),
    `🕒 Restored at:   ${result.restoredAt} (${formatDuration(result.durationMs)})`,
    '',
    'Next: restart API servers (PostgREST was told to reload its schema) and check the app.',
  ].join('\n');
}

export const restoreDb: CommandBinding<ReturnType<typeof restoreOptionsSchema.parse>, RestoreResult> = {
  name: 'restore-db',
  inputSchema: restoreOptionsSchema,
  options: () => restoreOptionSpec,
  maxPositionals: 1,
  fromArgv: (args) => restoreInput(args),
  targetChoice: (input) => ({ target: input.target, url: input.url, fallback: 'dev' }),
  run(input, ctx, io) {
    const ask = io.ask;
    return restoreDatabase(input, ctx, {
      ask: ask === undefined ? undefined : (plan) => ask(`Restore into "${plan.target.database}"?`),
      onProgress: (p) => {
        if (p.phase === 'plan') io.notice?.(planText(p.plan));
        else if (p.phase === 'safety-backup') io.progress('taking the pre-restore safety snapshot of the target');
        else if (p.phase === 'step') io.progress(`restoring: ${p.step}`);
        else if (p.phase === 'rollback') io.progress(`restore failed: putting the target back from ${p.snapshotDir}`);
        else if (p.phase === 'recover') io.progress(`an earlier restore into this database was stopped part-way: putting the target back from ${p.snapshotDir} first`);
        else if (p.phase === 'waiting') io.progress(`waiting up to ${Math.round(p.timeoutMs / 1000)} s for sessions holding locks on the target: ${p.sessions.join('; ')}`);
        else if (p.phase === 'verify') io.progress('verifying row counts');
      },
    });
  },
  succeeded: (result) => result.verification.verified,
  toJson: restoreJson,
  toText: restoreSummary,
  eventDetails: (result) => ({
    backup_dir: result.plan.backup.dir,
    verified: restoreVerified(result),
    duration_ms: result.durationMs,
    counts: { tables: result.verification.tables.length, mismatches: result.verification.mismatches.length },
    safety_backup_dir: result.safetyBackupDir,
    created_roles: result.createdRoles,
    changed_roles: result.changedRoles,
  }),
};
